//! Pairwise-covering sets of provider combinations, computed from the catalog.
//!
//! The smoke matrix cannot build every combination, but most integration bugs involve two
//! choices; covering every valid pair of (category choice, category choice) finds them with a
//! handful of projects. Single-choice categories are one parameter each; every provider of a
//! multi-choice category is an on/off parameter.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;

use crate::catalog::{Catalog, Kind};
use crate::spec::{Answers, Spec};

#[derive(Debug, Clone)]
struct Param {
    category: String,
    /// For multi-choice categories: the provider this on/off parameter stands for.
    provider: Option<String>,
    /// Value labels: provider ids, or "on"/"off".
    values: Vec<String>,
}

fn params(catalog: &Catalog) -> Vec<Param> {
    let mut out = Vec::new();
    for category in &catalog.categories {
        match category.kind {
            Kind::One => out.push(Param {
                category: category.id.clone(),
                provider: None,
                values: category.providers.iter().map(|p| p.id.clone()).collect(),
            }),
            Kind::Many => {
                for p in &category.providers {
                    let default_on = category.default.contains(&p.id);
                    let values = if default_on {
                        ["on", "off"]
                    } else {
                        ["off", "on"]
                    };
                    out.push(Param {
                        category: category.id.clone(),
                        provider: Some(p.id.clone()),
                        values: values.iter().map(|s| s.to_string()).collect(),
                    });
                }
            }
        }
    }
    out
}

fn to_spec(catalog: &Catalog, params: &[Param], row: &[usize], name: &str) -> Option<Spec> {
    let mut answers = Answers::new();
    for (param, &v) in params.iter().zip(row) {
        let entry = answers.entry(param.category.clone()).or_default();
        match &param.provider {
            None => entry.push(param.values[v].clone()),
            Some(p) if param.values[v] == "on" => entry.push(p.clone()),
            Some(_) => {}
        }
    }
    crate::spec::resolve(catalog, name, &[&answers]).ok()
}

type Value = (usize, usize);

/// A greedy row can break a `requires`/`excludes` rule its seed does not (a platform that
/// needs the container image, with the image switched off to cover another pair): the first
/// single change of a parameter outside the seed, in catalog order, that makes it valid.
fn repair(
    catalog: &Catalog,
    params: &[Param],
    row: &mut [usize],
    seed: &[Value],
    name: &str,
) -> Option<Spec> {
    for k in (0..params.len()).filter(|k| seed.iter().all(|&(i, _)| i != *k)) {
        let before = row[k];
        for v in (0..params[k].values.len()).filter(|&v| v != before) {
            row[k] = v;
            if let Some(spec) = to_spec(catalog, params, row, name) {
                return Some(spec);
            }
        }
        row[k] = before;
    }
    // Two rules broken at once (a platform that excludes the database of the seed, and one
    // that needs the image switched off): move parameters outside the seed back to their
    // default one by one, keeping each move, until the row is valid.
    for k in (0..params.len()).filter(|k| seed.iter().all(|&(i, _)| i != *k)) {
        row[k] = default_value(catalog, &params[k]);
        if let Some(spec) = to_spec(catalog, params, row, name) {
            return Some(spec);
        }
    }
    None
}

/// Index of the parameter's default: the category's default provider, or the default
/// on/off state (listed first) of a multi-choice provider.
fn default_value(catalog: &Catalog, param: &Param) -> usize {
    if param.provider.is_some() {
        return 0;
    }
    catalog
        .categories
        .iter()
        .find(|c| c.id == param.category)
        .and_then(|c| c.default.first())
        .and_then(|d| param.values.iter().position(|v| v == d))
        .unwrap_or(0)
}
type Pair = (Value, Value);

/// Valid specs that together cover every feasible pair of parameter values.
///
/// Deterministic: the same catalog gives the same list, defaults preferred on ties.
pub fn pairwise(catalog: &Catalog) -> Vec<Spec> {
    covering(catalog, |_, _| true)
}

