//! Interactive questions (dialoguer), asked only on a terminal without `--yes`.

use std::io::IsTerminal;

use anyhow::Result;
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Input, MultiSelect, Select};

use crate::catalog::{Catalog, Category, Kind};

/// Prompts run only when both stdin and stderr (where dialoguer draws) are terminals.
pub fn is_interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks for the project name until it is valid (for this catalog's dependencies too).
pub fn project_name(catalog: &Catalog) -> Result<String> {
    Ok(Input::<String>::with_theme(&ColorfulTheme::default())
        .with_prompt("Project name")
        .validate_with(|name: &String| {
            crate::names::validate_for(catalog, name).map_err(|e| e.to_string())
        })
        .interact_text()?)
}

/// Asks one category; returns the chosen provider ids.
pub fn category(category: &Category) -> Result<Vec<String>> {
    let theme = ColorfulTheme::default();
    let items: Vec<String> = category
        .providers
        .iter()
        .map(|p| format!("{} — {}", p.id, p.description))
        .collect();
    match category.kind {
        Kind::One => {
            let default = category
                .providers
                .iter()
                .position(|p| category.default.contains(&p.id))
                .unwrap_or(0);
            let index = Select::with_theme(&theme)
                .with_prompt(&category.prompt)
                .items(&items)
                .default(default)
                .interact()?;
            Ok(vec![category.providers[index].id.clone()])
        }
        Kind::Many => {
            let defaults: Vec<bool> = category
                .providers
                .iter()
                .map(|p| category.default.contains(&p.id))
                .collect();
            let picked = MultiSelect::with_theme(&theme)
                .with_prompt(format!(
                    "{} (space toggles, enter confirms)",
                    category.prompt
                ))
                .items(&items)
                .defaults(&defaults)
                .interact()?;
            Ok(picked
                .into_iter()
                .map(|i| category.providers[i].id.clone())
                .collect())
        }
    }
}
