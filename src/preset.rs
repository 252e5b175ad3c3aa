//! Presets: named answer sets in `presets/*.toml` (embedded), or a user's file.
//!
//! The schema is the one of `omnistack.toml`, so a generated project's file is a preset.

use std::path::Path;

use anyhow::Result;

use crate::project_file::ProjectFile;
use crate::spec::Answers;
use crate::usage;

/// A loaded preset.
#[derive(Debug, Clone)]
pub struct Preset {
    pub name: String,
    pub description: String,
    pub answers: Answers,
    /// The project name, when the preset is a generated project's `omnistack.toml`.
    pub project_name: Option<String>,
}

/// Parses a preset; errors name `origin` and the line.
pub fn parse(origin: &str, name: &str, src: &str, known_categories: &[&str]) -> Result<Preset> {
    let file = ProjectFile::parse(&format!("preset {origin}"), src, known_categories)?;
    Ok(Preset {
        name: name.to_owned(),
        answers: file.answers(),
        description: file.description,
        project_name: file.project.map(|p| p.name),
    })
}

/// The built-in presets, sorted by name.
pub fn builtin(known_categories: &[&str]) -> Result<Vec<Preset>> {
    crate::source::presets()
        .iter()
        .filter_map(|(path, bytes)| path.strip_suffix(".toml").map(|name| (name, bytes)))
        .map(|(name, bytes)| {
            let src = String::from_utf8_lossy(bytes);
            parse(
                &format!("presets/{name}.toml"),
                name,
                &src,
                known_categories,
            )
        })
        .collect()
}

/// A built-in preset by name, or a preset file when `name_or_path` looks like a path.
pub fn find(name_or_path: &str, known_categories: &[&str]) -> Result<Preset> {
    let looks_like_path = name_or_path.contains('/') || name_or_path.ends_with(".toml");
    if !looks_like_path {
        let presets = builtin(known_categories)?;
        let names: Vec<&str> = presets.iter().map(|p| p.name.as_str()).collect();
        return presets
            .iter()
            .find(|p| p.name == name_or_path)
            .cloned()
            .ok_or_else(|| {
                usage!(
                    "unknown preset \"{name_or_path}\"; valid: {} (or a path to a .toml file)",
                    names.join(", ")
                )
            });
    }
    let path = Path::new(name_or_path);
    let src = std::fs::read_to_string(path)
        .map_err(|e| usage!("cannot read preset {}: {e}", path.display()))?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    parse(&path.display().to_string(), &name, &src, known_categories)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATS: &[&str] = &["database", "auth", "ai"];

    #[test]
    fn parses_single_and_list_answers() {
        let p = parse(
            "x.toml",
            "x",
            "[answers]\ndatabase = \"postgres\"\nai = [\"openai\"]\n",
            CATS,
        )
        .unwrap();
        assert_eq!(p.answers["database"], vec!["postgres"]);
        assert_eq!(p.answers["ai"], vec!["openai"]);
    }

    #[test]
    fn syntax_errors_name_the_file_and_line() {
        let err = parse(
            "my.toml",
            "my",
            "description = \"x\"\n[answers]\ndatabase = postgres\n",
            CATS,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("malformed preset my.toml, line 3:"),
            "{err}"
        );
    }

    #[test]
    fn unknown_categories_name_the_line() {
        let err = parse("my.toml", "my", "[answers]\n\ndatbase = \"sqlite\"\n", CATS).unwrap_err();
        assert!(
            err.to_string()
                .contains("line 3: unknown category \"datbase\""),
            "{err}"
        );
    }
}
