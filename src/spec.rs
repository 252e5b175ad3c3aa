//! The resolved choices of one project, and how raw answers become one.
//!
//! Answers come from flags, a preset and prompts; `resolve` layers them (flag > preset >
//! prompt > default) and validates them against the catalog.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::catalog::{Catalog, Category, Kind, Requirement};
use crate::usage;

/// Raw answers: category id → provider ids, as given (not yet validated). An empty list
/// chooses no provider of a multi-choice category.
pub type Answers = BTreeMap<String, Vec<String>>;

/// What a user writes to choose no provider of a multi-choice category (`--ai none`).
pub const NONE: &str = "none";

/// What `omnistack add` / `omnistack remove` do to a spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Add providers (a single-choice category's provider is replaced).
    Add,
    /// Remove providers (a single-choice category falls back to its default).
    Remove,
}

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

    /// The chosen providers of `category` as a user writes them: the ids, or `none`.
    pub fn shown(&self, category: &str) -> Vec<&str> {
        match self.choices.get(category).map(Vec::as_slice) {
            None | Some([]) => vec![NONE],
            Some(ids) => ids.iter().map(String::as_str).collect(),
        }
    }

    /// This spec after `omnistack add` / `remove` of `providers` in `category`, validated
    /// like `new` (unknown ids, one provider for a single-choice category, requirements).
    ///
    /// Removing the provider of a single-choice category means going back to its default;
    /// removing a multi-choice category without naming providers removes all of them.
    pub fn changed(
        &self,
        catalog: &Catalog,
        category: &Category,
        providers: &[String],
        change: Change,
    ) -> Result<Spec> {
        let chosen = &self.choices[&category.id];
        let updated: Vec<String> = match (change, category.kind) {
            (Change::Add, _) if providers.is_empty() => {
                return Err(usage!(
                    "name the {} provider to add; valid: {}",
                    category.id,
                    category.valid_ids()
                ));
            }
            (Change::Add, Kind::One) => {
                if let [id] = providers
                    && chosen.contains(id)
                {
                    return Err(usage!("{} is already {id}", category.id));
                }
                providers.to_vec()
            }
            (Change::Add, Kind::Many) => {
                if let Some(id) = providers.iter().find(|id| chosen.contains(id)) {
                    return Err(usage!("{} {id} is already in the project", category.id));
                }
                chosen.iter().chain(providers).cloned().collect()
            }
            (Change::Remove, _) => {
                if let Some(id) = providers.iter().find(|id| category.provider(id).is_none()) {
                    return Err(usage!(
                        "unknown {} provider \"{id}\"; valid: {}",
                        category.id,
                        category.valid_ids()
                    ));
                }
                if category.kind == Kind::One && providers.len() > 1 {
                    return Err(usage!("{} has one provider; name it once", category.id));
                }
                let removing = if providers.is_empty() {
                    chosen.as_slice()
                } else {
                    providers
                };
                if removing.is_empty() {
                    return Err(usage!(
                        "the project has no {} provider to remove",
                        category.id
                    ));
                }
                if let Some(id) = removing.iter().find(|id| !chosen.contains(id)) {
                    return Err(match category.kind {
                        Kind::One => usage!(
                            "{} {id} is not in the project (it uses {})",
                            category.id,
                            chosen.join(", ")
                        ),
                        Kind::Many => usage!("{} {id} is not in the project", category.id),
                    });
                }
                match category.kind {
                    Kind::Many => chosen
                        .iter()
                        .filter(|id| !removing.contains(id))
                        .cloned()
                        .collect(),
                    Kind::One if category.default == *chosen => {
                        return Err(usage!(
                            "{} {} is the default and a project needs a {}; switch with `omnistack add {} <provider>` (valid: {})",
                            category.id,
                            chosen.join(", "),
                            category.id,
                            category.id,
                            category.valid_ids()
                        ));
                    }
                    Kind::One => category.default.clone(),
                }
            }
        };
        let mut answers = self.answers();
        answers.insert(category.id.clone(), updated);
        resolve(catalog, &self.name, &[&answers])
    }
}

