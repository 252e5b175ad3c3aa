//! Reads and validates the catalog from a template tree (see `templates/README.md`).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;

use super::{
    Capability, Catalog, Category, Dependency, EnvVar, Kind, Layer, Provider, Requirement,
    SharedLayer, TestEnv,
};
use crate::tree::Tree;

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
    #[serde(default)]
    capabilities: BTreeMap<String, Capability>,
    #[serde(default)]
    interacts_with: Vec<String>,
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
    uses: Vec<String>,
    #[serde(default)]
    capabilities: BTreeMap<String, Capability>,
    #[serde(default)]
    dependencies: BTreeMap<String, Dependency>,
    #[serde(default, rename = "dev-dependencies")]
    dev_dependencies: BTreeMap<String, Dependency>,
    #[serde(default)]
    env: Vec<EnvVar>,
    #[serde(default)]
    test_env: Vec<TestEnv>,
}

/// Loads the catalog from a template tree and checks it for consistency.
pub fn load(templates: &Tree) -> Result<Catalog> {
    let categories_src = text(templates, "categories.toml")?;
    let entries: CategoriesFile = toml::from_str(categories_src)
        .map_err(|e| anyhow!("templates/categories.toml: {}", e.message()))?;

    let (base_manifest, base) = layer(templates, "base")?;
    if base_manifest.id.is_some()
        || !base_manifest.requires.is_empty()
        || !base_manifest.excludes.is_empty()
        || !base_manifest.uses.is_empty()
        || !base_manifest.capabilities.is_empty()
    {
        bail!(
            "templates/base/manifest.toml: the base layer takes no id, requires, excludes, uses or capabilities"
        );
    }

    let declared: BTreeSet<&str> = entries.category.iter().map(|e| e.id.as_str()).collect();
    for entry in &entries.category {
        for other in &entry.interacts_with {
            if !declared.contains(other.as_str()) {
                bail!(
                    "templates/categories.toml: category \"{}\" interacts_with unknown category \"{other}\"",
                    entry.id
                );
            }
        }
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
            capabilities: entry.capabilities,
            interacts_with: entry.interacts_with,
            providers,
        });
    }

    let mut shared = BTreeMap::new();
    for id in provider_dirs(templates, "shared") {
        shared.insert(id.clone(), shared_layer(templates, &id)?);
    }

    for dir in templates.keys().filter_map(|p| p.split('/').next()) {
        if !matches!(dir, "base" | "shared")
            && !seen.contains(dir)
            && !matches!(dir, "categories.toml" | "README.md" | "Cargo.lock")
        {
            bail!("templates/{dir}: not a category listed in templates/categories.toml");
        }
    }

    let catalog = Catalog {
        base,
        categories,
        shared,
        lockfile: templates.get("Cargo.lock").cloned(),
    };
    validate(&catalog)?;
    Ok(catalog)
}

fn text<'a>(templates: &'a Tree, path: &str) -> Result<&'a str> {
    let bytes = templates
        .get(path)
        .ok_or_else(|| anyhow!("templates/{path} is missing"))?;
    std::str::from_utf8(bytes).with_context(|| format!("templates/{path} is not UTF-8"))
}

/// Provider folder names below `templates/<category>/`.
fn provider_dirs(templates: &Tree, category: &str) -> BTreeSet<String> {
    let prefix = format!("{category}/");
    templates
        .keys()
        .filter_map(|p| p.strip_prefix(&prefix))
        .filter_map(|rest| rest.split_once('/').map(|(dir, _)| dir.to_owned()))
        .collect()
}

fn layer(templates: &Tree, dir: &str) -> Result<(Manifest, Layer)> {
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
    let below = |sub: &str| -> Tree {
        let prefix = format!("{dir}/{sub}/");
        templates
            .iter()
            .filter_map(|(p, bytes)| {
                p.strip_prefix(&prefix)
                    .map(|rel| (rel.to_owned(), bytes.clone()))
            })
            .collect()
    };
    for other in templates
        .keys()
        .filter_map(|p| p.strip_prefix(&format!("{dir}/")))
    {
        if other != "manifest.toml" && !other.starts_with("files/") && !other.starts_with("slots/")
        {
            bail!("templates/{dir}/{other}: a layer holds only manifest.toml, files/ and slots/");
        }
    }
    let layer = Layer {
        dependencies: manifest.dependencies.clone(),
        dev_dependencies: manifest.dev_dependencies.clone(),
        env: manifest.env.clone(),
        next_steps: manifest.next_steps.clone(),
        uses: manifest.uses.clone(),
        files: below("files"),
        slots: below("slots"),
    };
    Ok((manifest, layer))
}

/// 1-based line number of a byte offset, for error messages.
pub fn line_of(src: &str, offset: usize) -> usize {
    src[..offset.min(src.len())].matches('\n').count() + 1
}

fn provider(templates: &Tree, category: &str, id: &str) -> Result<Provider> {
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
        capabilities: manifest.capabilities.clone(),
        test_env: manifest.test_env.clone(),
        layer,
    })
}

