//! The `omnistack` binary: parses the command line and maps errors to exit codes.

use std::process::ExitCode;

use clap::Parser;
use omnistack::UsageError;
use omnistack::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match omnistack::commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            if let Some(usage) = err.downcast_ref::<UsageError>() {
                eprintln!("error: {usage}");
                ExitCode::from(2)
            } else {
                eprintln!("error: {err:#}");
                ExitCode::from(3)
            }
        }
    }
}
