//! Payment plans: which named features each product or price of a provider unlocks.

use std::collections::{BTreeMap, BTreeSet};

use super::reader::EnvReader;

/// `PAYMENTS_PLANS`: plan id (a provider's price or product id) → features it grants.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PaymentsConfig {
    /// Features per plan id.
    pub plans: BTreeMap<String, BTreeSet<String>>,
}

impl PaymentsConfig {
    /// Reads `plan:feature,feature;plan:feature`; every plan needs at least one feature.
    pub(crate) fn load(
        env: &mut EnvReader<'_>,
        development: bool,
        notes: &mut Vec<String>,
    ) -> Self {
        let Some(raw) = env.get("PAYMENTS_PLANS") else {
            if development {
                notes.push("PAYMENTS_PLANS is not set: no purchase grants a feature".into());
            } else {
                env.problem(
                    "missing PAYMENTS_PLANS (needed by payments; example: price_123:pro,export)",
                );
            }
            return Self::default();
        };
        let mut plans = BTreeMap::new();
        for entry in raw.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((plan, features)) = entry.split_once(':') else {
                env.problem(format!(
                    "PAYMENTS_PLANS entry {entry:?} must be plan:feature,feature"
                ));
                continue;
            };
            let features: BTreeSet<String> = features
                .split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect();
            let valid_name = |f: &String| {
                f.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
            };
            if plan.trim().is_empty() || features.is_empty() || !features.iter().all(valid_name) {
                env.problem(format!(
                    "PAYMENTS_PLANS entry {entry:?} needs a plan id and features of a-z, 0-9, _ or -"
                ));
                continue;
            }
            plans.insert(plan.trim().to_owned(), features);
        }
        Self { plans }
    }

    /// Whether `plan` is one of the configured plans (only those can be bought).
    pub fn has_plan(&self, plan: &str) -> bool {
        self.plans.contains_key(plan)
    }

    /// The features the given plan ids grant together.
    pub fn features<'a>(&self, plan_ids: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
        plan_ids
            .into_iter()
            .filter_map(|id| self.plans.get(id))
            .flatten()
            .cloned()
            .collect()
    }
}