fn shared_layer(templates: &Tree, id: &str) -> Result<SharedLayer> {
    let dir = format!("shared/{id}");
    let (manifest, layer) = layer(templates, &dir)?;
    let here = format!("templates/{dir}/manifest.toml");
    if manifest.id.as_deref().is_some_and(|m| m != id) {
        bail!("{here}: id does not match its folder \"{id}\"");
    }
    if !manifest.requires.is_empty()
        || !manifest.excludes.is_empty()
        || !manifest.capabilities.is_empty()
        || !manifest.env.is_empty()
        || !manifest.next_steps.is_empty()
    {
        bail!(
            "{here}: a shared layer takes no requires, excludes, capabilities, env or next_steps (its providers declare those)"
        );
    }
    Ok(SharedLayer {
        id: id.to_owned(),
        description: manifest
            .description
            .clone()
            .ok_or_else(|| anyhow!("{here}: missing description"))?,
        markers: manifest.markers.clone(),
        layer,
    })
}

/// Cross-checks that the loader cannot see one manifest at a time.
fn validate(catalog: &Catalog) -> Result<()> {
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    let mut claim = |path: &str, owner: &str| -> Result<()> {
        let out = crate::template::output_path(path);
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
    for (id, shared) in &catalog.shared {
        for path in shared.layer.files.keys() {
            claim(path, &format!("shared {id}"))?;
        }
    }
    validate_capabilities(catalog)?;
    for (owner, layer) in catalog.layers() {
        for used in &layer.uses {
            if !catalog.shared.contains_key(used) {
                bail!(
                    "{owner}: uses unknown shared layer \"{used}\" (no templates/shared/{used}/)"
                );
            }
        }
    }
    for id in catalog.shared.keys() {
        let mut path = vec![id.as_str()];
        check_no_cycle(catalog, &mut path)?;
    }
    // Every template must parse, every slot contribution must name a slot of its target, and
    // dependency merges must be possible for any selection.
    let env = crate::template::environment();
    let mut slots_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (owner, layer) in catalog.layers() {
        for (path, bytes) in layer.files.iter().filter(|(p, _)| p.ends_with(".jinja")) {
            let src = std::str::from_utf8(bytes)
                .with_context(|| format!("{owner}: {path} is not UTF-8"))?;
            env.template_from_named_str(path, &crate::template::prepare(src))
                .map_err(|e| anyhow!("{owner}: template {path}: {e}"))?;
            slots_of.insert(
                crate::template::output_path(path),
                crate::template::declared_slots(src),
            );
        }
    }
    for (owner, layer) in catalog.layers() {
        for (path, bytes) in &layer.slots {
            let here = format!("{owner}: slots/{path}");
            let src = std::str::from_utf8(bytes).with_context(|| format!("{here} is not UTF-8"))?;
            env.template_from_named_str(path, src)
                .map_err(|e| anyhow!("{here}: {e}"))?;
            let target = crate::template::output_path(path);
            let Some(declared) = slots_of.get(&target) else {
                bail!("{here}: no layer renders {target} from a template, so it has no slots");
            };
            if layer
                .files
                .keys()
                .any(|p| crate::template::output_path(p) == target)
            {
                bail!("{here}: a layer fills slots of other layers' files, not of its own");
            }
            let blocks = crate::template::defined_blocks(src);
            if blocks.is_empty() {
                bail!("{here}: fills no slot (expected {{% block NAME %}} ... {{% endblock %}})");
            }
            for block in blocks {
                if !declared.contains(&block) {
                    bail!(
                        "{here}: {target} has no slot \"{block}\" (its slots: {})",
                        declared.join(", ")
                    );
                }
            }
        }
    }
    let layers = catalog.layers();
    let mut versions: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (owner, layer) in layers {
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

/// A shared layer may use others, but never (through others) itself.
fn check_no_cycle<'a>(catalog: &'a Catalog, path: &mut Vec<&'a str>) -> Result<()> {
    let last = path.last().copied().expect("path starts with a layer");
    for used in &catalog.shared[last].layer.uses {
        if path.contains(&used.as_str()) {
            bail!(
                "templates/shared: the layers use each other in a cycle: {} -> {used}",
                path.join(" -> ")
            );
        }
        path.push(used);
        check_no_cycle(catalog, path)?;
        path.pop();
    }
    Ok(())
}

/// Capabilities are declared (with defaults) per category in `categories.toml`; a provider
/// may only set declared ones, with a value of the declared type, and names are unique across
/// categories because templates see them in one `caps` map.
fn validate_capabilities(catalog: &Catalog) -> Result<()> {
    let mut declared_by: BTreeMap<&str, &str> = BTreeMap::new();
    for category in &catalog.categories {
        for name in category.capabilities.keys() {
            if let Some(other) = declared_by.insert(name, &category.id) {
                bail!(
                    "templates/categories.toml: capability \"{name}\" is declared by both {other} and {}",
                    category.id
                );
            }
        }
        for provider in &category.providers {
            for (name, value) in &provider.capabilities {
                let Some(default) = category.capabilities.get(name) else {
                    bail!(
                        "templates/{}/{}/manifest.toml: capability \"{name}\" is not declared for category {} in templates/categories.toml",
                        category.id,
                        provider.id,
                        category.id
                    );
                };
                if default.type_str() != value.type_str() {
                    bail!(
                        "templates/{}/{}/manifest.toml: capability \"{name}\" must be a {} like its default",
                        category.id,
                        provider.id,
                        default.type_str()
                    );
                }
            }
        }
    }
    Ok(())
}
