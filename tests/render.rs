//! Tree tests on `render`: determinism, strip checks over the whole catalog, snapshots, and
//! catalog validation on broken fixtures.

mod common;

use std::collections::BTreeMap;

use omnistack::catalog::{self, Catalog};
use omnistack::spec::{Answers, Spec, resolve};

fn real_catalog() -> Catalog {
    catalog::load(&omnistack::source::templates().unwrap()).unwrap()
}

fn spec(catalog: &Catalog, answers: &[(&str, &[&str])]) -> Spec {
    let answers: Answers = answers
        .iter()
        .map(|(c, ids)| (c.to_string(), ids.iter().map(|s| s.to_string()).collect()))
        .collect();
    resolve(catalog, "demo-app", &[&answers]).unwrap()
}

/// Every preset and every combination the smoke matrix would build.
fn all_specs(catalog: &Catalog) -> Vec<Spec> {
    omnistack::matrix::presets_and_pairwise(catalog, "demo-app")
        .unwrap()
        .into_iter()
        .map(|(_, spec)| spec)
        .collect()
}

#[test]
fn the_real_catalog_loads_and_every_preset_resolves() {
    let catalog = real_catalog();
    assert!(catalog.provider("database", "sqlite").is_some());
    assert!(catalog.provider("database", "postgres").is_some());
    assert!(catalog.provider("auth", "local").is_some());
    assert!(!all_specs(&catalog).is_empty());
}

#[test]
fn render_is_deterministic() {
    let catalog = real_catalog();
    for spec in all_specs(&catalog) {
        let first = omnistack::render::render(&catalog, &spec).unwrap();
        let again = omnistack::render::render(&real_catalog(), &spec).unwrap();
        assert_eq!(first, again, "{:?}", spec.choices);
    }
}

