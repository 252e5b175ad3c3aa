//! One module per subcommand.

mod change;
mod list;
mod new;
mod presets;

use std::process::ExitCode;

use anyhow::Result;

use crate::catalog::Catalog;
use crate::cli::{Cli, Command};
use crate::spec::Change;

/// Runs a command line parsed with `Cli::parse_for(Some(catalog), ..)`.
pub fn run(catalog: &Catalog, cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::New(args) => new::run(catalog, *args),
        Command::Add(args) => change::run(catalog, &args, Change::Add),
        Command::Remove(args) => change::run(catalog, &args, Change::Remove),
        Command::List => list::run(catalog),
        Command::Presets => presets::run(catalog),
        Command::SupersetManifest => {
            print!("{}", crate::render::superset_manifest(catalog)?);
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
