//! The template language: the minijinja environment, slots (extension points), the
//! rustfmt-order filter and the mapping from template paths to project paths.
//!
//! Both the catalog (which checks templates when it loads) and the renderer use this module;
//! neither depends on the other for it.

use std::collections::BTreeMap;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, ErrorKind, State, UndefinedBehavior};

/// Context key (`__slots`) under which the renderer hands a file's slot contributions to `slot()`.
const SLOTS_KEY: &str = "__slots";

/// What an empty slot standing on a line of its own renders to: the renderer removes every
/// line that holds only this, so an unfilled slot leaves no blank line behind.
pub const EMPTY_SLOT_LINE: &str = "\u{E000}omnistack-empty-slot\u{E000}";

/// The minijinja environment every template is rendered with.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_syntax(
        SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("default delimiters are valid"),
    );
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Generated files are code and config, never HTML: no escaping by file extension.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_function("slot", slot);
    env.add_filter("rustfmt_order", rustfmt_order);
    env
}

/// Where a template path lands in the project: `.jinja` dropped, `dot-x` becomes `.x`.
pub fn output_path(template_path: &str) -> String {
    let path = template_path
        .strip_suffix(".jinja")
        .unwrap_or(template_path);
    path.split('/')
        .map(|c| match c.strip_prefix("dot-") {
            Some(rest) => format!(".{rest}"),
            None => c.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Contributions to the slots of one file: slot name → texts in catalog order.
pub type SlotFill = BTreeMap<String, Vec<String>>;

/// `{{ slot("name") }}`: the chosen providers' contributions to this extension point.
///
/// On a line of its own the call is rewritten by [`prepare`] to pass the line's indentation,
/// so contributions are written flush left in their files and land at the slot's column.
fn slot(state: &State, name: &str, kwargs: Kwargs) -> Result<String, minijinja::Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    kwargs.assert_all_used()?;
    let fills = state
        .lookup(SLOTS_KEY)
        .and_then(|v| v.get_attr(name).ok())
        .filter(|v| !v.is_undefined() && !v.is_none());
    let texts: Vec<String> = match fills {
        Some(list) => list
            .try_iter()?
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect(),
        None => Vec::new(),
    };
    let Some(indent) = indent else {
        return Ok(texts.concat());
    };
    if texts.is_empty() {
        return Ok(EMPTY_SLOT_LINE.to_owned());
    }
    let pad = " ".repeat(indent);
    let joined = texts.join("\n");
    let mut out = String::with_capacity(joined.len() + indent * 4);
    for (i, line) in joined.lines().enumerate() {
        if i > 0 {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(&pad);
            }
        }
        out.push_str(line);
    }
    Ok(out)
}

/// Rewrites each `{{ slot("name") }}` that stands alone on a line into
/// `{{ slot("name", indent=N) }}`, N being the line's indentation; line numbers are kept.
pub fn prepare(source: &str) -> String {
    let mut out = String::with_capacity(source.len() + 64);
    for line in source.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let trimmed = body.trim_start();
        let indent = body.len() - trimmed.len();
        match standalone_slot(trimmed.trim_end()) {
            Some(name) => {
                out.push_str(&body[..indent]);
                out.push_str(&format!("{{{{ slot(\"{name}\", indent={indent}) }}}}"));
                out.push_str(&line[body.len()..]);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// The slot name of a line that is exactly `{{ slot("name") }}`.
fn standalone_slot(line: &str) -> Option<&str> {
    let inner = line.strip_prefix("{{")?.strip_suffix("}}")?.trim();
    let arg = inner.strip_prefix("slot(")?.strip_suffix(')')?.trim();
    let name = arg.strip_prefix('"')?.strip_suffix('"')?;
    is_slot_name(name).then_some(name)
}

fn is_slot_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Names of the slots a template declares (`slot("name"...)` anywhere in it).
pub fn declared_slots(source: &str) -> Vec<String> {
    names_after(source, "slot(\"", |rest| {
        rest.split_once('"').map(|(n, _)| n)
    })
}

/// Names of the blocks a slots file defines (`{% block name %}`).
pub fn defined_blocks(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for tag in source.split("{%").skip(1) {
        let tag = tag.trim_start_matches(['-', '+']).trim_start();
        if let Some(rest) = tag.strip_prefix("block ") {
            let name: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

fn names_after(source: &str, prefix: &str, name: impl Fn(&str) -> Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for piece in source.split(prefix).skip(1) {
        if let Some(n) = name(piece)
            && is_slot_name(n)
            && !out.iter().any(|o| o == n)
        {
            out.push(n.to_owned());
        }
    }
    out
}

/// `{% filter rustfmt_order %}`: sorts a run of one-line items (`mod x;`, `pub mod x;`,
/// `use a::b;`) the way rustfmt orders them, so base lines and slot contributions interleave
/// without anyone sorting by hand. Every line of the block must be such an item.
fn rustfmt_order(value: &Value) -> Result<String, minijinja::Error> {
    let text = value.as_str().unwrap_or_default();
    let mut lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && l.trim() != EMPTY_SLOT_LINE)
        .collect();
    if let Some(bad) = lines.iter().find(|l| rustfmt_key(l).is_none()) {
        return Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("rustfmt_order sorts one-line `mod` and `use` items only, not `{bad}`"),
        ));
    }
    lines.sort_by_key(|l| rustfmt_key(l));
    lines.dedup();
    let mut out = lines.join("\n");
    out.push('\n');
    Ok(out)
}

/// Sort key of a one-line `mod`/`use` item: its path with visibility and keyword removed,
/// compared segment by segment (`self`, `super`, `crate` first, as rustfmt does).
fn rustfmt_key(line: &str) -> Option<(u8, Vec<(u8, String)>)> {
    let mut item = line.trim();
    for vis in ["pub(crate) ", "pub(super) ", "pub "] {
        if let Some(rest) = item.strip_prefix(vis) {
            item = rest;
        }
    }
    let (kind, path) = if let Some(rest) = item.strip_prefix("mod ") {
        (0, rest)
    } else if let Some(rest) = item.strip_prefix("use ") {
        (1, rest)
    } else {
        return None;
    };
    let path = path.strip_suffix(';')?.trim();
    let segments = path
        .split("::")
        .map(|s| {
            let rank = match s {
                "self" => 0,
                "super" => 1,
                "crate" => 2,
                _ if s.starts_with('{') => 4,
                _ => 3,
            };
            (rank, s.to_owned())
        })
        .collect();
    Some((kind, segments))
}

/// Lines (1-based) where a block tag ends the line after text: with `trim_blocks` the newline
/// after the tag is eaten and the next line is glued on (`store{% endif %}` + newline). A tag
/// that asks for it (`-%}`) and `{% endblock %}` (which ends a slot contribution) are fine.
pub fn glued_lines(source: &str) -> Vec<usize> {
    let mut out = Vec::new();
    for (i, line) in source.lines().enumerate() {
        let line = line.trim_end();
        if !line.ends_with("%}") || line.ends_with("-%}") {
            continue;
        }
        let Some(start) = line.rfind("{%") else {
            continue;
        };
        let last_tag = line[start + 2..]
            .trim_start_matches(['-', '+'])
            .trim_start();
        if last_tag.starts_with("endblock") {
            continue;
        }
        if !without_tags(&line[..start]).trim().is_empty() {
            out.push(i + 1);
        }
    }
    out
}

/// A piece of template source: plain text, or a tag with its opening kind (`%`, `{`, `#`)
/// and its body.
enum Piece<'a> {
    Text(&'a str),
    Tag(char, &'a str),
}

/// Splits template source into text and tags; an unclosed tag ends the scan.
fn pieces(source: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = source;
    // Where to look for the next `{` in `rest`: past braces that open no tag.
    let mut offset = 0;
    while let Some(found) = rest[offset..].find('{') {
        let start = offset + found;
        let close = match rest[start..].chars().nth(1) {
            Some('%') => "%}",
            Some('{') => "}}",
            Some('#') => "#}",
            _ => {
                offset = start + 1;
                continue;
            }
        };
        let kind = rest[start + 1..].chars().next().expect("matched above");
        out.push(Piece::Text(&rest[..start]));
        let Some(len) = rest[start + 2..].find(close) else {
            return out;
        };
        out.push(Piece::Tag(kind, &rest[start + 2..start + 2 + len]));
        rest = &rest[start + 2 + len + 2..];
        offset = 0;
    }
    out.push(Piece::Text(rest));
    out
}

/// `text` with every `{% %}` and `{# #}` tag removed (an expression `{{ }}` prints text).
fn without_tags(text: &str) -> String {
    pieces(text)
        .into_iter()
        .filter_map(|p| match p {
            Piece::Text(t) => Some(t.to_owned()),
            Piece::Tag('{', body) => Some(format!("{{{{{body}}}}}")),
            Piece::Tag(..) => None,
        })
        .collect()
}

/// What the expressions of a template mention: the string literals and the bare identifiers
/// (not attributes after a `.`) inside its `{% %}` and `{{ }}` tags, in order.
pub fn tag_words(source: &str) -> Vec<String> {
    let mut words = Vec::new();
    for piece in pieces(source) {
        if let Piece::Tag('%' | '{', body) = piece {
            words_of_expression(body, &mut words);
        }
    }
    words
}

/// Whether the text before a string literal ends in `caps.NAME ==` (or `!=`).
fn compares_a_capability(before: &[char]) -> bool {
    let text: String = before.iter().collect();
    let Some(rest) = text
        .trim_end()
        .strip_suffix("==")
        .or_else(|| text.trim_end().strip_suffix("!="))
    else {
        return false;
    };
    let rest = rest.trim_end();
    let name_start = rest
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
        .map_or(0, |p| p + 1);
    name_start > 0 && rest[..name_start].ends_with("caps.")
}

fn words_of_expression(expr: &str, words: &mut Vec<String>) {
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' {
            let end = chars[i + 1..]
                .iter()
                .position(|&d| d == c)
                .map_or(chars.len(), |p| i + 1 + p);
            // `caps.sql_dialect == "postgres"` names a kind (a capability's value), not the
            // provider that happens to share the word.
            if !compares_a_capability(&chars[..i]) {
                words.push(chars[i + 1..end.min(chars.len())].iter().collect());
            }
            i = end + 1;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let after_dot = start > 0 && chars[start - 1] == '.';
            if !after_dot {
                words.push(chars[start..i].iter().collect());
            }
        } else {
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_path_strips_suffix_and_maps_dot_prefix() {
        assert_eq!(
            output_path("dot-github/workflows/ci.yml.jinja"),
            ".github/workflows/ci.yml"
        );
        assert_eq!(output_path("src/main.rs"), "src/main.rs");
        assert_eq!(output_path("dot-env.example.jinja"), ".env.example");
    }

    #[test]
    fn block_tags_leave_no_blank_lines() {
        let env = environment();
        let out = env
            .render_str(
                "a\n{% if x %}\nb\n{% endif %}\nc\n",
                minijinja::context! { x => false },
            )
            .unwrap();
        assert_eq!(out, "a\nc\n");
    }

    #[test]
    fn a_standalone_slot_learns_its_indentation_and_keeps_line_numbers() {
        let src = "a\n    {{ slot(\"fields\") }}\nb {{ slot(\"inline\") }}\n";
        let prepared = prepare(src);
        assert_eq!(
            prepared,
            "a\n    {{ slot(\"fields\", indent=4) }}\nb {{ slot(\"inline\") }}\n"
        );
        assert_eq!(prepared.lines().count(), src.lines().count());
    }

    #[test]
    fn slot_indents_every_contribution_line_after_the_first() {
        let env = environment();
        let ctx = minijinja::context! {
            __slots => minijinja::context! { f => vec!["x: u8,\ny: u8,", "z: u8,"] },
        };
        let out = env
            .render_str(&prepare("{\n    {{ slot(\"f\") }}\n}\n"), ctx)
            .unwrap();
        assert_eq!(out, "{\n    x: u8,\n    y: u8,\n    z: u8,\n}\n");
    }

    #[test]
    fn an_empty_standalone_slot_renders_the_removable_marker() {
        let env = environment();
        let out = env
            .render_str(
                &prepare("a\n  {{ slot(\"none\") }}\nb\n"),
                minijinja::context! {},
            )
            .unwrap();
        assert_eq!(out, format!("a\n  {EMPTY_SLOT_LINE}\nb\n"));
    }

    #[test]
    fn rustfmt_order_sorts_mod_and_use_items_and_refuses_anything_else() {
        let env = environment();
        let sorted = env
            .render_str(
                "{% filter rustfmt_order %}\npub mod state;\nmod health;\npub mod auth;\n{% endfilter %}",
                minijinja::context! {},
            )
            .unwrap();
        assert_eq!(sorted, "pub mod auth;\nmod health;\npub mod state;\n");
        let uses = env
            .render_str(
                "{% filter rustfmt_order %}\nuse std::sync::Arc;\nuse crate::db::Db;\nuse axum::Router;\n{% endfilter %}",
                minijinja::context! {},
            )
            .unwrap();
        assert_eq!(
            uses,
            "use crate::db::Db;\nuse axum::Router;\nuse std::sync::Arc;\n"
        );
        assert!(
            env.render_str(
                "{% filter rustfmt_order %}\nfn main() {}\n{% endfilter %}",
                minijinja::context! {}
            )
            .is_err()
        );
    }

    #[test]
    fn declared_slots_and_defined_blocks_are_found() {
        assert_eq!(
            declared_slots("{{ slot(\"a\") }} x {{ slot(\"b\", indent=4) }} {{ slot(\"a\") }}"),
            ["a", "b"]
        );
        assert_eq!(
            defined_blocks("{% block fields %}x{% endblock %}\n{%- block build -%}{% endblock %}"),
            ["fields", "build"]
        );
    }

    #[test]
    fn a_block_tag_ending_a_line_after_text_is_a_glued_line() {
        let src = "a\n{% if x %}\nstore{% endif %}\n{% if y %}b{% else %}c{% endif %}\n{% endif %}\nd{%- endif -%}\n{% block m %}x{% endblock %}\n";
        assert_eq!(glued_lines(src), [3, 4]);
        assert_eq!(
            glued_lines("{{ x }}{% if y %}\n{# note #}{% if z %}\n"),
            [1]
        );
    }

    #[test]
    fn tag_words_are_the_literals_and_bare_names_of_expressions() {
        let src = "auth == \"local\" {% if auth == \"clerk\" and caps.issues_tokens %}{{ x.auth }}{{ 'oidc' }}";
        assert_eq!(
            tag_words(src),
            ["if", "auth", "clerk", "and", "caps", "x", "oidc"]
        );
        // A capability's value is a kind, not a provider id.
        let src = "{% if caps.sql_dialect == \"postgres\" or db != \"sqlite\" %}";
        assert_eq!(tag_words(src), ["if", "caps", "or", "db", "sqlite"]);
    }
}
