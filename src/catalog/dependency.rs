//! Cargo dependency entries from manifests, and how two layers' entries for one crate merge.

use std::collections::BTreeSet;

use anyhow::{Result, bail};
use serde::Deserialize;

/// A dependency as written in a manifest: `"1.0"` or `{ version, features, default-features }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub version: String,
    pub features: BTreeSet<String>,
    /// `Some(false)` turns default features off; `None` leaves cargo's default.
    pub default_features: Option<bool>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Raw {
    Version(String),
    Detailed(Detailed),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Detailed {
    version: String,
    #[serde(default)]
    features: Vec<String>,
    #[serde(rename = "default-features")]
    default_features: Option<bool>,
}

impl<'de> Deserialize<'de> for Dependency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Raw::deserialize(d)? {
            Raw::Version(version) => Dependency {
                version,
                features: BTreeSet::new(),
                default_features: None,
            },
            Raw::Detailed(d) => Dependency {
                version: d.version,
                features: d.features.into_iter().collect(),
                default_features: d.default_features,
            },
        })
    }
}

impl Dependency {
    /// Merges another layer's entry for the same crate: versions must agree, features are
    /// unioned, and default features stay off unless some layer explicitly turns them on.
    pub fn merge(&mut self, name: &str, other: &Dependency) -> Result<()> {
        if self.version != other.version {
            bail!(
                "dependency {name}: version \"{}\" conflicts with \"{}\"",
                self.version,
                other.version
            );
        }
        self.features.extend(other.features.iter().cloned());
        self.default_features = match (self.default_features, other.default_features) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), _) | (_, Some(false)) => Some(false),
            (None, None) => None,
        };
        Ok(())
    }

    /// The value side of a Cargo.toml line, formatted the way people write it.
    pub fn to_toml(&self) -> String {
        if self.features.is_empty() && self.default_features.is_none() {
            return format!("\"{}\"", self.version);
        }
        let mut parts = vec![format!("version = \"{}\"", self.version)];
        if self.default_features == Some(false) {
            parts.push("default-features = false".to_owned());
        }
        if !self.features.is_empty() {
            let features: Vec<String> = self.features.iter().map(|f| format!("\"{f}\"")).collect();
            parts.push(format!("features = [{}]", features.join(", ")));
        }
        format!("{{ {} }}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(src: &str) -> Dependency {
        #[derive(Deserialize)]
        struct W {
            d: Dependency,
        }
        toml::from_str::<W>(&format!("d = {src}")).unwrap().d
    }

    #[test]
    fn merge_unions_features_and_keeps_default_features_off() {
        let mut base =
            dep(r#"{ version = "0.9", default-features = false, features = ["migrate"] }"#);
        base.merge(
            "sqlx",
            &dep(r#"{ version = "0.9", features = ["sqlite"] }"#),
        )
        .unwrap();
        assert_eq!(
            base.to_toml(),
            r#"{ version = "0.9", default-features = false, features = ["migrate", "sqlite"] }"#
        );
    }

    #[test]
    fn merge_refuses_different_versions() {
        let mut a = dep(r#""1.0""#);
        let err = a.merge("serde", &dep(r#""2.0""#)).unwrap_err();
        assert!(err.to_string().contains("conflicts"), "{err}");
    }

    #[test]
    fn plain_version_renders_as_string() {
        assert_eq!(dep(r#""1""#).to_toml(), r#""1""#);
    }
}
