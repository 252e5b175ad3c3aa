//! `omnistack list`: the catalog as a reader wants it.

use std::process::ExitCode;

use anyhow::Result;
use console::style;

use crate::catalog::{Catalog, Kind};

pub fn run(catalog: &Catalog) -> Result<ExitCode> {
    print!("{}", render(catalog));
    Ok(ExitCode::SUCCESS)
}

/// The listing as text (styled only when stdout is a terminal).
pub fn render(catalog: &Catalog) -> String {
    let mut out = String::new();
    for category in &catalog.categories {
        let kind = match category.kind {
            Kind::One => "choose one",
            Kind::Many => "choose any, comma-separated, or none",
        };
        out.push_str(&format!(
            "{} (--{}: {kind})\n",
            style(&category.name).bold(),
            category.flag
        ));
        for provider in &category.providers {
            let mark = if category.default.contains(&provider.id) {
                "*"
            } else {
                " "
            };
            out.push_str(&format!(
                "  {mark} {:<18} {} — {}\n",
                style(&provider.id).cyan(),
                provider.name,
                provider.description
            ));
            for var in &provider.layer.env {
                let mut tags = Vec::new();
                if var.required {
                    tags.push("required");
                }
                if var.secret {
                    tags.push("secret");
                }
                let tags = if tags.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", tags.join(", "))
                };
                out.push_str(&format!(
                    "        {}{tags}: {}\n",
                    var.name, var.description
                ));
            }
        }
        out.push('\n');
    }
    out.push_str("* = default. Every project also reads:");
    let base: Vec<&str> = catalog.base.env.iter().map(|v| v.name.as_str()).collect();
    out.push_str(&format!(" {}\n", base.join(", ")));
    out
}