/// Valid specs that cover every value of every parameter at least once, and every feasible
/// pair of values of parameters whose categories `pair_needed` says meet.
fn covering(catalog: &Catalog, pair_needed: impl Fn(&Param, &Param) -> bool) -> Vec<Spec> {
    let params = params(catalog);
    let n = params.len();
    let mut uncovered: BTreeSet<Pair> = BTreeSet::new();
    let mut unseen: BTreeSet<Value> = BTreeSet::new();
    for i in 0..n {
        unseen.extend((0..params[i].values.len()).map(|a| (i, a)));
        for j in i + 1..n {
            if !pair_needed(&params[i], &params[j]) {
                continue;
            }
            for a in 0..params[i].values.len() {
                for b in 0..params[j].values.len() {
                    uncovered.insert(((i, a), (j, b)));
                }
            }
        }
    }
    let mut specs = Vec::new();
    loop {
        // Seed a row with an uncovered pair, else with a value no row has had yet.
        let seed: Vec<Value> = match uncovered.iter().next() {
            Some(&(a, b)) => vec![a, b],
            None => match unseen.iter().next() {
                Some(&v) => vec![v],
                None => break,
            },
        };
        let mut row: Vec<Option<usize>> = vec![None; n];
        for &(i, a) in &seed {
            row[i] = Some(a);
        }
        for k in 0..n {
            if row[k].is_some() {
                continue;
            }
            // The value covering the most uncovered pairs with the values chosen so far; a
            // value not seen yet breaks ties; the first (default) value otherwise.
            let mut best = ((0usize, false), 0usize);
            for v in 0..params[k].values.len() {
                let gain = (0..n)
                    .filter_map(|m| row[m].map(|mv| (m, mv)))
                    .filter(|&(m, mv)| {
                        let pair = if m < k {
                            ((m, mv), (k, v))
                        } else {
                            ((k, v), (m, mv))
                        };
                        uncovered.contains(&pair)
                    })
                    .count();
                let score = (gain, unseen.contains(&(k, v)));
                if score > best.0 {
                    best = (score, v);
                }
            }
            row[k] = Some(best.1);
        }
        let mut row: Vec<usize> = row
            .into_iter()
            .map(|v| v.expect("every parameter set"))
            .collect();
        let name = format!("combo-{}", specs.len() + 1);
        let spec = to_spec(catalog, &params, &row, &name)
            .or_else(|| repair(catalog, &params, &mut row, &seed, &name));
        match spec {
            Some(spec) => {
                for i in 0..n {
                    unseen.remove(&(i, row[i]));
                    for j in i + 1..n {
                        uncovered.remove(&((i, row[i]), (j, row[j])));
                    }
                }
                specs.push(spec);
            }
            // The greedy row broke a requires/excludes rule: this seed is not coverable by
            // this construction; drop it rather than loop (the invalid combination is also
            // invalid for users, who get a clear error for it).
            None => match seed[..] {
                [a, b] => {
                    uncovered.remove(&(a, b));
                }
                _ => {
                    unseen.remove(&seed[0]);
                }
            },
        }
    }
    dedupe(specs)
}

/// What the full smoke matrix builds: every built-in preset, then combinations covering every
/// provider (each on and off, for multi-choice categories) at least once and every pair of
/// choices across categories that interact (`interacts_with` in `categories.toml`). Pairs of
/// categories whose code never meets (where files are stored and which platform deploys the
/// app, say) are left out: building them would multiply the matrix without testing anything
/// the single choices do not. The render tests still cover the full pairwise set.
pub fn smoke_set(catalog: &Catalog, name: &str) -> Result<Vec<(String, Spec)>> {
    let interacting = covering(catalog, |a, b| catalog.interact(&a.category, &b.category));
    with_presets(catalog, name, interacting)
}

/// Every built-in preset, then every pairwise combination that no preset already is: what the
/// render tests, the add/remove invariants and the full smoke matrix cover. Each comes with a
/// label (the preset's name, or `combo-N`) and is resolved with the project name `name`.
pub fn presets_and_pairwise(catalog: &Catalog, name: &str) -> Result<Vec<(String, Spec)>> {
    with_presets(catalog, name, pairwise(catalog))
}

