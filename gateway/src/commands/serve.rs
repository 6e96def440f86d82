//! `credgate serve --config FILE`

use std::path::Path;

use crate::cli::{CmdResult, LogFormat};

/// Run the gateway until SIGTERM / Ctrl-C.
pub fn run(config: &Path, log: LogFormat) -> CmdResult {
    let _ = log;
    Err(format!("`{}`: serve is not implemented yet", config.display()).into())
}
