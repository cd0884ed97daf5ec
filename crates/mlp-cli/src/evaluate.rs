//! Not yet written.

use crate::Result;

/// Usage examples shown after `--help`.
pub const EXAMPLES: &str = "";

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the command.
pub fn run(_args: &Args) -> Result<()> {
    Err(crate::CliError::Usage("not implemented yet".into()))
}
