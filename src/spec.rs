//! The resolved choices of one project, and how raw answers become one.
//!
//! Answers come from flags, a preset and prompts; `resolve` layers them (flag > preset >
//! prompt > default) and validates them against the catalog.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::catalog::{Catalog, Kind, Requirement};
use crate::usage;

/// Raw answers: category id → provider ids, as given (not yet validated).
pub type Answers = BTreeMap<String, Vec<String>>;

/// A validated project specification: the name and one entry per catalog category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub name: String,
    /// Category id → chosen provider ids, in catalog order; every category present.
    pub choices: BTreeMap<String, Vec<String>>,
}

impl Spec {
    /// Whether `provider` of `category` is chosen.
    pub fn has(&self, category: &str, provider: &str) -> bool {
        self.choices
            .get(category)
            .is_some_and(|c| c.iter().any(|p| p == provider))
    }

    /// The answers that reproduce this spec.
    pub fn answers(&self) -> Answers {
        self.choices.clone()
    }
}

/// Layers `layers` (highest precedence first) over the catalog defaults and validates.
pub fn resolve(catalog: &Catalog, name: &str, layers: &[&Answers]) -> Result<Spec> {
    crate::names::validate(name)?;
    for answers in layers {
        for key in answers.keys() {
            if catalog.category(key).is_none() {
                let valid: Vec<&str> = catalog.categories.iter().map(|c| c.id.as_str()).collect();
                return Err(usage!(
                    "unknown category \"{key}\"; valid: {}",
                    valid.join(", ")
                ));
            }
        }
    }
    let mut choices = BTreeMap::new();
    for category in &catalog.categories {
        let given = layers.iter().find_map(|a| a.get(&category.id));
        let raw: Vec<String> = match given {
            Some(list) => list
                .iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            None => category.default.clone(),
        };
        let raw: Vec<String> = if category.kind == Kind::Many && raw.iter().any(|p| p == "none") {
            if raw.len() > 1 {
                return Err(usage!(
                    "{}: \"none\" cannot be combined with other providers",
                    category.id
                ));
            }
            Vec::new()
        } else {
            raw
        };
        for id in &raw {
            if category.provider(id).is_none() {
                return Err(usage!(
                    "unknown {} provider \"{id}\"; valid: {}{}",
                    category.id,
                    category.valid_ids(),
                    if category.kind == Kind::Many {
                        ", none"
                    } else {
                        ""
                    }
                ));
            }
        }
        if category.kind == Kind::One {
            match raw.as_slice() {
                [_] => {}
                [] => {
                    return Err(usage!(
                        "{} needs a provider; valid: {}",
                        category.id,
                        category.valid_ids()
                    ));
                }
                _ => {
                    return Err(usage!(
                        "{} takes one provider, got {}; choose one of: {}",
                        category.id,
                        raw.join(", "),
                        category.valid_ids()
                    ));
                }
            }
        }
        // Catalog order, duplicates dropped: `--ai b,a,a` and `--ai a,b` are the same spec.
        let ordered: Vec<String> = category
            .providers
            .iter()
            .filter(|p| raw.contains(&p.id))
            .map(|p| p.id.clone())
            .collect();
        choices.insert(category.id.clone(), ordered);
    }
    let spec = Spec {
        name: name.to_owned(),
        choices,
    };
    check_requirements(catalog, &spec)?;
    Ok(spec)
}

fn satisfied(spec: &Spec, req: &Requirement) -> bool {
    match &req.provider {
        Some(p) => spec.has(&req.category, p),
        None => spec
            .choices
            .get(&req.category)
            .is_some_and(|c| !c.is_empty()),
    }
}

/// Every chosen provider's `requires` holds and none of its `excludes` does.
pub fn check_requirements(catalog: &Catalog, spec: &Spec) -> Result<()> {
    for category in &catalog.categories {
        for provider in category
            .providers
            .iter()
            .filter(|p| spec.has(&category.id, &p.id))
        {
            for req in &provider.requires {
                if !satisfied(spec, req) {
                    return Err(usage!(
                        "{} {} requires {req}; add it (e.g. --{} {})",
                        category.id,
                        provider.id,
                        catalog
                            .category(&req.category)
                            .map_or(req.category.as_str(), |c| c.flag.as_str()),
                        req.provider.clone().unwrap_or_else(|| "<provider>".into())
                    ));
                }
            }
            for req in &provider.excludes {
                if satisfied(spec, req) {
                    return Err(usage!(
                        "{} {} cannot be combined with {req}",
                        category.id,
                        provider.id
                    ));
                }
            }
        }
    }
    Ok(())
}
