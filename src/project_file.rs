//! `omnistack.toml`: the answers and generator version recorded at a generated project's root.

use crate::catalog::Catalog;
use crate::spec::Spec;

/// The file name at the root of every generated project.
pub const FILE_NAME: &str = "omnistack.toml";

/// Renders the file; it is also a valid preset (`omnistack new --preset ./omnistack.toml`).
pub fn render(catalog: &Catalog, spec: &Spec) -> String {
    let mut out = String::new();
    out.push_str("# Written by omnistack: the choices this project was generated with.\n");
    out.push_str(
        "# `omnistack add` / `omnistack remove` read and update it; keep it in version control.\n",
    );
    out.push_str(
        "# `omnistack new --preset ./omnistack.toml` generates the same project again.\n\n",
    );
    out.push_str("[omnistack]\n");
    out.push_str(&format!("version = \"{}\"\n\n", crate::VERSION));
    out.push_str("[project]\n");
    out.push_str(&format!("name = \"{}\"\n\n", spec.name));
    out.push_str("[answers]\n");
    for category in &catalog.categories {
        let ids = spec
            .choices
            .get(&category.id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let value = match (category.kind, ids) {
            (crate::catalog::Kind::One, [one]) => format!("\"{one}\""),
            _ => format!(
                "[{}]",
                ids.iter()
                    .map(|i| format!("\"{i}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        out.push_str(&format!("{} = {value}\n", category.id));
    }
    out
}
