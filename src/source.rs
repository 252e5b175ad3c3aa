//! Where templates and presets come from: embedded in the binary, or a folder on disk.
//!
//! `OMNISTACK_TEMPLATES=/path/to/templates` makes the CLI read templates from disk, so template
//! authors can iterate without rebuilding omnistack. Normal use reads the embedded copy.

use std::path::Path;

use anyhow::{Context, Result};
use include_dir::{Dir, include_dir};

use crate::tree::Tree;

static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");
static PRESETS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/presets");

/// The template tree: from `OMNISTACK_TEMPLATES` when set, else the embedded copy.
pub fn templates() -> Result<Tree> {
    match std::env::var_os("OMNISTACK_TEMPLATES") {
        Some(dir) => read_dir(Path::new(&dir)).with_context(|| {
            format!(
                "reading templates from OMNISTACK_TEMPLATES={}",
                Path::new(&dir).display()
            )
        }),
        None => Ok(embedded(&TEMPLATES)),
    }
}

/// The built-in presets (`presets/*.toml`).
pub fn presets() -> Tree {
    embedded(&PRESETS)
}

fn embedded(dir: &Dir<'static>) -> Tree {
    let mut files = Tree::new();
    collect(dir, &mut files);
    files
}

fn collect(dir: &Dir<'static>, files: &mut Tree) {
    for file in dir.files() {
        files.insert(to_slash(file.path()), file.contents().to_vec());
    }
    for sub in dir.dirs() {
        collect(sub, files);
    }
}

/// Reads every regular file below `root`.
pub fn read_dir(root: &Path) -> Result<Tree> {
    let mut files = Tree::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).expect("walked below root");
                files.insert(to_slash(rel), std::fs::read(&path)?);
            }
        }
    }
    Ok(files)
}

fn to_slash(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
