//! Helpers shared by the integration tests: running the CLI and reading trees back.

#![allow(dead_code)] // each test binary uses a different subset of these helpers

use std::path::Path;

use assert_cmd::Command;
use omnistack::tree::Tree;

/// The `omnistack` binary with a clean environment for templates.
pub fn omnistack() -> Command {
    let mut cmd = Command::cargo_bin("omnistack").expect("binary built");
    cmd.env_remove("OMNISTACK_TEMPLATES");
    cmd
}

/// Every file below `root` (relative path → bytes), skipping `.git`.
pub fn read_tree(root: &Path) -> Tree {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git")
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

/// Copies the real templates to `dest` so a test can add fixture providers to them.
pub fn copy_templates(dest: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    for (rel, bytes) in read_tree(&src) {
        let path = dest.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

/// A copy of the real templates plus a fixture auth provider `needs-pg` that requires
/// Postgres, for the requirement checks of `new`, `add` and `remove`.
pub fn templates_with_a_provider_needing_postgres() -> tempfile::TempDir {
    let templates = tempfile::tempdir().unwrap();
    copy_templates(templates.path());
    let fixture = templates.path().join("auth/needs-pg");
    std::fs::create_dir_all(fixture.join("files")).unwrap();
    std::fs::write(
        fixture.join("manifest.toml"),
        "id = \"needs-pg\"\nname = \"Fixture\"\ndescription = \"needs postgres\"\nrequires = [\"database:postgres\"]\n",
    )
    .unwrap();
    templates
}
