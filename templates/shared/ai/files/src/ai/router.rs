//! Which models a request goes to: the one it names, the first of the tier it names, or
//! (`auto`) the first of the tier its estimated complexity calls for; then, as fallbacks,
//! the first model of the same tier on each other provider.

use super::catalog::{ModelSpec, Tier};
use super::provider::{Message, Role};

/// What a request asks for in its `model` field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Let [`estimate_tier`] decide (`auto`, or no model given).
    Auto,
    /// The first available model of a tier (`fast`, `balanced`, `best`).
    Tier(Tier),
    /// A model of the catalog, by name.
    Model(String),
}

impl Route {
    /// Reads a request's `model` field.
    pub fn parse(model: Option<&str>) -> Self {
        match model.map(str::trim) {
            None | Some("" | "auto") => Self::Auto,
            Some(name) => name
                .parse()
                .map_or_else(|_| Self::Model(name.to_owned()), Self::Tier),
        }
    }
}

/// Why no model could be chosen.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The named model is not in the catalog of a configured provider.
    #[error("unknown model {0:?}: see GET /api/v1/app/ai/status for the available ones")]
    UnknownModel(String),
    /// No configured provider serves this tier.
    #[error("no available model of tier {0}")]
    NoModel(Tier),
}

/// Words that announce work needing a stronger model.
const REASONING_WORDS: &[&str] = &[
    "step by step",
    "analyze",
    "analyse",
    "prove",
    "derive",
    "explain why",
    "compare",
    "trade-off",
    "design",
    "architecture",
    "refactor",
    "debug",
    "optimize",
];

/// The tier `auto` picks, from points that are easy to reason about:
///
/// - prompt size (about 4 characters per token): +1 over 500 tokens, +2 over 3,000;
/// - code (a ``` fence) in the conversation: +1;
/// - reasoning words in the last user message ("step by step", "prove", "design", ...):
///   +1 each, at most +2;
/// - a long conversation (more than 6 messages): +1.
///
/// 0 points is `fast`, 1–2 `balanced`, 3 or more `best`.
pub fn estimate_tier(messages: &[Message]) -> Tier {
    let chars: usize = messages.iter().map(|m| m.content.chars().count()).sum();
    let tokens = chars / 4;
    let mut points = 0;
    if tokens > 3_000 {
        points += 2;
    } else if tokens > 500 {
        points += 1;
    }
    if messages.iter().any(|m| m.content.contains("```")) {
        points += 1;
    }
    if let Some(last) = messages.iter().rev().find(|m| m.role == Role::User) {
        let text = last.content.to_lowercase();
        let words = REASONING_WORDS.iter().filter(|w| text.contains(*w)).count();
        points += words.min(2);
    }
    if messages.len() > 6 {
        points += 1;
    }
    match points {
        0 => Tier::Fast,
        1 | 2 => Tier::Balanced,
        _ => Tier::Best,
    }
}

