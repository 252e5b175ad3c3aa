//! A string that never shows up in `Debug` output or logs.

use std::fmt;

/// A secret value (key, password, connection string with credentials).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether this secret is too short or looks like a value copied from an example.
    pub fn weakness(&self, min_len: usize) -> Option<String> {
        let value = self.0.to_ascii_lowercase();
        let placeholder = [
            "change",
            "placeholder",
            "example",
            "secret",
            "your",
            "xxxx",
            "generate",
        ]
        .iter()
        .any(|word| value.contains(word));
        let one_char = value.chars().all(|c| value.starts_with(c));
        if placeholder || one_char {
            Some("looks like a placeholder".into())
        } else if self.0.chars().count() < min_len {
            Some(format!("must be at least {min_len} characters"))
        } else {
            None
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}
