//! Reads environment variables and collects every problem instead of stopping at the first.

use std::fmt::Display;
use std::str::FromStr;

/// Looks variables up through a function, so tests can pass a map instead of the process env.
pub(crate) struct EnvReader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    pub(crate) problems: Vec<String>,
}

impl<'a> EnvReader<'a> {
    pub(crate) fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            lookup,
            problems: Vec::new(),
        }
    }

    /// The trimmed value; empty counts as unset, like most platforms' dashboards.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    /// Parses a value, or returns `default` when unset; a bad value is recorded as a problem.
    pub(crate) fn parse<T>(&mut self, name: &str, default: T) -> T
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.get(name) {
            None => default,
            Some(raw) => raw.parse().unwrap_or_else(|error| {
                self.problems
                    .push(format!("{name} is invalid ({error}): got {raw:?}"));
                default
            }),
        }
    }

    /// Parses a positive number of seconds.
    pub(crate) fn seconds(&mut self, name: &str, default: u64) -> std::time::Duration {
        let secs = self.parse(name, default);
        if secs == 0 {
            self.problems.push(format!("{name} must be greater than 0"));
        }
        std::time::Duration::from_secs(secs.max(1))
    }

    pub(crate) fn problem(&mut self, message: impl Into<String>) {
        self.problems.push(message.into());
    }
}
