//! A tree of files in memory: the template tree, a layer's files, a rendered project.

use std::collections::BTreeMap;

/// Files by path relative to their root ("/" separated), sorted.
pub type Tree = BTreeMap<String, Vec<u8>>;

/// A tree from (path, text) pairs, for unit tests.
#[cfg(test)]
pub(crate) fn from_text(files: &[(&str, &str)]) -> Tree {
    files
        .iter()
        .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
        .collect()
}
