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

type Pair = ((usize, usize), (usize, usize));

/// Valid specs that together cover every feasible pair of parameter values.
///
/// Deterministic: the same catalog gives the same list, defaults preferred on ties.
pub fn pairwise(catalog: &Catalog) -> Vec<Spec> {
    let params = params(catalog);
    let n = params.len();
    let mut uncovered: BTreeSet<Pair> = BTreeSet::new();
    for i in 0..n {
        for j in i + 1..n {
            for a in 0..params[i].values.len() {
                for b in 0..params[j].values.len() {
                    uncovered.insert(((i, a), (j, b)));
                }
            }
        }
    }
    let covers = |row: &[usize], i: usize, j: usize| ((i, row[i]), (j, row[j]));
    let mut rows: Vec<Vec<usize>> = Vec::new();
    let mut specs = Vec::new();
    // A single parameter still needs each of its values once.
    if n == 1 {
        return (0..params[0].values.len())
            .filter_map(|v| to_spec(catalog, &params, &[v], &format!("combo-{}", v + 1)))
            .collect();
    }
    while let Some(&seed) = uncovered.iter().next() {
        let ((si, sa), (sj, sb)) = seed;
        let mut row: Vec<Option<usize>> = vec![None; n];
        row[si] = Some(sa);
        row[sj] = Some(sb);
        for k in 0..n {
            if row[k].is_some() {
                continue;
            }
            let mut best = (0usize, 0usize);
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
                if gain > best.0 {
                    best = (gain, v);
                }
            }
            row[k] = Some(best.1);
        }
        let row: Vec<usize> = row
            .into_iter()
            .map(|v| v.expect("every parameter set"))
            .collect();
        let name = format!("combo-{}", rows.len() + 1);
        match to_spec(catalog, &params, &row, &name) {
            Some(spec) => {
                for i in 0..n {
                    for j in i + 1..n {
                        uncovered.remove(&covers(&row, i, j));
                    }
                }
                rows.push(row);
                specs.push(spec);
            }
            // The greedy row broke a requires/excludes rule: this pair is not coverable by this
            // construction; drop it rather than loop (the invalid combination is also invalid
            // for users, who get a clear error for it).
            None => {
                uncovered.remove(&seed);
            }
        }
    }
    dedupe(specs)
}

/// Every built-in preset, then every pairwise combination that no preset already is: what the
/// render tests, the add/remove invariants and the full smoke matrix cover. Each comes with a
/// label (the preset's name, or `combo-N`) and is resolved with the project name `name`.
pub fn presets_and_pairwise(catalog: &Catalog, name: &str) -> Result<Vec<(String, Spec)>> {
    let ids: Vec<&str> = catalog.categories.iter().map(|c| c.id.as_str()).collect();
    let mut out = Vec::new();
    for preset in crate::preset::builtin(&ids)? {
        let spec = crate::spec::resolve(catalog, name, &[&preset.answers])?;
        out.push((preset.name, spec));
    }
    let mut seen: BTreeSet<_> = out.iter().map(|(_, s)| s.choices.clone()).collect();
    for combo in pairwise(catalog) {
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
}
