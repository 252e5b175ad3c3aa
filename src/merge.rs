//! Applying a new spec to a project the user has edited: the three-way file plan and its write.
//!
//! The base is the tree the recorded spec renders (same omnistack version, so byte-identical to
//! what was generated); "theirs" is the tree of the new spec; "ours" is what is on disk.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result};

use crate::tree::Tree;
use crate::usage;

/// What happens to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// New file, written.
    Added,
    /// Untouched by the user: replaced with the new rendering.
    Updated,
    /// Edited by the user and changed by the new spec: merged cleanly.
    Merged,
    /// Edited by the user in the same lines the new spec changes: written with markers.
    Conflicted,
    /// No longer generated and untouched: deleted.
    Removed,
    /// No longer generated but edited by the user: left in place.
    KeptEdited,
    /// The user deleted it and the new spec changes it: left deleted.
    KeptDeleted,
}

impl Action {
    pub fn label(self) -> &'static str {
        match self {
            Action::Added => "added",
            Action::Updated => "updated",
            Action::Merged => "merged",
            Action::Conflicted => "CONFLICT",
            Action::Removed => "removed",
            Action::KeptEdited => "kept (edited by you, no longer generated)",
            Action::KeptDeleted => "left deleted (you deleted it)",
        }
    }
}

/// One planned change; `content` is what to write (`None`: delete or leave alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: String,
    pub action: Action,
    pub before: Option<Vec<u8>>,
    pub after: Option<Vec<u8>>,
}

impl FileChange {
    /// Whether applying this change touches the disk.
    pub fn writes(&self) -> bool {
        self.before != self.after
    }
}

/// Plans every path of `base ∪ new` against what is on `disk` (`None` = absent).
///
/// Paths whose outcome leaves the disk as it is are omitted.
pub fn plan(base: &Tree, new: &Tree, disk: &BTreeMap<String, Option<Vec<u8>>>) -> Vec<FileChange> {
    let paths: BTreeSet<&String> = base.keys().chain(new.keys()).collect();
    let mut out = Vec::new();
    for path in paths {
        let before = disk.get(path).cloned().flatten();
        let change = |action, after: Option<Vec<u8>>| FileChange {
            path: path.clone(),
            action,
            before: before.clone(),
            after,
        };
        let planned = match (base.get(path), new.get(path), &before) {
            (_, Some(n), Some(d)) if d == n => None,
            (Some(b), Some(n), _) if b == n => None,
            (Some(_), Some(_), None) => Some(change(Action::KeptDeleted, None)),
            (Some(b), Some(n), Some(d)) if d == b => Some(change(Action::Updated, Some(n.clone()))),
            (Some(b), Some(n), Some(d)) => Some(merge(b, d, n, change)),
            (None, Some(n), None) => Some(change(Action::Added, Some(n.clone()))),
            // The user created a file at a path the new spec now generates: merge from empty.
            (None, Some(n), Some(d)) => Some(merge(&[], d, n, change)),
            (Some(_), None, None) => None,
            (Some(b), None, Some(d)) if d == b => Some(change(Action::Removed, None)),
            (Some(_), None, Some(d)) => Some(change(Action::KeptEdited, Some(d.clone()))),
            (None, None, _) => None,
        };
        out.extend(planned);
    }
    out
}

fn merge(
    base: &[u8],
    ours: &[u8],
    theirs: &[u8],
    change: impl Fn(Action, Option<Vec<u8>>) -> FileChange,
) -> FileChange {
    match diffy::merge_bytes(base, ours, theirs) {
        Ok(merged) => change(Action::Merged, Some(merged)),
        Err(conflicted) => change(Action::Conflicted, Some(label_markers(&conflicted))),
    }
}

/// diffy labels the sides "ours" / "original" / "theirs"; say whose they are.
fn label_markers(text: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(text);
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let relabelled = match body {
            "<<<<<<< ours" => "<<<<<<< your version",
            "||||||| original" => "||||||| as omnistack generated it",
            ">>>>>>> theirs" => ">>>>>>> omnistack's new version",
            other => other,
        };
        out.push_str(relabelled);
        out.push_str(end);
    }
    out.into_bytes()
}

/// Reads the current content of every path in `paths` below `root`.
pub fn read_disk<'a>(
    root: &Path,
    paths: impl IntoIterator<Item = &'a String>,
) -> Result<BTreeMap<String, Option<Vec<u8>>>> {
    let mut out = BTreeMap::new();
    for path in paths {
        let full = root.join(path);
        let content = match std::fs::read(&full) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("reading {}", full.display())),
        };
        out.insert(path.clone(), content);
    }
    Ok(out)
}

/// Refuses (a usage error, before anything is written) when writing or removing one of
/// `paths` would touch something outside `root`: a directory or file symlink in the project
/// that leads elsewhere, or one that leads nowhere.
pub fn check_contained<'a>(root: &Path, paths: impl IntoIterator<Item = &'a str>) -> Result<()> {
    let real_root = root
        .canonicalize()
        .with_context(|| format!("resolving {}", root.display()))?;
    for path in paths {
        let dest = root.join(path);
        // The deepest part of the path that exists decides where the rest would be created.
        let existing = dest
            .ancestors()
            .find(|p| p.symlink_metadata().is_ok())
            .unwrap_or(root);
        let resolved = existing.canonicalize().map_err(|e| {
            usage!(
                "cannot change {path}: {} cannot be resolved ({e}); a dangling symlink? nothing was written",
                existing.display()
            )
        })?;
        if !resolved.starts_with(&real_root) {
            return Err(usage!(
                "cannot change {path}: {} leads to {}, outside the project {} (a symlink); nothing was written",
                existing.display(),
                resolved.display(),
                real_root.display()
            ));
        }
    }
    Ok(())
}