fn with_presets(catalog: &Catalog, name: &str, combos: Vec<Spec>) -> Result<Vec<(String, Spec)>> {
    let ids: Vec<&str> = catalog.categories.iter().map(|c| c.id.as_str()).collect();
    let mut out = Vec::new();
    for preset in crate::preset::builtin(&ids)? {
        let spec = crate::spec::resolve(catalog, name, &[&preset.answers])?;
        out.push((preset.name, spec));
    }
    let mut seen: BTreeSet<_> = out.iter().map(|(_, s)| s.choices.clone()).collect();
    for combo in combos {
        if seen.insert(combo.choices.clone()) {
            let spec = crate::spec::resolve(catalog, name, &[&combo.answers()])?;
            out.push((combo.name, spec));
        }
    }
    Ok(out)
}

fn dedupe(specs: Vec<Spec>) -> Vec<Spec> {
    let mut seen: BTreeSet<BTreeMap<String, Vec<String>>> = BTreeSet::new();
    specs
        .into_iter()
        .filter(|s| seen.insert(s.choices.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_every_provider_of_every_category() {
        let catalog = crate::catalog::load(&crate::source::templates().unwrap()).unwrap();
        let specs = pairwise(&catalog);
        for category in &catalog.categories {
            for provider in &category.providers {
                assert!(
                    specs.iter().any(|s| s.has(&category.id, &provider.id)),
                    "{} {} not covered",
                    category.id,
                    provider.id
                );
            }
        }
    }

    #[test]
    fn presets_come_first_and_no_combination_twice() {
        let catalog = crate::catalog::load(&crate::source::templates().unwrap()).unwrap();
        let all = presets_and_pairwise(&catalog, "app").unwrap();
        assert_eq!(all[0].0, "minimal");
        let choices: BTreeSet<_> = all.iter().map(|(_, s)| &s.choices).collect();
        assert_eq!(choices.len(), all.len());
        assert!(all.iter().all(|(_, s)| s.name == "app"));
    }

    /// `(category, provider, on)` pairs a spec contains, one per parameter value.
    fn values(catalog: &Catalog, spec: &Spec) -> Vec<(String, String, bool)> {
        let mut out = Vec::new();
        for c in &catalog.categories {
            for p in &c.providers {
                let on = spec.has(&c.id, &p.id);
                if c.kind == Kind::Many || on {
                    out.push((c.id.clone(), p.id.clone(), on));
                }
            }
        }
        out
    }

    #[test]
    fn smoke_set_covers_every_choice_and_every_interacting_pair() {
        let catalog = crate::catalog::load(&crate::source::templates().unwrap()).unwrap();
        let smoke: Vec<Spec> = smoke_set(&catalog, "app")
            .unwrap()
            .into_iter()
            .map(|(_, s)| s)
            .collect();
        let full = pairwise(&catalog);
        let has =
            |specs: &[Spec], a: &(String, String, bool), b: Option<&(String, String, bool)>| {
                specs.iter().any(|s| {
                    let v = values(&catalog, s);
                    v.contains(a) && b.is_none_or(|b| v.contains(b))
                })
            };
        // Every value the full pairwise set has (each provider; on and off where optional).
        for spec in &full {
            let v = values(&catalog, spec);
            for a in &v {
                assert!(has(&smoke, a, None), "{a:?} never built by the smoke set");
            }
            // Every pair the full set shows feasible, where the two categories interact.
            for (i, a) in v.iter().enumerate() {
                for b in &v[i + 1..] {
                    let same_param = a.0 == b.0 && a.1 == b.1;
                    if !same_param && catalog.interact(&a.0, &b.0) {
                        assert!(has(&smoke, a, Some(b)), "{a:?} with {b:?} never built");
                    }
                }
            }
        }
        assert!(smoke.len() <= full.len() + 1);
    }

    #[test]
    fn interactions_are_symmetric_and_name_real_categories() {
        let catalog = crate::catalog::load(&crate::source::templates().unwrap()).unwrap();
        assert!(catalog.interact("database", "auth"));
        assert!(catalog.interact("auth", "database"));
        let mut broken = crate::source::templates().unwrap();
        let text = String::from_utf8(broken["categories.toml"].clone()).unwrap();
        let text = text.replacen(
            "interacts_with = [\"auth\", \"cache\"]",
            "interacts_with = [\"cahce\"]",
            1,
        );
        broken.insert("categories.toml".into(), text.into_bytes());
        let err = crate::catalog::load(&broken).unwrap_err().to_string();
        assert!(err.contains("unknown category \"cahce\""), "{err}");
    }
}
