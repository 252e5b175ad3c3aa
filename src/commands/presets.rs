//! `omnistack presets`: each built-in preset and the choices it resolves to.

use std::process::ExitCode;

use anyhow::Result;
use console::style;

use crate::catalog::Catalog;

pub fn run(catalog: &Catalog) -> Result<ExitCode> {
    for preset in crate::preset::builtin(&super::category_ids(catalog))? {
        let spec = crate::spec::resolve(catalog, "app", &[&preset.answers])?;
        println!("{} — {}", style(&preset.name).bold(), preset.description);
        for category in &catalog.categories {
            println!(
                "    {:<14} {}",
                category.id,
                spec.shown(&category.id).join(", ")
            );
        }
        println!();
    }
    println!(
        "Use one with `omnistack new NAME --preset NAME`, or pass a file: `--preset ./my-preset.toml`."
    );
    Ok(ExitCode::SUCCESS)
}