/// Writes the plan. Each file is written to a temporary file beside it and renamed over the
/// original, so an interruption leaves every file either old or new, never truncated. `last`
/// (the project file) is written after everything else succeeded.
pub fn apply(root: &Path, changes: &[FileChange], last: &str) -> Result<()> {
    let (final_writes, others): (Vec<&FileChange>, Vec<&FileChange>) = changes
        .iter()
        .filter(|c| c.writes())
        .partition(|c| c.path == last);
    for change in others.into_iter().chain(final_writes) {
        let dest = root.join(&change.path);
        match &change.after {
            Some(bytes) => write_atomic(&dest, bytes)?,
            None => {
                std::fs::remove_file(&dest)
                    .with_context(|| format!("removing {}", dest.display()))?;
                remove_empty_parents(root, &dest);
            }
        }
    }
    Ok(())
}

fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<()> {
    let dir = dest.parent().context("file without a parent directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".omnistack-");
    // A new file gets the mode a plain file creation gives (0666 less the umask), not
    // tempfile's 0600; an existing file's permissions are copied below.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder
        .tempfile_in(dir)
        .with_context(|| format!("writing into {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    if let Ok(meta) = std::fs::metadata(dest) {
        // Keep the user's permissions (an executable script stays executable).
        tmp.as_file().set_permissions(meta.permissions())?;
    }
    tmp.persist(dest)
        .with_context(|| format!("replacing {}", dest.display()))?;
    Ok(())
}

fn remove_empty_parents(root: &Path, file: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == root || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::tree::from_text as tree;

    fn disk(files: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<Vec<u8>>> {
        files
            .iter()
            .map(|(p, c)| (p.to_string(), c.map(|c| c.as_bytes().to_vec())))
            .collect()
    }

    fn actions(changes: &[FileChange]) -> Vec<(&str, Action)> {
        changes
            .iter()
            .map(|c| (c.path.as_str(), c.action))
            .collect()
    }

    #[test]
    fn untouched_files_are_replaced_and_new_ones_added() {
        let base = tree(&[("a", "1\n")]);
        let new = tree(&[("a", "2\n"), ("b", "x\n")]);
        let plan = plan(&base, &new, &disk(&[("a", Some("1\n")), ("b", None)]));
        assert_eq!(
            actions(&plan),
            vec![("a", Action::Updated), ("b", Action::Added)]
        );
    }

    #[test]
    fn an_edit_far_from_the_change_merges_cleanly() {
        let base = tree(&[("f", "a\nb\nc\nd\ne\nf\n")]);
        let new = tree(&[("f", "a\nb\nc\nd\ne\nF\n")]);
        let plan = plan(&base, &new, &disk(&[("f", Some("A\nb\nc\nd\ne\nf\n"))]));
        assert_eq!(plan[0].action, Action::Merged);
        assert_eq!(plan[0].after.as_deref(), Some(&b"A\nb\nc\nd\ne\nF\n"[..]));
    }

    #[test]
    fn an_edit_in_the_same_lines_conflicts_with_labelled_markers() {
        let base = tree(&[("f", "a\nb\nc\n")]);
        let new = tree(&[("f", "a\nnew\nc\n")]);
        let plan = plan(&base, &new, &disk(&[("f", Some("a\nmine\nc\n"))]));
        assert_eq!(plan[0].action, Action::Conflicted);
        let text = String::from_utf8(plan[0].after.clone().unwrap()).unwrap();
        assert_eq!(
            text,
            "a\n<<<<<<< your version\nmine\n||||||| as omnistack generated it\nb\n=======\nnew\n>>>>>>> omnistack's new version\nc\n"
        );
    }

    #[test]
    fn deleted_files_stay_deleted_and_edited_orphans_are_kept() {
        let base = tree(&[("gone", "1\n"), ("orphan", "1\n"), ("clean", "1\n")]);
        let new = tree(&[("gone", "2\n")]);
        let plan = plan(
            &base,
            &new,
            &disk(&[
                ("gone", None),
                ("orphan", Some("mine\n")),
                ("clean", Some("1\n")),
            ]),
        );
        assert_eq!(
            actions(&plan),
            vec![
                ("clean", Action::Removed),
                ("gone", Action::KeptDeleted),
                ("orphan", Action::KeptEdited)
            ]
        );
        assert!(
            plan.iter()
                .filter(|c| c.path != "clean")
                .all(|c| !c.writes())
        );
    }

    #[test]
    fn edits_to_files_the_change_does_not_touch_are_not_planned() {
        let base = tree(&[("f", "1\n")]);
        let plan = plan(&base, &base.clone(), &disk(&[("f", Some("mine\n"))]));
        assert!(plan.is_empty());
    }
}
