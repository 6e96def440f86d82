//! One module per CLI subcommand family.

pub mod archive;
pub mod audit;
pub mod certs;
pub mod consent;
pub mod policy;
pub mod serve;
pub mod witness;
