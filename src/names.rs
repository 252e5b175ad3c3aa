//! Project name validation: the name becomes a Cargo package and a Rust crate name.

use anyhow::Result;

use crate::catalog::Catalog;
use crate::usage;

/// Rust keywords (all editions, including reserved ones) and names Cargo or Rust reserve.
const RESERVED: &[&str] = &[
    "abstract",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "pub",
    "ref",
    "return",
    "self",
    "Self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
    "test",
    "core",
    "std",
    "alloc",
    "proc_macro",
    "proc-macro",
    "build",
    "deps",
    "examples",
    "incremental",
    "target",
];

/// Accepts names Cargo accepts as a package name that also make a usable crate name.
pub fn validate(name: &str) -> Result<()> {
    let allowed = "use lowercase letters, digits, '-' and '_', starting with a letter";
    if name.is_empty() {
        return Err(usage!("project name is empty; {allowed}"));
    }
    if name.len() > 64 {
        return Err(usage!(
            "project name \"{name}\" is longer than 64 characters"
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(usage!(
            "invalid project name \"{name}\": it must start with a lowercase letter; {allowed}"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        return Err(usage!(
            "invalid project name \"{name}\": character {bad:?} is not allowed; {allowed}"
        ));
    }
    if RESERVED.contains(&name) || RESERVED.contains(&crate_name(name).as_str()) {
        return Err(usage!(
            "invalid project name \"{name}\": it is a Rust keyword or a reserved name"
        ));
    }
    if name.ends_with('-') || name.ends_with('_') {
        return Err(usage!(
            "invalid project name \"{name}\": it must not end with '-' or '_'"
        ));
    }
    Ok(())
}

/// `validate`, plus: the name must not be the crate name of a dependency any layer of `catalog`
/// declares (dependencies and dev-dependencies, `-` and `_` being the same to Cargo). The
/// project's library would be a second crate of that name next to the dependency, and the
/// project would not compile (E0464). Every layer counts, not only the chosen ones, so a later
/// `omnistack add` cannot bring the clash in.
pub fn validate_for(catalog: &Catalog, name: &str) -> Result<()> {
    validate(name)?;
    let own = crate_name(name);
    for (layer, deps) in catalog.layers() {
        let clash = deps
            .dependencies
            .keys()
            .chain(deps.dev_dependencies.keys())
            .find(|dep| crate_name(dep) == own);
        if let Some(dep) = clash {
            let sep = if name.contains('_') { '_' } else { '-' };
            return Err(usage!(
                "invalid project name \"{name}\": it clashes with the dependency `{dep}` of {layer}; a project cannot be named after a crate it may depend on (two crates named `{own}` would not compile), choose another name such as \"{name}{sep}app\""
            ));
        }
    }
    Ok(())
}

/// The identifier used in `use <crate_name>::...`.
pub fn crate_name(name: &str) -> String {
    name.replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for name in ["app", "my-app", "my_app2", "a1-b2"] {
            validate(name).unwrap();
        }
    }

    #[test]
    fn rejects_invalid_and_reserved_names() {
        for name in [
            "",
            "my app",
            "1app",
            "App",
            "fn",
            "test",
            "self",
            "std",
            "-x",
            "x-",
            "caf\u{e9}",
            "a.b",
        ] {
            assert!(validate(name).is_err(), "{name:?} should be refused");
        }
    }

    #[test]
    fn crate_name_replaces_dashes() {
        assert_eq!(crate_name("my-app"), "my_app");
    }
}
