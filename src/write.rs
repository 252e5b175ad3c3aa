//! Putting a rendered tree on disk: the staged write of `new` (all at once or nothing).

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::project_file::FILE_NAME;
use crate::tree::Tree;
use crate::usage;

/// What to do when the target directory already has files in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    Refuse,
    /// Replace it, but only when it is a generated project (it holds `omnistack.toml`): any
    /// other non-empty directory (a repository, someone's notes) is refused.
    Replace,
}

/// Writes `tree` to `target` so that either the complete tree lands or nothing changes.
///
/// Files go to a staging directory beside the target first; only when every file is written
/// is the staging directory renamed into place (a replaced target is moved aside first and
/// restored if that rename fails).
pub fn write_new(tree: &Tree, target: &Path, existing: Existing) -> Result<()> {
    let target = absolute(target)?;
    let occupied = match std::fs::read_dir(&target) {
        Ok(mut entries) => entries.next().is_some(),
        Err(e) if e.kind() == ErrorKind::NotFound => false,
        Err(e) if e.kind() == ErrorKind::NotADirectory => {
            if target.is_file() {
                return Err(usage!("{} exists and is not a directory", target.display()));
            }
            return Err(usage!(
                "cannot create {}: a parent of it is not a directory",
                target.display()
            ));
        }
        Err(e) => return Err(usage!("cannot read {}: {e}", target.display())),
    };
    if occupied && !is_project(&target) {
        // Not even --force: it could be a repository or anyone's files.
        return Err(usage!(
            "{} already exists, is not empty and is not an omnistack project (no {FILE_NAME}); omnistack writes only into an empty directory or, with --force, over a project it generated: move it away or choose another --output",
            target.display()
        ));
    }
    if occupied && existing == Existing::Refuse {
        return Err(usage!(
            "{} already exists and is not empty; use --force to replace it",
            target.display()
        ));
    }
    let parent = target
        .parent()
        .context("the target has no parent directory")?;
    std::fs::create_dir_all(parent)
        .map_err(|e| usage!("cannot create {}: {e}", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".omnistack-staging-")
        .tempdir_in(parent)
        .map_err(|e| usage!("output directory {} is not writable: {e}", parent.display()))?;
    write_all(tree, staging.path())?;

    let staged = staging.keep();
    let result = swap_into_place(&staged, &target, occupied);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staged);
    }
    result
}

fn swap_into_place(staged: &Path, target: &Path, occupied: bool) -> Result<()> {
    if !occupied {
        // An empty directory can be replaced by rename; a missing one is created by it.
        if target.exists() {
            std::fs::remove_dir(target)
                .with_context(|| format!("removing empty {}", target.display()))?;
        }
        return std::fs::rename(staged, target)
            .with_context(|| format!("moving the project into {}", target.display()));
    }
    let aside = tempfile::Builder::new()
        .prefix(".omnistack-replaced-")
        .tempdir_in(target.parent().expect("absolute target has a parent"))?
        .keep();
    std::fs::remove_dir(&aside)?;
    std::fs::rename(target, &aside)
        .with_context(|| format!("moving the old {} aside", target.display()))?;
    if let Err(e) = std::fs::rename(staged, target) {
        std::fs::rename(&aside, target)
            .with_context(|| format!("restoring {}", target.display()))?;
        return Err(e).with_context(|| format!("moving the project into {}", target.display()));
    }
    std::fs::remove_dir_all(&aside)
        .with_context(|| format!("removing the replaced project at {}", aside.display()))
}

/// Writes every file of `tree` below `root` (which must exist).
pub fn write_all(tree: &Tree, root: &Path) -> Result<()> {
    for (path, bytes) in tree {
        let dest = root.join(path);
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&dest, bytes).with_context(|| format!("writing {}", dest.display()))?;
    }
    Ok(())
}

/// Whether `dir` holds an `omnistack.toml` (a regular file, not a symlink to one).
fn is_project(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir.join(FILE_NAME)).is_ok_and(|m| m.is_file())
}

fn absolute(path: &Path) -> Result<PathBuf> {
    Ok(if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::tree::from_text as tree;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_failure_midway_leaves_no_target_and_no_staging_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("app");
        // "a" is written as a file, so creating "a/b" fails after the first file is on disk.
        let err = write_new(
            &tree(&[("a", "1"), ("a/b", "2")]),
            &target,
            Existing::Refuse,
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("a"), "{err:#}");
        assert!(
            entries(tmp.path()).is_empty(),
            "left behind: {:?}",
            entries(tmp.path())
        );
    }

    #[test]
    fn a_failed_replace_keeps_the_old_project() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("app");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join(FILE_NAME), "").unwrap();
        std::fs::write(target.join("keep.txt"), "mine").unwrap();
        write_new(
            &tree(&[("a", "1"), ("a/b", "2")]),
            &target,
            Existing::Replace,
        )
        .unwrap_err();
        assert_eq!(
            std::fs::read_to_string(target.join("keep.txt")).unwrap(),
            "mine"
        );
        assert_eq!(entries(tmp.path()), vec!["app"]);
    }

    #[test]
    fn replace_swaps_the_whole_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("app");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join(FILE_NAME), "").unwrap();
        std::fs::write(target.join("old.txt"), "old").unwrap();
        write_new(&tree(&[("src/new.rs", "new")]), &target, Existing::Replace).unwrap();
        assert_eq!(entries(&target), vec!["src"]);
        assert_eq!(entries(tmp.path()), vec!["app"]);
    }

    #[test]
    fn replace_refuses_a_directory_that_is_not_a_project() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("app");
        std::fs::create_dir_all(target.join(".git")).unwrap();
        std::fs::write(target.join("notes.txt"), "mine").unwrap();
        // A symlinked omnistack.toml does not make a directory a project.
        #[cfg(unix)]
        std::os::unix::fs::symlink("/dev/null", target.join(FILE_NAME)).unwrap();
        let err =
            write_new(&tree(&[("src/new.rs", "new")]), &target, Existing::Replace).unwrap_err();
        assert!(
            err.to_string().contains("is not an omnistack project"),
            "{err}"
        );
        let mut expected = vec![".git", "notes.txt"];
        if cfg!(unix) {
            expected.push(FILE_NAME);
        }
        assert_eq!(entries(&target), expected);
        assert_eq!(entries(tmp.path()), vec!["app"]);
    }
}
