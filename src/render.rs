//! `render(spec) → tree`: the pure, deterministic heart of generation.
//!
//! The base layer and the chosen providers' layers are rendered with one context built from
//! the catalog; nothing here touches the file system, the clock or the environment.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;

use crate::catalog::{Catalog, Dependency, Kind, Layer};
use crate::spec::Spec;
use crate::tree::Tree;

/// The minijinja environment every template is rendered with.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_syntax(
        SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("default delimiters are valid"),
    );
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Generated files are code and config, never HTML: no escaping by file extension.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env
}

/// Where a template path lands in the project: `.jinja` dropped, `dot-x` becomes `.x`.
pub fn output_path(template_path: &str) -> String {
    let path = template_path
        .strip_suffix(".jinja")
        .unwrap_or(template_path);
    path.split('/')
        .map(|c| match c.strip_prefix("dot-") {
            Some(rest) => format!(".{rest}"),
            None => c.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[derive(Serialize)]
struct DepView {
    name: String,
    spec: String,
}

#[derive(Serialize)]
struct EnvView {
    name: String,
    description: String,
    example: String,
    secret: bool,
    required: bool,
    needed_by: String,
}

#[derive(Serialize)]
struct ProviderView {
    category: String,
    id: String,
    name: String,
    description: String,
}

/// The layers of a spec in catalog order: base first, then each chosen provider.
pub fn layers<'a>(catalog: &'a Catalog, spec: &Spec) -> Vec<(String, &'a Layer)> {
    let mut out = vec![("base".to_owned(), &catalog.base)];
    for category in &catalog.categories {
        for provider in category
            .providers
            .iter()
            .filter(|p| spec.has(&category.id, &p.id))
        {
            out.push((format!("{}: {}", category.id, provider.id), &provider.layer));
        }
    }
    out
}

fn merged(
    layers: &[(String, &Layer)],
    pick: fn(&Layer) -> &BTreeMap<String, Dependency>,
) -> Result<Vec<DepView>> {
    let mut deps: BTreeMap<String, Dependency> = BTreeMap::new();
    for (_, layer) in layers {
        for (name, dep) in pick(layer) {
            match deps.get_mut(name) {
                Some(existing) => existing.merge(name, dep)?,
                None => {
                    deps.insert(name.clone(), dep.clone());
                }
            }
        }
    }
    Ok(deps
        .into_iter()
        .map(|(name, d)| DepView {
            spec: d.to_toml(),
            name,
        })
        .collect())
}

/// Environment variables of the chosen layers, each listed once with everyone who needs it.
pub fn env_vars(catalog: &Catalog, spec: &Spec) -> Vec<(crate::catalog::EnvVar, Vec<String>)> {
    let mut out: Vec<(crate::catalog::EnvVar, Vec<String>)> = Vec::new();
    for (owner, layer) in layers(catalog, spec) {
        for var in &layer.env {
            match out.iter_mut().find(|(v, _)| v.name == var.name) {
                Some((_, owners)) => owners.push(owner.clone()),
                None => out.push((var.clone(), vec![owner.clone()])),
            }
        }
    }
    out
}

/// The template context for a spec.
fn context(catalog: &Catalog, spec: &Spec) -> Result<Value> {
    let layers = layers(catalog, spec);
    let mut ctx: BTreeMap<String, Value> = BTreeMap::new();
    ctx.insert("project_name".into(), Value::from(spec.name.clone()));
    ctx.insert(
        "crate_name".into(),
        Value::from(crate::names::crate_name(&spec.name)),
    );
    ctx.insert("omnistack_version".into(), Value::from(crate::VERSION));
    for category in &catalog.categories {
        let chosen = spec.choices.get(&category.id).cloned().unwrap_or_default();
        let value = match category.kind {
            Kind::One => Value::from(chosen.into_iter().next().unwrap_or_default()),
            Kind::Many => Value::from(Serde(&chosen)),
        };
        ctx.insert(category.id.clone(), value);
    }
    ctx.insert(
        "dependencies".into(),
        Value::from(Serde(merged(&layers, |l| &l.dependencies)?)),
    );
    ctx.insert(
        "dev_dependencies".into(),
        Value::from(Serde(merged(&layers, |l| &l.dev_dependencies)?)),
    );
    let env: Vec<EnvView> = env_vars(catalog, spec)
        .into_iter()
        .map(|(v, owners)| EnvView {
            name: v.name,
            description: v.description,
            example: v.example,
            secret: v.secret,
            required: v.required,
            // "base" is the generator's name for the shared layer; a project's reader
            // knows it as the service's core.
            needed_by: owners
                .iter()
                .map(|o| if o == "base" { "core" } else { o.as_str() })
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    ctx.insert("env".into(), Value::from(Serde(env)));
    let providers: Vec<ProviderView> = catalog
        .categories
        .iter()
        .flat_map(|c| c.providers.iter().filter(|p| spec.has(&c.id, &p.id)))
        .map(|p| ProviderView {
            category: p.category.clone(),
            id: p.id.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
        })
        .collect();
    ctx.insert("providers".into(), Value::from(Serde(providers)));
    let steps: Vec<&String> = layers.iter().flat_map(|(_, l)| &l.next_steps).collect();
    ctx.insert("next_steps".into(), Value::from(Serde(steps)));
    Ok(Value::from(Serde(ctx)))
}

/// Renders the complete project tree for `spec`, `omnistack.toml` included.
pub fn render(catalog: &Catalog, spec: &Spec) -> Result<Tree> {
    let env = environment();
    let ctx = context(catalog, spec)?;
    let mut tree = Tree::new();
    for (owner, layer) in layers(catalog, spec) {
        for (path, bytes) in &layer.files {
            let out = output_path(path);
            let content = if path.ends_with(".jinja") {
                let src = std::str::from_utf8(bytes)
                    .map_err(|_| anyhow!("{owner}: {path} is not UTF-8"))?;
                let rendered = env
                    .template_from_named_str(path, src)
                    .and_then(|t| t.render(&ctx))
                    .map_err(|e| anyhow!("rendering {path} ({owner}): {e:#}"))?;
                let text = normalize(&rendered);
                // A template that renders to nothing is a file this combination does not
                // need (e.g. shared code of the external auth providers): it is not written.
                if text.is_empty() {
                    continue;
                }
                text.into_bytes()
            } else {
                bytes.clone()
            };
            tree.insert(out, content);
        }
    }
    if let Some(lock) = &catalog.lockfile {
        tree.insert("Cargo.lock".to_owned(), lock.clone());
    }
    tree.insert(
        crate::project_file::FILE_NAME.to_owned(),
        crate::project_file::render(catalog, spec).into_bytes(),
    );
    Ok(tree)
}

/// A Cargo.toml that depends on the union of every layer's dependencies: resolving it gives
/// the superset lockfile that generated projects ship (cargo trims it to what they use).
pub fn superset_manifest(catalog: &Catalog) -> Result<String> {
    let mut all: Vec<(String, &Layer)> = vec![("base".to_owned(), &catalog.base)];
    for category in &catalog.categories {
        for provider in &category.providers {
            all.push((format!("{}: {}", category.id, provider.id), &provider.layer));
        }
    }
    let mut out = String::from(
        "[package]\nname = \"omnistack-lockfile-superset\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\n",
    );
    for d in merged(&all, |l| &l.dependencies)? {
        out.push_str(&format!("{} = {}\n", d.name, d.spec));
    }
    out.push_str("\n[dev-dependencies]\n");
    for d in merged(&all, |l| &l.dev_dependencies)? {
        out.push_str(&format!("{} = {}\n", d.name, d.spec));
    }
    Ok(out)
}

/// Trailing whitespace off every line, at most one blank line in a row, exactly one final
/// newline: conditionals in templates must not leave visible traces in the output.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_path_strips_suffix_and_maps_dot_prefix() {
        assert_eq!(
            output_path("dot-github/workflows/ci.yml.jinja"),
            ".github/workflows/ci.yml"
        );
        assert_eq!(output_path("src/main.rs"), "src/main.rs");
        assert_eq!(output_path("dot-env.example.jinja"), ".env.example");
    }

    #[test]
    fn normalize_collapses_blank_runs_and_trailing_space() {
        assert_eq!(normalize("\n\na  \n\n\n\nb\n\n\n"), "a\n\nb\n");
        assert_eq!(normalize("x"), "x\n");
    }

    #[test]
    fn a_template_that_renders_to_nothing_is_not_written() {
        let mut catalog = crate::catalog::load(&crate::source::templates().unwrap()).unwrap();
        let files = &mut catalog.base.files;
        files.insert(
            "only-if-postgres.txt.jinja".into(),
            b"{% if database == \"postgres\" %}pg\n{% endif %}".to_vec(),
        );
        let spec = |db: &str| {
            let answers = [("database".to_owned(), vec![db.to_owned()])].into();
            crate::spec::resolve(&catalog, "app", &[&answers]).unwrap()
        };
        assert!(
            !render(&catalog, &spec("sqlite"))
                .unwrap()
                .contains_key("only-if-postgres.txt")
        );
        assert_eq!(
            render(&catalog, &spec("postgres")).unwrap()["only-if-postgres.txt"],
            b"pg\n"
        );
    }

    #[test]
    fn block_tags_leave_no_blank_lines() {
        let env = environment();
        let out = env
            .render_str(
                "a\n{% if x %}\nb\n{% endif %}\nc\n",
                minijinja::context! { x => false },
            )
            .unwrap();
        assert_eq!(out, "a\nc\n");
    }
}
