//! The sample credit database: the spec's upstream API over a seeded SQLite file.

use crate::cli::{CmdResult, SampleDbArgs};

/// `credgate sample-db`
pub fn run_cli(args: &SampleDbArgs) -> CmdResult {
    Err(format!("`{}`: sample-db is not implemented yet", args.db.display()).into())
}