#[test]
fn no_file_dependency_env_var_or_marker_of_an_unchosen_provider_appears() {
    let catalog = real_catalog();
    for spec in all_specs(&catalog) {
        let tree = omnistack::render::render(&catalog, &spec).unwrap();
        let chosen_layers = omnistack::render::layers(&catalog, &spec);
        let declared = |pick: &dyn Fn(&catalog::Layer) -> Vec<String>| -> Vec<String> {
            chosen_layers.iter().flat_map(|(_, l)| pick(l)).collect()
        };
        let chosen_deps = declared(&|l| {
            l.dependencies
                .keys()
                .chain(l.dev_dependencies.keys())
                .cloned()
                .collect()
        });
        let chosen_env = declared(&|l| l.env.iter().map(|v| v.name.clone()).collect());
        let cargo_toml = String::from_utf8_lossy(&tree["Cargo.toml"]).into_owned();
        for category in &catalog.categories {
            for provider in category
                .providers
                .iter()
                .filter(|p| !spec.has(&category.id, &p.id))
            {
                let who = format!("{} {} (spec {:?})", category.id, provider.id, spec.choices);
                for path in provider.layer.files.keys() {
                    let out = omnistack::template::output_path(path);
                    assert!(
                        !tree.contains_key(&out),
                        "{who}: its file {out} was generated"
                    );
                }
                for dep in provider
                    .layer
                    .dependencies
                    .keys()
                    .filter(|d| !chosen_deps.contains(d))
                {
                    assert!(
                        !cargo_toml.contains(&format!("\n{dep} =")),
                        "{who}: dependency {dep} in Cargo.toml"
                    );
                }
                for (path, bytes) in tree.iter().filter(|(p, _)| *p != "Cargo.lock") {
                    let text = String::from_utf8_lossy(bytes).to_lowercase();
                    for var in provider
                        .layer
                        .env
                        .iter()
                        .filter(|v| !chosen_env.contains(&v.name))
                    {
                        assert!(
                            !contains_identifier(&text, &var.name.to_lowercase()),
                            "{who}: env var {} in {path}",
                            var.name
                        );
                    }
                    for marker in &provider.markers {
                        assert!(
                            !text.contains(&marker.to_lowercase()),
                            "{who}: \"{marker}\" appears in {path}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn env_example_lists_every_variable_of_the_chosen_providers() {
    let catalog = real_catalog();
    for spec in all_specs(&catalog) {
        let tree = omnistack::render::render(&catalog, &spec).unwrap();
        let example = tree
            .get(".env.example")
            .expect("every project has .env.example");
        let example = String::from_utf8_lossy(example);
        for (var, _) in omnistack::render::env_vars(&catalog, &spec) {
            assert!(
                example.contains(&var.name),
                "{} missing from .env.example for {:?}",
                var.name,
                spec.choices
            );
        }
    }
}

#[test]
fn the_shipped_lockfile_locks_every_catalog_dependency() {
    let catalog = real_catalog();
    let Some(lock) = &catalog.lockfile else {
        panic!("templates/Cargo.lock is missing: run scripts/refresh-lockfile.sh");
    };
    let lock: toml::Table = toml::from_str(std::str::from_utf8(lock).unwrap()).unwrap();
    let mut locked: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for package in lock["package"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap().to_owned();
        locked
            .entry(name)
            .or_default()
            .push(package["version"].as_str().unwrap().to_owned());
    }
    let manifest: toml::Table =
        toml::from_str(&omnistack::render::superset_manifest(&catalog).unwrap()).unwrap();
    for section in ["dependencies", "dev-dependencies"] {
        for (name, spec) in manifest[section].as_table().unwrap() {
            let req = spec
                .as_str()
                .or_else(|| spec.get("version").and_then(|v| v.as_str()))
                .unwrap();
            let versions = locked.get(name).unwrap_or_else(|| {
                panic!("{name} is not in templates/Cargo.lock: run scripts/refresh-lockfile.sh")
            });
            assert!(
                versions.iter().any(|v| caret_matches(req, v)),
                "{name} \"{req}\" not satisfied by locked {versions:?}: run scripts/refresh-lockfile.sh"
            );
        }
    }
}

/// Cargo's default (caret) requirement, for the "major[.minor]" forms manifests use.
fn caret_matches(req: &str, version: &str) -> bool {
    let req: Vec<u64> = req.split('.').map(|p| p.parse().unwrap()).collect();
    let ver: Vec<u64> = version
        .split(['.', '-', '+'])
        .take(3)
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    match req.as_slice() {
        [0, minor, ..] => ver[0] == 0 && ver[1] == *minor && (req.len() < 3 || ver[2] >= req[2]),
        [major] => ver[0] == *major,
        [major, minor, ..] => ver[0] == *major && ver[1] >= *minor,
        [] => false,
    }
}

#[test]
fn cargo_toml_snapshot_for_the_default_project() {
    let catalog = real_catalog();
    let tree = omnistack::render::render(&catalog, &spec(&catalog, &[])).unwrap();
    insta::assert_snapshot!(String::from_utf8_lossy(&tree["Cargo.toml"]));
}

#[test]
fn omnistack_toml_snapshot_for_postgres() {
    let catalog = real_catalog();
    let tree = omnistack::render::render(&catalog, &spec(&catalog, &[("database", &["postgres"])]))
        .unwrap();
    insta::assert_snapshot!(String::from_utf8_lossy(&tree["omnistack.toml"]));
}

mod broken_catalogs {
    use super::*;

    fn load_with(edit: impl FnOnce(&std::path::Path)) -> String {
        let dir = tempfile::tempdir().unwrap();
        common::copy_templates(dir.path());
        edit(dir.path());
        let files = omnistack::source::read_dir(dir.path()).unwrap();
        catalog::load(&files)
            .expect_err("the broken catalog loaded")
            .to_string()
    }

    fn write(path: std::path::PathBuf, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn an_unknown_requirement_is_reported() {
        let err = load_with(|t| {
            write(
                t.join("auth/x/manifest.toml"),
                "id = \"x\"\nname = \"X\"\ndescription = \"d\"\nrequires = [\"queue:kafka\"]\n",
            )
        });
        assert!(err.contains("unknown category \"queue\""), "{err}");
    }

    #[test]
    fn an_id_that_differs_from_its_folder_is_reported() {
        let err = load_with(|t| {
            write(
                t.join("auth/x/manifest.toml"),
                "id = \"y\"\nname = \"X\"\ndescription = \"d\"\n",
            )
        });
        assert!(err.contains("does not match its folder"), "{err}");
    }

    #[test]
    fn a_file_shipped_twice_is_reported() {
        let err = load_with(|t| {
            write(
                t.join("auth/x/manifest.toml"),
                "id = \"x\"\nname = \"X\"\ndescription = \"d\"\n",
            );
            write(t.join("auth/x/files/Cargo.toml.jinja"), "");
        });
        assert!(
            err.contains("Cargo.toml is shipped by both base and auth x"),
            "{err}"
        );
    }

    #[test]
    fn a_template_syntax_error_is_reported_with_its_path() {
        let err = load_with(|t| {
            write(
                t.join("auth/x/manifest.toml"),
                "id = \"x\"\nname = \"X\"\ndescription = \"d\"\n",
            );
            write(t.join("auth/x/files/src/x.rs.jinja"), "{% if %}");
        });
        assert!(err.contains("src/x.rs.jinja"), "{err}");
    }

    #[test]
    fn a_default_that_is_not_a_provider_is_reported() {
        let err = load_with(|t| {
            let path = t.join("categories.toml");
            let text = std::fs::read_to_string(&path).unwrap().replacen(
                "default = [\"sqlite\"]",
                "default = [\"mysql\"]",
                1,
            );
            std::fs::write(path, text).unwrap();
        });
        assert!(err.contains("default \"mysql\" is not a provider"), "{err}");
    }

    #[test]
    fn conflicting_dependency_versions_are_reported() {
        let err = load_with(|t| {
            write(
                t.join("auth/x/manifest.toml"),
                "id = \"x\"\nname = \"X\"\ndescription = \"d\"\n[dependencies]\naxum = \"0.7\"\n",
            )
        });
        assert!(err.contains("dependency axum"), "{err}");
    }

    #[test]
    fn a_manifest_with_an_unknown_key_is_reported_with_its_line() {
        let err = load_with(|t| {
            write(
                t.join("auth/x/manifest.toml"),
                "id = \"x\"\nname = \"X\"\ndescription = \"d\"\nrequire = []\n",
            )
        });
        assert!(err.contains("auth/x/manifest.toml (line 4)"), "{err}");
    }
}

/// Whether `name` occurs in `text` as a whole identifier: `JWT_SECRET` is not found in
/// `SUPABASE_JWT_SECRET`, which is another provider's own variable.
fn contains_identifier(text: &str, name: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(name).any(|(start, _)| {
        let before = text[..start].chars().next_back();
        let after = text[start + name.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}
