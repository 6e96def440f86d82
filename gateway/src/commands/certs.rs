//! `credgate certs ...`

use crate::cli::CmdResult;

/// Run one `credgate certs` subcommand.
pub fn run(cmd: crate::cli::CertsCommand) -> CmdResult {
    Err(format!("`{cmd:?}` is not implemented yet").into())
}
