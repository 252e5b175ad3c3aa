//! The catalog: every category and provider, read from the manifests in `templates/`.
//!
//! It is the single source of truth for CLI flags, prompts, `list`, validation, the merged
//! Cargo dependencies and the environment variables of a generated project.

mod dependency;
mod load;

use std::collections::BTreeMap;

pub use dependency::Dependency;
pub use load::{line_of, load};

use crate::tree::Tree;

/// How many providers a category takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Exactly one provider.
    One,
    /// Any number of providers, possibly none.
    Many,
}

/// A category of choices (database, auth, ...), with its providers in catalog order.
#[derive(Debug, Clone)]
pub struct Category {
    pub id: String,
    /// The `omnistack new` flag, without dashes.
    pub flag: String,
    pub name: String,
    pub kind: Kind,
    pub default: Vec<String>,
    pub prompt: String,
    /// Capabilities its providers may declare, with the value a provider that says nothing
    /// has (see `templates/README.md`).
    pub capabilities: BTreeMap<String, Capability>,
    /// Categories whose choices change this one's generated code (its own id: its providers
    /// change each other's). The smoke matrix builds every pair of choices only across
    /// interacting categories; see `matrix::smoke_set`.
    pub interacts_with: Vec<String>,
    pub providers: Vec<Provider>,
}

impl Category {
    pub fn provider(&self, id: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.id == id)
    }

    /// Provider ids joined for error messages.
    pub fn valid_ids(&self) -> String {
        self.providers
            .iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One provider of a category: its manifest and its own files.
#[derive(Debug, Clone)]
pub struct Provider {
    pub id: String,
    pub category: String,
    pub name: String,
    pub description: String,
    pub requires: Vec<Requirement>,
    pub excludes: Vec<Requirement>,
    /// Strings that betray this provider's presence (default: its id); the strip tests check
    /// that none of them appears in a project that did not choose it.
    pub markers: Vec<String>,
    /// What base code may branch on instead of this provider's id.
    pub capabilities: BTreeMap<String, Capability>,
    /// Services this provider's generated tests talk to (an S3-compatible server, an SMTP
    /// server...): the full smoke matrix requires each variable, so CI cannot skip them.
    pub test_env: Vec<TestEnv>,
    pub layer: Layer,
}

/// A capability value: a flag, or a word naming a kind (never a provider id).
pub type Capability = toml::Value;

/// Code shared by several providers (`templates/shared/<id>/`), pulled in through their
/// manifests' `uses`; it is rendered once when any chosen provider uses it.
#[derive(Debug, Clone)]
pub struct SharedLayer {
    pub id: String,
    pub description: String,
    /// Strings that betray this layer's presence (default: none checked).
    pub markers: Vec<String>,
    pub layer: Layer,
}

/// What a layer (base or one provider) contributes to a project.
#[derive(Debug, Clone, Default)]
pub struct Layer {
    pub dependencies: BTreeMap<String, Dependency>,
    pub dev_dependencies: BTreeMap<String, Dependency>,
    pub env: Vec<EnvVar>,
    pub next_steps: Vec<String>,
    /// Shared layers (`templates/shared/<id>/`) this layer pulls in.
    pub uses: Vec<String>,
    /// Template files by their path below the layer's `files/`.
    pub files: Tree,
    /// What this layer puts into other layers' slots: `slots/<path>` holds one
    /// `{% block name %}` per slot it fills in the file rendered at `<path>`.
    pub slots: Tree,
}

/// An environment variable the generated project reads.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnvVar {
    pub name: String,
    pub description: String,
    pub example: String,
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub required: bool,
}

/// A variable pointing a provider's generated tests at a real service (`[[test_env]]`).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestEnv {
    pub name: String,
    /// What must listen there, and how CI starts it.
    pub description: String,
}

/// `requires`/`excludes` entry: a whole category ("any provider of it") or one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub category: String,
    pub provider: Option<String>,
}

impl std::fmt::Display for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.provider {
            Some(p) => write!(f, "{} {p}", self.category),
            None => write!(f, "a {} provider", self.category),
        }
    }
}

/// The whole catalog: the base layer and the categories that have providers.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub base: Layer,
    pub categories: Vec<Category>,
    /// Layers shared by several providers, by id.
    pub shared: BTreeMap<String, SharedLayer>,
    /// `templates/Cargo.lock`: the tested superset lockfile shipped with every project.
    pub lockfile: Option<Vec<u8>>,
}

impl Catalog {
    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// Whether choices of `a` and `b` meet in generated code (declared on either side).
    pub fn interact(&self, a: &str, b: &str) -> bool {
        let declares = |x: &str, y: &str| {
            self.category(x)
                .is_some_and(|c| c.interacts_with.iter().any(|id| id == y))
        };
        declares(a, b) || declares(b, a)
    }

    pub fn category_by_flag(&self, flag: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.flag == flag)
    }

    pub fn provider(&self, category: &str, id: &str) -> Option<&Provider> {
        self.category(category)?.provider(id)
    }

    /// Every layer with a name for messages: base, the shared layers, every provider.
    pub fn layers(&self) -> Vec<(String, &Layer)> {
        let mut out = vec![("base".to_owned(), &self.base)];
        out.extend(
            self.shared
                .iter()
                .map(|(id, s)| (format!("shared {id}"), &s.layer)),
        );
        for c in &self.categories {
            out.extend(
                c.providers
                    .iter()
                    .map(|p| (format!("{} {}", c.id, p.id), &p.layer)),
            );
        }
        out
    }
}
