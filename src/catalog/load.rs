//! Reads and validates the catalog from a template tree (see `templates/README.md`).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;

use super::{Catalog, Category, Dependency, EnvVar, Kind, Layer, Provider, Requirement};
use crate::source::Files;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoriesFile {
    category: Vec<CategoryEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryEntry {
    id: String,
    flag: String,
    name: String,
    kind: Kind,
    default: Vec<String>,
    prompt: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    id: Option<String>,
    name: Option<String>,
    description: Option<String>,
    #[serde(default)]
    requires: Vec<String>,
    #[serde(default)]
    excludes: Vec<String>,
    #[serde(default)]
    next_steps: Vec<String>,
    #[serde(default)]
    markers: Vec<String>,
    #[serde(default)]
    dependencies: BTreeMap<String, Dependency>,
    #[serde(default, rename = "dev-dependencies")]
    dev_dependencies: BTreeMap<String, Dependency>,
    #[serde(default)]
    env: Vec<EnvVar>,
}

/// Loads the catalog from a template tree and checks it for consistency.
pub fn load(templates: &Files) -> Result<Catalog> {
    let categories_src = text(templates, "categories.toml")?;
    let entries: CategoriesFile = toml::from_str(categories_src)
        .map_err(|e| anyhow!("templates/categories.toml: {}", e.message()))?;

    let (base_manifest, base) = layer(templates, "base")?;
    if base_manifest.id.is_some()
        || !base_manifest.requires.is_empty()
        || !base_manifest.excludes.is_empty()
    {
        bail!("templates/base/manifest.toml: the base layer takes no id, requires or excludes");
    }

    let mut categories = Vec::new();
    let mut seen = BTreeSet::new();
    for entry in entries.category {
        if !seen.insert(entry.id.clone()) {
            bail!(
                "templates/categories.toml: duplicate category id \"{}\"",
                entry.id
            );
        }
        let mut providers = Vec::new();
        for provider_id in provider_dirs(templates, &entry.id) {
            providers.push(provider(templates, &entry.id, &provider_id)?);
        }
        if providers.is_empty() {
            continue;
        }
        // Deterministic catalog order: defaults first (in their order), then by id.
        providers.sort_by_key(|p| {
            (
                entry
                    .default
                    .iter()
                    .position(|d| *d == p.id)
                    .unwrap_or(usize::MAX),
                p.id.clone(),
            )
        });
        categories.push(Category {
            id: entry.id,
            flag: entry.flag,
            name: entry.name,
            kind: entry.kind,
            default: entry.default,
            prompt: entry.prompt,
            providers,
        });
    }

    for dir in templates.keys().filter_map(|p| p.split('/').next()) {
        if dir != "base"
            && !seen.contains(dir)
            && !matches!(dir, "categories.toml" | "README.md" | "Cargo.lock")
        {
            bail!("templates/{dir}: not a category listed in templates/categories.toml");
        }
    }

    let catalog = Catalog {
        base,
        categories,
        lockfile: templates.get("Cargo.lock").cloned(),
    };
    validate(&catalog)?;
    Ok(catalog)
}

fn text<'a>(templates: &'a Files, path: &str) -> Result<&'a str> {
    let bytes = templates
        .get(path)
        .ok_or_else(|| anyhow!("templates/{path} is missing"))?;
    std::str::from_utf8(bytes).with_context(|| format!("templates/{path} is not UTF-8"))
}

/// Provider folder names below `templates/<category>/`.
fn provider_dirs(templates: &Files, category: &str) -> BTreeSet<String> {
    let prefix = format!("{category}/");
    templates
        .keys()
        .filter_map(|p| p.strip_prefix(&prefix))
        .filter_map(|rest| rest.split_once('/').map(|(dir, _)| dir.to_owned()))
        .collect()
}

fn layer(templates: &Files, dir: &str) -> Result<(Manifest, Layer)> {
    let path = format!("{dir}/manifest.toml");
    let manifest: Manifest = toml::from_str(text(templates, &path)?).map_err(|e| {
        let line = e.span().map(|s| {
            format!(
                " (line {})",
                line_of(text(templates, &path).unwrap_or(""), s.start)
            )
        });
        anyhow!(
            "templates/{path}{}: {}",
            line.unwrap_or_default(),
            e.message()
        )
    })?;
    let prefix = format!("{dir}/files/");
    let files: Files = templates
        .iter()
        .filter_map(|(p, bytes)| {
            p.strip_prefix(&prefix)
                .map(|rel| (rel.to_owned(), bytes.clone()))
        })
        .collect();
    for other in templates
        .keys()
        .filter_map(|p| p.strip_prefix(&format!("{dir}/")))
    {
        if other != "manifest.toml" && !other.starts_with("files/") {
            bail!("templates/{dir}/{other}: a layer holds only manifest.toml and files/");
        }
    }
    let layer = Layer {
        dependencies: manifest.dependencies.clone(),
        dev_dependencies: manifest.dev_dependencies.clone(),
        env: manifest.env.clone(),
        next_steps: manifest.next_steps.clone(),
        files,
    };
    Ok((manifest, layer))
}