/// The models to try in order: the chosen one, then the first model of the same tier on
/// each other provider. `available` says which providers are configured.
pub fn candidates<'a>(
    models: &'a [ModelSpec],
    route: &Route,
    messages: &[Message],
    available: impl Fn(&str) -> bool,
) -> Result<Vec<&'a ModelSpec>, RouteError> {
    let usable: Vec<&ModelSpec> = models.iter().filter(|m| available(&m.provider)).collect();
    let first = match route {
        Route::Model(name) => usable
            .iter()
            .find(|m| m.id == *name)
            .copied()
            .ok_or_else(|| RouteError::UnknownModel(name.clone()))?,
        Route::Tier(tier) => usable
            .iter()
            .find(|m| m.tier == *tier)
            .copied()
            .ok_or(RouteError::NoModel(*tier))?,
        Route::Auto => {
            let wanted = estimate_tier(messages);
            // The nearest tier that has a model, preferring the cheaper one on a tie.
            let mut tiers = Tier::ALL;
            tiers.sort_by_key(|tier| (*tier as i8 - wanted as i8).abs());
            tiers
                .iter()
                .find_map(|tier| usable.iter().find(|m| m.tier == *tier).copied())
                .ok_or(RouteError::NoModel(wanted))?
        }
    };
    let mut chosen = vec![first];
    for model in usable.iter().filter(|m| m.tier == first.tier) {
        if chosen.iter().all(|c| c.provider != model.provider) {
            chosen.push(model);
        }
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(text: &str) -> Message {
        Message {
            role: Role::User,
            content: text.to_owned(),
        }
    }

    fn catalog() -> Vec<ModelSpec> {
        vec![
            ModelSpec::new("a", "a-small", Tier::Fast, 1, 1),
            ModelSpec::new("a", "a-mid", Tier::Balanced, 2, 2),
            ModelSpec::new("a", "a-mid-2", Tier::Balanced, 2, 2),
            ModelSpec::new("b", "b-mid", Tier::Balanced, 2, 2),
            ModelSpec::new("b", "b-large", Tier::Best, 3, 3),
            ModelSpec::new("c", "c-mid", Tier::Balanced, 2, 2),
        ]
    }

    fn ids(models: &[&ModelSpec]) -> Vec<String> {
        models.iter().map(|m| m.id.clone()).collect()
    }

    #[test]
    fn the_estimate_grows_with_size_code_and_reasoning() {
        assert_eq!(
            estimate_tier(&[user("What is the capital of France?")]),
            Tier::Fast
        );
        assert_eq!(estimate_tier(&[user(&"word ".repeat(500))]), Tier::Balanced);
        assert_eq!(
            estimate_tier(&[user("Debug this:\n```rust\nfn main() {}\n```")]),
            Tier::Balanced
        );
        let hard = format!(
            "Explain why this fails, step by step, and design a fix:\n```\n{}\n```",
            "x".repeat(2_500)
        );
        assert_eq!(estimate_tier(&[user(&hard)]), Tier::Best);
        let chat: Vec<Message> = (0..8).map(|_| user("ok")).collect();
        assert_eq!(estimate_tier(&chat), Tier::Balanced);
    }

    #[test]
    fn a_named_model_falls_back_to_its_tier_on_other_providers_only() {
        let models = catalog();
        let route = Route::parse(Some("a-mid"));
        let chosen = candidates(&models, &route, &[], |_| true).unwrap();
        assert_eq!(ids(&chosen), ["a-mid", "b-mid", "c-mid"]);
    }

    #[test]
    fn a_tier_takes_its_first_available_model() {
        let models = catalog();
        let route = Route::parse(Some("balanced"));
        let chosen = candidates(&models, &route, &[], |p| p != "a").unwrap();
        assert_eq!(ids(&chosen), ["b-mid", "c-mid"]);
        let best = candidates(&models, &Route::Tier(Tier::Best), &[], |p| p != "b");
        assert_eq!(best, Err(RouteError::NoModel(Tier::Best)));
    }

    #[test]
    fn auto_uses_the_estimate_and_the_nearest_tier_with_a_model() {
        let models = catalog();
        let short = [user("hi")];
        let chosen = candidates(&models, &Route::parse(None), &short, |_| true).unwrap();
        assert_eq!(ids(&chosen), ["a-small"]);
        // Without provider a there is no fast model: balanced is the nearest.
        let chosen =
            candidates(&models, &Route::parse(Some("auto")), &short, |p| p != "a").unwrap();
        assert_eq!(ids(&chosen), ["b-mid", "c-mid"]);
    }

    #[test]
    fn unknown_and_unavailable_models_are_refused() {
        let models = catalog();
        let route = Route::parse(Some("gpt-unknown"));
        assert!(matches!(
            candidates(&models, &route, &[], |_| true),
            Err(RouteError::UnknownModel(_))
        ));
        let route = Route::parse(Some("b-large"));
        assert!(candidates(&models, &route, &[], |p| p != "b").is_err());
    }
}
