//! One module per subcommand.

mod change;
mod list;
mod new;
mod presets;

use std::process::ExitCode;

use anyhow::Result;

use crate::catalog::Catalog;
use crate::cli::{Cli, Command};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let catalog = load_catalog()?;
    match cli.command {
        Command::New(args) => new::run(&catalog, *args),
        Command::Add(args) => change::run(&catalog, &args, change::Mode::Add),
        Command::Remove(args) => change::run(&catalog, &args, change::Mode::Remove),
        Command::List => list::run(&catalog),
        Command::Presets => presets::run(&catalog),
        Command::SupersetManifest => {
            print!("{}", crate::render::superset_manifest(&catalog)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The catalog from the embedded templates (or `OMNISTACK_TEMPLATES`).
pub fn load_catalog() -> Result<Catalog> {
    crate::catalog::load(&crate::source::templates()?)
}

/// Category ids, for preset parsing.
pub(crate) fn category_ids(catalog: &Catalog) -> Vec<&str> {
    catalog.categories.iter().map(|c| c.id.as_str()).collect()
}
