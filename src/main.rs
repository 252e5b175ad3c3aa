//! The `omnistack` binary: parses the command line and maps errors to exit codes.

use std::process::ExitCode;

use omnistack::UsageError;
use omnistack::cli::Cli;

fn main() -> ExitCode {
    // The catalog defines `new`'s category flags, so it is loaded before parsing; when it
    // fails to load, the command line still parses (`--help` works) and running reports it.
    let catalog = omnistack::commands::load_catalog();
    let cli = Cli::parse_for(catalog.as_ref().ok(), std::env::args_os());
    match catalog.and_then(|catalog| omnistack::commands::run(&catalog, cli)) {
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
