//! `omnistack.toml`: the answers and generator version recorded at a generated project's root.
//!
//! Presets share its format (a preset has a `description` and `[answers]`, no `[omnistack]` or
//! `[project]`), so a generated project's file is a preset: `ProjectFile` reads both and
//! writes the former.

use std::fmt;
use std::path::Path;

use anyhow::Result;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use toml::Spanned;

use crate::catalog::{Catalog, Kind};
use crate::spec::{Answers, Spec};
use crate::usage;

/// The file name at the root of every generated project.
pub const FILE_NAME: &str = "omnistack.toml";

const HEADER: &str = "\
# Written by omnistack: the choices this project was generated with.
# `omnistack add` / `omnistack remove` read and update it; keep it in version control.
# `omnistack new --preset ./omnistack.toml` generates the same project again.

";

/// An `omnistack.toml` or a preset file.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    /// One line for `omnistack presets` (presets only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omnistack: Option<GeneratorSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<ProjectSection>,
    #[serde(default)]
    pub answers: AnswerTable,
}

/// `[omnistack]`: the generator that wrote the file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorSection {
    pub version: String,
}

/// `[project]`: the generated project.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSection {
    pub name: String,
}

/// `[answers]`: category id → a provider id or a list of them, in file order (catalog order
/// when omnistack wrote it). Keys keep their position in the source for error messages.
#[derive(Debug, Default)]
pub struct AnswerTable(pub Vec<(Spanned<String>, OneOrMany)>);

/// A single-choice answer is written as a string, a multi-choice one as a list.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl ProjectFile {
    /// The file that records `spec`.
    pub fn of(catalog: &Catalog, spec: &Spec) -> ProjectFile {
        let answers = catalog
            .categories
            .iter()
            .map(|category| {
                let ids = spec.choices.get(&category.id).cloned().unwrap_or_default();
                let value = match (category.kind, ids.as_slice()) {
                    (Kind::One, [one]) => OneOrMany::One(one.clone()),
                    _ => OneOrMany::Many(ids),
                };
                (Spanned::new(0..0, category.id.clone()), value)
            })
            .collect();
        ProjectFile {
            description: String::new(),
            omnistack: Some(GeneratorSection {
                version: crate::VERSION.to_owned(),
            }),
            project: Some(ProjectSection {
                name: spec.name.clone(),
            }),
            answers: AnswerTable(answers),
        }
    }

    /// Parses a file; `origin` names it in errors ("malformed {origin}, line N: ..."), and
    /// an answer for a category not in `known_categories` is one.
    pub fn parse(origin: &str, src: &str, known_categories: &[&str]) -> Result<ProjectFile> {
        let file: ProjectFile = toml::from_str(src).map_err(|e| {
            let line = e
                .span()
                .map(|s| crate::catalog::line_of(src, s.start))
                .unwrap_or(1);
            usage!("malformed {origin}, line {line}: {}", e.message().trim())
        })?;
        if let Some((key, _)) = file
            .answers
            .0
            .iter()
            .find(|(key, _)| !known_categories.contains(&key.get_ref().as_str()))
        {
            let line = crate::catalog::line_of(src, key.span().start);
            return Err(usage!(
                "malformed {origin}, line {line}: unknown category \"{}\"; valid: {}",
                key.get_ref(),
                known_categories.join(", ")
            ));
        }
        Ok(file)
    }

    /// Reads a generated project's file.
    pub fn read(path: &Path, known_categories: &[&str]) -> Result<ProjectFile> {
        let src = std::fs::read_to_string(path)
            .map_err(|e| usage!("cannot read {}: {e}", path.display()))?;
        ProjectFile::parse(&path.display().to_string(), &src, known_categories)
    }

    /// The file's text, with the header that says what it is.
    pub fn render(&self) -> String {
        let body = toml::to_string(self).expect("a project file serializes");
        format!("{HEADER}{body}")
    }

    /// The answers as `spec::resolve` takes them.
    pub fn answers(&self) -> Answers {
        self.answers
            .0
            .iter()
            .map(|(key, value)| {
                let ids = match value {
                    OneOrMany::One(id) => vec![id.clone()],
                    OneOrMany::Many(ids) => ids.clone(),
                };
                (key.get_ref().clone(), ids)
            })
            .collect()
    }
}

/// Renders the `omnistack.toml` of `spec`; it is also a valid preset
/// (`omnistack new --preset ./omnistack.toml`).
pub fn render(catalog: &Catalog, spec: &Spec) -> String {
    ProjectFile::of(catalog, spec).render()
}

impl Serialize for AnswerTable {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key.get_ref(), value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for AnswerTable {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = AnswerTable;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table of category = provider or [providers]")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnswerTable, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(AnswerTable(entries))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back_as_the_same_answers() {
        let catalog = crate::catalog::load(&crate::source::templates().unwrap()).unwrap();
        let answers = [("database".to_owned(), vec!["postgres".to_owned()])].into();
        let spec = crate::spec::resolve(&catalog, "app", &[&answers]).unwrap();
        let text = render(&catalog, &spec);
        let ids: Vec<&str> = catalog.categories.iter().map(|c| c.id.as_str()).collect();
        let file = ProjectFile::parse("omnistack.toml", &text, &ids).unwrap();
        let again = crate::spec::resolve(&catalog, "app", &[&file.answers()]).unwrap();
        assert_eq!(again, spec);
        assert_eq!(file.project.unwrap().name, "app");
        assert_eq!(file.omnistack.unwrap().version, crate::VERSION);
    }
}
