//! The error kind that maps to exit code 2: the user asked for something impossible.

use std::fmt;

/// Bad input: an unknown provider, an invalid name, an existing target, ...
///
/// Reported as a single line and exit code 2; everything else is an internal failure.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Shorthand for `Err(UsageError(..).into())`.
#[macro_export]
macro_rules! usage {
    ($($arg:tt)*) => {
        anyhow::Error::from($crate::UsageError(format!($($arg)*)))
    };
}
