//! Command-line definitions: clap derive, plus one `new` flag per catalog category. Behaviour
//! lives in `commands`.

use std::path::PathBuf;

use clap::{Arg, ArgAction, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::catalog::{Catalog, Category, Kind};
use crate::spec::NONE;

/// Scaffolds production-ready axum + sqlx backends.
#[derive(Debug, Parser)]
#[command(name = "omnistack", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a new project (interactive on a terminal unless --yes)
    New(Box<NewArgs>),
    /// Add a provider to the project in the current directory (a single-choice category's
    /// provider is replaced), merging with your edits
    Add(ChangeArgs),
    /// Remove a provider from the project in the current directory, keeping your edits
    Remove(ChangeArgs),
    /// Show the catalog: categories, providers, defaults and the env vars each needs
    List,
    /// Show the built-in presets and what they choose
    Presets,
    /// Print a Cargo.toml depending on every crate of every provider (for
    /// scripts/refresh-lockfile.sh, which turns it into templates/Cargo.lock)
    #[command(hide = true)]
    SupersetManifest,
}

/// `omnistack add` / `omnistack remove`.
#[derive(Debug, Args)]
pub struct ChangeArgs {
    /// A category (`cache`, `auth`, ...) followed by providers, or a provider id alone
    pub feature: String,
    /// Providers of that category
    pub providers: Vec<String>,
    /// Print what would change (report and unified diff) and write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Proceed even when the git work tree has uncommitted changes
    #[arg(long)]
    pub allow_dirty: bool,
}

/// `omnistack new`: every prompt has a flag; flag > preset > prompt > default.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// Project (crate) name, e.g. `my-api`
    pub name: Option<String>,
    /// Built-in preset name (see `omnistack presets`) or a path to a preset / omnistack.toml
    #[arg(long, value_name = "NAME|FILE")]
    pub preset: Option<String>,
    /// Directory to create (default: ./NAME)
    #[arg(long, short, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Never prompt: take defaults for everything not given
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print the files that would be written and write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Replace an existing non-empty output directory
    #[arg(long)]
    pub force: bool,
    /// Do not run `git init` and the initial commit
    #[arg(long)]
    pub no_git: bool,
    /// Do not run `cargo fmt` on the generated project
    #[arg(long)]
    pub no_fmt: bool,
    /// (flag, values) for every category flag that was given, in catalog order. The flags
    /// come from the catalog (`--db`, `--auth`, ...), see `Cli::command_for`.
    #[arg(skip)]
    pub category_flags: Vec<(String, Vec<String>)>,
}

impl Cli {
    /// The command line with one `omnistack new` flag per catalog category (`--db`,
    /// `--auth`, ...); without a catalog (it failed to load) there are none, and running a
    /// command reports why.
    pub fn command_for(catalog: Option<&Catalog>) -> clap::Command {
        let categories = catalog.map_or(&[][..], |c| c.categories.as_slice());
        Cli::command().mut_subcommand("new", |new| new.args(categories.iter().map(category_arg)))
    }

    /// Parses `args` (the program name first) against `command_for(catalog)`; exits with
    /// clap's message and code 2 on bad input, as `Parser::parse` does.
    pub fn parse_for<I, T>(catalog: Option<&Catalog>, args: I) -> Cli
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Cli::try_parse_for(catalog, args).unwrap_or_else(|e| e.exit())
    }

    /// `parse_for` that returns clap's error instead of exiting.
    pub fn try_parse_for<I, T>(catalog: Option<&Catalog>, args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Cli::command_for(catalog).try_get_matches_from(args)?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        if let (Command::New(args), Some(("new", given))) = (&mut cli.command, matches.subcommand())
        {
            let categories = catalog.map_or(&[][..], |c| c.categories.as_slice());
            for category in categories {
                if let Some(values) = given.get_many::<String>(&category.flag) {
                    args.category_flags
                        .push((category.flag.clone(), values.cloned().collect()));
                }
            }
        }
        Ok(cli)
    }
}

/// `--<flag>` of a category: one provider, or a comma-separated list (or `none`).
fn category_arg(category: &Category) -> Arg {
    let (value_name, help) = match category.kind {
        Kind::One => (
            "PROVIDER",
            format!("{}: one of {}", category.name, category.valid_ids()),
        ),
        Kind::Many => (
            "A,B",
            format!(
                "{}: any of {}, comma-separated, or `{NONE}`",
                category.name,
                category.valid_ids()
            ),
        ),
    };
    Arg::new(category.flag.clone())
        .long(category.flag.clone())
        .value_name(value_name)
        .value_delimiter(',')
        .action(ArgAction::Append)
        .help(help)
        .help_heading("Choices (see `omnistack list`)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(catalog: Option<&Catalog>, args: &[&str]) -> Vec<(String, Vec<String>)> {
        let argv = ["omnistack", "new", "app"].iter().chain(args);
        match Cli::try_parse_for(catalog, argv).unwrap().command {
            Command::New(args) => args.category_flags,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn new_has_a_flag_per_catalog_category_and_keeps_their_values() {
        let catalog = crate::catalog::load(&crate::source::templates().unwrap()).unwrap();
        Cli::command_for(Some(&catalog)).debug_assert();
        Cli::command_for(None).debug_assert();
        for category in &catalog.categories {
            let id = &category.providers[0].id;
            assert_eq!(
                given(Some(&catalog), &[&format!("--{}", category.flag), id]),
                vec![(category.flag.clone(), vec![id.clone()])]
            );
        }
        assert_eq!(
            given(
                Some(&catalog),
                &["--auth", "clerk,local", "--db", "postgres"]
            ),
            vec![
                ("db".to_owned(), vec!["postgres".to_owned()]),
                (
                    "auth".to_owned(),
                    vec!["clerk".to_owned(), "local".to_owned()]
                ),
            ]
        );
        assert!(given(Some(&catalog), &[]).is_empty());
        assert!(Cli::try_parse_for(None, ["omnistack", "new", "app", "--db", "sqlite"]).is_err());
    }
}
