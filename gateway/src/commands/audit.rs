//! `credgate audit ...`

use crate::cli::CmdResult;

/// Run one `credgate audit` subcommand.
pub fn run(cmd: crate::cli::AuditCommand, _log: crate::cli::LogFormat) -> CmdResult {
    Err(format!("`{cmd:?}` is not implemented yet").into())
}
