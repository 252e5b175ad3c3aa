//! `render(spec) → tree`: the pure, deterministic heart of generation.
//!
//! The base layer and the chosen providers' layers are rendered with one context built from
//! the catalog; nothing here touches the file system, the clock or the environment.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow, bail};
use minijinja::value::Serde;
use minijinja::{Environment, Value};
use serde::Serialize;

use crate::catalog::{Capability, Catalog, Dependency, Kind, Layer};
use crate::spec::Spec;
use crate::template::{self, EMPTY_SLOT_LINE, SlotFill, output_path};
use crate::tree::Tree;

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

/// The layers of a spec in catalog order: base first, then each chosen provider, each
/// preceded by the shared layers it uses (and those use) that no earlier provider pulled in.
pub fn layers<'a>(catalog: &'a Catalog, spec: &Spec) -> Vec<(String, &'a Layer)> {
    let mut out = vec![("base".to_owned(), &catalog.base)];
    let mut pulled: Vec<&str> = Vec::new();
    for category in &catalog.categories {
        for provider in category
            .providers
            .iter()
            .filter(|p| spec.has(&category.id, &p.id))
        {
            pull_shared(catalog, &provider.layer.uses, &mut pulled, &mut out);
            out.push((format!("{}: {}", category.id, provider.id), &provider.layer));
        }
    }
    out
}

/// Appends the shared layers `uses` names, each after the shared layers it uses itself.
/// The catalog refuses cycles, so this terminates.
fn pull_shared<'a>(
    catalog: &'a Catalog,
    uses: &'a [String],
    pulled: &mut Vec<&'a str>,
    out: &mut Vec<(String, &'a Layer)>,
) {
    for used in uses {
        if pulled.contains(&used.as_str()) {
            continue;
        }
        if let Some(shared) = catalog.shared.get(used) {
            pulled.push(used);
            pull_shared(catalog, &shared.layer.uses, pulled, out);
            out.push((format!("shared: {used}"), &shared.layer));
        }
    }
}

/// The capabilities of a spec: each category's declared defaults, overridden by its chosen
/// providers (for multi-choice categories a flag is on when any chosen provider sets it).
pub fn capabilities(catalog: &Catalog, spec: &Spec) -> Result<BTreeMap<String, Capability>> {
    let mut caps = BTreeMap::new();
    for category in &catalog.categories {
        let mut values = category.capabilities.clone();
        for provider in category
            .providers
            .iter()
            .filter(|p| spec.has(&category.id, &p.id))
        {
            for (name, value) in &provider.capabilities {
                let slot = values.get_mut(name).expect("validated by the catalog");
                match (&*slot, value) {
                    (Capability::Boolean(a), Capability::Boolean(b)) => {
                        *slot = Capability::Boolean(*a || *b);
                    }
                    _ if *slot == category.capabilities[name] || slot == value => {
                        *slot = value.clone();
                    }
                    _ => bail!(
                        "capability {name}: the chosen {} providers disagree ({slot} and {value})",
                        category.id
                    ),
                }
            }
        }
        caps.extend(values);
    }
    Ok(caps)
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
    ctx.insert(
        "caps".into(),
        Value::from(Serde(capabilities(catalog, spec)?)),
    );
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
    let env = template::environment();
    let ctx = context(catalog, spec)?;
    let layers = layers(catalog, spec);
    let fills = slot_fills(&env, &ctx, &layers)?;
    let no_fills = SlotFill::new();
    let mut tree = Tree::new();
    for (owner, layer) in &layers {
        for (path, bytes) in &layer.files {
            let out = output_path(path);
            let content = if path.ends_with(".jinja") {
                let src = std::str::from_utf8(bytes)
                    .map_err(|_| anyhow!("{owner}: {path} is not UTF-8"))?;
                let file_ctx = minijinja::context! {
                    ..ctx.clone(),
                    ..minijinja::context! {
                        __slots => Value::from(Serde(fills.get(&out).unwrap_or(&no_fills))),
                    }
                };
                let rendered = env
                    .template_from_named_str(path, &template::prepare(src))
                    .and_then(|t| t.render(&file_ctx))
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

/// What the chosen layers put into slots: output path → slot name → contributions, in layer
/// (catalog) order. Each `slots/` file is rendered with the project's context; every block
/// in it is one contribution, trimmed of blank lines around it.
fn slot_fills(
    env: &Environment<'static>,
    ctx: &Value,
    layers: &[(String, &Layer)],
) -> Result<BTreeMap<String, SlotFill>> {
    let mut fills: BTreeMap<String, SlotFill> = BTreeMap::new();
    for (owner, layer) in layers {
        for (path, bytes) in &layer.slots {
            let src = std::str::from_utf8(bytes)
                .map_err(|_| anyhow!("{owner}: slots/{path} is not UTF-8"))?;
            let fail = |e: minijinja::Error| anyhow!("rendering slots/{path} ({owner}): {e:#}");
            let tmpl = env.template_from_named_str(path, src).map_err(fail)?;
            let mut captured = tmpl.render_captured(ctx).map_err(fail)?;
            let file = fills.entry(output_path(path)).or_default();
            for block in template::defined_blocks(src) {
                let text = captured
                    .with_state_mut(|state| state.render_block(&block))
                    .map_err(fail)?;
                let text = text.trim_start_matches('\n').trim_end();
                if !text.is_empty() {
                    file.entry(block).or_default().push(text.to_owned());
                }
            }
        }
    }
    Ok(fills)
}

/// A Cargo.toml that depends on the union of every layer's dependencies: resolving it gives
/// the superset lockfile that generated projects ship (cargo trims it to what they use).
pub fn superset_manifest(catalog: &Catalog) -> Result<String> {
    let all = catalog.layers();
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
        if line.trim_start() == EMPTY_SLOT_LINE {
            continue;
        }
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
}