/// 1-based line number of a byte offset, for error messages.
pub fn line_of(src: &str, offset: usize) -> usize {
    src[..offset.min(src.len())].matches('\n').count() + 1
}

fn provider(templates: &Files, category: &str, id: &str) -> Result<Provider> {
    let dir = format!("{category}/{id}");
    let (manifest, layer) = layer(templates, &dir)?;
    let here = format!("templates/{dir}/manifest.toml");
    match &manifest.id {
        Some(m) if m == id => {}
        Some(m) => bail!("{here}: id \"{m}\" does not match its folder \"{id}\""),
        None => bail!("{here}: missing id"),
    }
    let name = manifest
        .name
        .clone()
        .ok_or_else(|| anyhow!("{here}: missing name"))?;
    let description = manifest
        .description
        .clone()
        .ok_or_else(|| anyhow!("{here}: missing description"))?;
    let parse = |list: &[String]| -> Result<Vec<Requirement>> {
        list.iter()
            .map(|r| match r.split_once(':') {
                Some((c, p)) => Ok(Requirement {
                    category: c.to_owned(),
                    provider: Some(p.to_owned()),
                }),
                None if !r.is_empty() => Ok(Requirement {
                    category: r.clone(),
                    provider: None,
                }),
                None => bail!("{here}: empty requirement"),
            })
            .collect()
    };
    Ok(Provider {
        id: id.to_owned(),
        category: category.to_owned(),
        name,
        description,
        requires: parse(&manifest.requires)?,
        excludes: parse(&manifest.excludes)?,
        markers: if manifest.markers.is_empty() {
            vec![id.to_owned()]
        } else {
            manifest.markers.clone()
        },
        layer,
    })
}

/// Cross-checks that the loader cannot see one manifest at a time.
fn validate(catalog: &Catalog) -> Result<()> {
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    let mut claim = |path: &str, owner: &str| -> Result<()> {
        let out = crate::render::output_path(path);
        if let Some(previous) = owners.insert(out.clone(), owner.to_owned()) {
            bail!("{out} is shipped by both {previous} and {owner}: shared files belong in base");
        }
        Ok(())
    };
    for path in catalog.base.files.keys() {
        claim(path, "base")?;
    }
    for category in &catalog.categories {
        for id in &category.default {
            if category.provider(id).is_none() {
                bail!(
                    "category {}: default \"{id}\" is not a provider (valid: {})",
                    category.id,
                    category.valid_ids()
                );
            }
        }
        if category.kind == Kind::One && category.default.len() != 1 {
            bail!(
                "category {}: a single-choice category needs exactly one default",
                category.id
            );
        }
        for provider in &category.providers {
            for path in provider.layer.files.keys() {
                claim(path, &format!("{} {}", category.id, provider.id))?;
            }
            for req in provider.requires.iter().chain(&provider.excludes) {
                let Some(target) = catalog.category(&req.category) else {
                    bail!(
                        "{} {}: requirement on unknown category \"{}\"",
                        category.id,
                        provider.id,
                        req.category
                    );
                };
                if let Some(p) = &req.provider
                    && target.provider(p).is_none()
                {
                    bail!(
                        "{} {}: requirement on unknown provider {} {p}",
                        category.id,
                        provider.id,
                        req.category
                    );
                }
            }
        }
    }
    // Every template must parse, and dependency merges must be possible for any selection.
    let env = crate::render::environment();
    let layers = std::iter::once(("base".to_owned(), &catalog.base)).chain(
        catalog.categories.iter().flat_map(|c| {
            c.providers
                .iter()
                .map(move |p| (format!("{} {}", c.id, p.id), &p.layer))
        }),
    );
    let mut versions: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (owner, layer) in layers {
        for (path, bytes) in layer.files.iter().filter(|(p, _)| p.ends_with(".jinja")) {
            let src = std::str::from_utf8(bytes)
                .with_context(|| format!("{owner}: {path} is not UTF-8"))?;
            env.template_from_named_str(path, src)
                .map_err(|e| anyhow!("{owner}: template {path}: {e}"))?;
        }
        for (name, dep) in layer.dependencies.iter().chain(&layer.dev_dependencies) {
            if let Some((v, first)) = versions.get(name)
                && *v != dep.version
            {
                bail!(
                    "dependency {name}: {first} wants \"{v}\" but {owner} wants \"{}\"",
                    dep.version
                );
            }
            versions.insert(name.clone(), (dep.version.clone(), owner.clone()));
        }
    }
    Ok(())
}
