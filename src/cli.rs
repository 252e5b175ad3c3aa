//! Command-line definitions (clap derive). Behaviour lives in `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Database provider
    #[arg(long, value_name = "PROVIDER", value_delimiter = ',')]
    pub db: Vec<String>,
    /// Auth provider
    #[arg(long, value_name = "PROVIDER", value_delimiter = ',')]
    pub auth: Vec<String>,
    /// Cache and rate-limit store
    #[arg(long, value_name = "PROVIDER", value_delimiter = ',')]
    pub cache: Vec<String>,
    /// Background job queue
    #[arg(long, value_name = "PROVIDER", value_delimiter = ',')]
    pub jobs: Vec<String>,
    /// Email provider
    #[arg(long, value_name = "PROVIDER", value_delimiter = ',')]
    pub email: Vec<String>,
    /// File storage provider
    #[arg(long, value_name = "PROVIDER", value_delimiter = ',')]
    pub storage: Vec<String>,
    /// AI providers, comma-separated, or `none`
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub ai: Vec<String>,
    /// Payment providers, comma-separated, or `none`
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub payments: Vec<String>,
    /// Observability integrations, comma-separated, or `none`
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub observability: Vec<String>,
    /// Extra features, comma-separated, or `none`
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub extras: Vec<String>,
    /// Deployment targets, comma-separated, or `none`
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub deploy: Vec<String>,
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
}

impl NewArgs {
    /// (flag, values) for every category flag that was given.
    pub fn category_flags(&self) -> Vec<(&'static str, &[String])> {
        let all: [(&'static str, &Vec<String>); 11] = [
            ("db", &self.db),
            ("auth", &self.auth),
            ("cache", &self.cache),
            ("jobs", &self.jobs),
            ("email", &self.email),
            ("storage", &self.storage),
            ("ai", &self.ai),
            ("payments", &self.payments),
            ("observability", &self.observability),
            ("extras", &self.extras),
            ("deploy", &self.deploy),
        ];
        all.into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(f, v)| (f, v.as_slice()))
            .collect()
    }
}