/// Layers `layers` (highest precedence first) over the catalog defaults and validates.
pub fn resolve(catalog: &Catalog, name: &str, layers: &[&Answers]) -> Result<Spec> {
    crate::names::validate_for(catalog, name)?;
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
        let raw: Vec<String> = if category.kind == Kind::Many && raw.iter().any(|p| p == NONE) {
            if raw.len() > 1 {
                return Err(usage!(
                    "{}: \"{NONE}\" cannot be combined with other providers",
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
                        format!(", {NONE}")
                    } else {
                        String::new()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Category;

    /// The real catalog plus a multi-choice category `extra` with providers `a` and `b`.
    fn catalog() -> Catalog {
        let mut catalog = crate::catalog::load(&crate::source::templates().unwrap()).unwrap();
        let template = catalog.categories[0].providers[0].clone();
        let provider = |id: &str| crate::catalog::Provider {
            id: id.to_owned(),
            category: "extra".to_owned(),
            markers: vec![id.to_owned()],
            ..template.clone()
        };
        catalog.categories.push(Category {
            id: "extra".to_owned(),
            flag: "extra".to_owned(),
            name: "Extra".to_owned(),
            kind: Kind::Many,
            default: vec![],
            prompt: "Extras?".to_owned(),
            capabilities: BTreeMap::new(),
            interacts_with: vec![],
            providers: vec![provider("a"), provider("b")],
        });
        catalog
    }

    fn change(
        catalog: &Catalog,
        spec: &Spec,
        category: &str,
        ids: &[&str],
        c: Change,
    ) -> Result<Spec> {
        let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        spec.changed(catalog, catalog.category(category).unwrap(), &ids, c)
    }

    #[test]
    fn add_and_remove_on_a_multi_choice_category() {
        let catalog = catalog();
        let start = resolve(&catalog, "app", &[]).unwrap();
        assert_eq!(start.shown("extra"), vec![NONE]);
        let both = change(&catalog, &start, "extra", &["b", "a"], Change::Add).unwrap();
        assert_eq!(both.choices["extra"], vec!["a", "b"]);
        assert_eq!(both.shown("extra"), vec!["a", "b"]);
        let err = change(&catalog, &both, "extra", &["a"], Change::Add).unwrap_err();
        assert_eq!(err.to_string(), "extra a is already in the project");
        let only_b = change(&catalog, &both, "extra", &["a"], Change::Remove).unwrap();
        assert_eq!(only_b.choices["extra"], vec!["b"]);
        let err = change(&catalog, &only_b, "extra", &["a"], Change::Remove).unwrap_err();
        assert_eq!(err.to_string(), "extra a is not in the project");
        let err = change(&catalog, &only_b, "extra", &["c"], Change::Remove).unwrap_err();
        assert_eq!(err.to_string(), "unknown extra provider \"c\"; valid: a, b");
        // Naming no provider removes them all.
        assert_eq!(
            change(&catalog, &both, "extra", &[], Change::Remove).unwrap(),
            start
        );
        let err = change(&catalog, &start, "extra", &[], Change::Remove).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the project has no extra provider to remove"
        );
    }

    #[test]
    fn a_single_choice_category_is_replaced_and_removed_back_to_its_default() {
        let catalog = catalog();
        let start = resolve(&catalog, "app", &[]).unwrap();
        let default = start.choices["database"][0].clone();
        let other = &catalog.category("database").unwrap().providers[1].id;
        let switched = change(&catalog, &start, "database", &[other], Change::Add).unwrap();
        assert_eq!(switched.choices["database"], vec![other.clone()]);
        let err = change(&catalog, &switched, "database", &[other], Change::Add).unwrap_err();
        assert_eq!(err.to_string(), format!("database is already {other}"));
        let err = change(
            &catalog,
            &start,
            "database",
            &[other, &default],
            Change::Add,
        );
        assert!(
            err.unwrap_err()
                .to_string()
                .contains("database takes one provider")
        );
        assert_eq!(
            change(&catalog, &switched, "database", &[], Change::Remove).unwrap(),
            start
        );
        let err = change(&catalog, &start, "database", &[], Change::Remove).unwrap_err();
        assert!(
            err.to_string()
                .contains("is the default and a project needs a database")
        );
        let err = change(&catalog, &start, "database", &[other], Change::Remove).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("database {other} is not in the project (it uses {default})")
        );
    }
}
