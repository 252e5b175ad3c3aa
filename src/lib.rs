//! omnistack: renders axum + sqlx backends from an embedded, catalog-driven set of templates.

pub mod catalog;
pub mod cli;
pub mod commands;
pub mod error;
pub mod matrix;
pub mod merge;
pub mod names;
pub mod preset;
pub mod project_file;
pub mod prompt;
pub mod render;
pub mod source;
pub mod spec;
pub mod template;
pub mod tree;
pub mod write;

pub use error::UsageError;

/// Version of this generator, recorded in every generated project.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
