//! `credgate demo`: dev certs, sample credit database, gateway on SQLite,
//! ready-to-paste curl commands; runs until Ctrl-C.

use std::path::Path;

use crate::cli::{CmdResult, LogFormat};

/// Run the demo in `dir`.
pub fn run(dir: &Path, log: LogFormat) -> CmdResult {
    let _ = log;
    Err(format!("`{}`: demo is not implemented yet", dir.display()).into())
}
