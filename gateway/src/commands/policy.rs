//! `credgate policy ...`

use crate::cli::CmdResult;

/// Run one `credgate policy` subcommand.
pub fn run(cmd: crate::cli::PolicyCommand) -> CmdResult {
    Err(format!("`{cmd:?}` is not implemented yet").into())
}
