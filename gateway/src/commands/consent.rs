//! `credgate consent ...`

use crate::cli::CmdResult;

/// Run one `credgate consent` subcommand.
pub fn run(cmd: crate::cli::ConsentCommand) -> CmdResult {
    Err(format!("`{cmd:?}` is not implemented yet").into())
}
