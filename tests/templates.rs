//! Guards over the template tree itself: base templates stay provider-neutral (slots and
//! capabilities instead of provider ids), a provider keeps to its own category, and no block
//! tag glues two rendered lines together.

use omnistack::catalog::{self, Catalog, Layer};
use omnistack::template::{glued_lines, tag_words};

fn real_catalog() -> Catalog {
    catalog::load(&omnistack::source::templates().unwrap()).unwrap()
}

/// The text files of a layer, `files/` and `slots/` alike, with their folder in the name.
fn texts(layer: &Layer) -> Vec<(String, String)> {
    let files = layer.files.iter().map(|(p, b)| (format!("files/{p}"), b));
    let slots = layer.slots.iter().map(|(p, b)| (format!("slots/{p}"), b));
    files
        .chain(slots)
        .filter_map(|(p, b)| Some((p, String::from_utf8(b.clone()).ok()?)))
        .collect()
}

/// The template sources of a layer (what minijinja reads): `.jinja` files and slots.
fn templates(layer: &Layer) -> Vec<(String, String)> {
    texts(layer)
        .into_iter()
        .filter(|(p, _)| p.ends_with(".jinja") || p.starts_with("slots/"))
        .collect()
}

#[test]
fn base_templates_name_no_provider_and_no_category_choice() {
    let catalog = real_catalog();
    let mut problems = Vec::new();
    for (path, src) in texts(&catalog.base) {
        let lower = src.to_lowercase();
        let words = if path.ends_with(".jinja") {
            tag_words(&src)
        } else {
            Vec::new()
        };
        for category in &catalog.categories {
            // `{{ auth }}` or `auth == ...` reads the chosen id: base must ask a capability.
            if words.contains(&category.id) {
                problems.push(format!(
                    "base/{path}: reads the chosen {} provider (use caps or a slot)",
                    category.id
                ));
            }
            for provider in &category.providers {
                if words.contains(&provider.id) {
                    problems.push(format!(
                        "base/{path}: names {} provider \"{}\" in a tag",
                        category.id, provider.id
                    ));
                }
                for marker in &provider.markers {
                    if lower.contains(&marker.to_lowercase()) {
                        problems.push(format!(
                            "base/{path}: contains \"{marker}\", a marker of {} {}",
                            category.id, provider.id
                        ));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn shared_layers_name_no_provider_in_their_templates() {
    let catalog = real_catalog();
    let mut problems = Vec::new();
    for (id, shared) in &catalog.shared {
        for (path, src) in templates(&shared.layer) {
            let words = tag_words(&src);
            for category in &catalog.categories {
                for provider in category.providers.iter().filter(|p| words.contains(&p.id)) {
                    problems.push(format!(
                        "shared/{id}/{path}: names {} provider \"{}\" (its providers fill slots instead)",
                        category.id, provider.id
                    ));
                }
            }
        }
        let used = catalog
            .layers()
            .iter()
            .any(|(_, layer)| layer.uses.contains(id));
        if !used {
            problems.push(format!(
                "shared/{id}: no provider uses it, so it is never generated"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_provider_names_no_other_provider_of_its_category() {
    let catalog = real_catalog();
    let mut problems = Vec::new();
    for category in &catalog.categories {
        for provider in &category.providers {
            for (path, src) in texts(&provider.layer) {
                let lower = src.to_lowercase();
                let words = if path.ends_with(".jinja") || path.starts_with("slots/") {
                    tag_words(&src)
                } else {
                    Vec::new()
                };
                for sibling in category.providers.iter().filter(|s| s.id != provider.id) {
                    let here = format!("{}/{}/{path}", category.id, provider.id);
                    if words.contains(&sibling.id) {
                        problems.push(format!("{here}: names \"{}\" in a tag", sibling.id));
                    }
                    for marker in &sibling.markers {
                        if lower.contains(&marker.to_lowercase()) {
                            problems.push(format!(
                                "{here}: contains \"{marker}\", a marker of {}",
                                sibling.id
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_block_tag_glues_two_lines_together() {
    let catalog = real_catalog();
    let mut problems = Vec::new();
    for (owner, layer) in catalog.layers() {
        for (path, src) in templates(layer) {
            for line in glued_lines(&src) {
                problems.push(format!(
                    "{owner}: {path}:{line}: a block tag ends the line after text; with trim_blocks the newline goes too"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_guards_see_a_provider_id_and_a_glued_line() {
    // The guards above pass on the real tree; this proves they would notice a regression.
    let base = "{% if auth == \"local\" %}\nx\n{% endif %}\nstore{% endif %}\n";
    assert!(tag_words(base).contains(&"local".to_owned()));
    assert!(tag_words(base).contains(&"auth".to_owned()));
    assert_eq!(glued_lines(base), [4]);
}
