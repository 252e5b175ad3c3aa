//! `omnistack add` / `remove` on generated projects: the invariants of DESIGN §3 over
//! combinations computed from the catalog, the fate of user edits, and every error path.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{omnistack, read_tree};
use omnistack::catalog::{Catalog, Kind};
use omnistack::spec::{Answers, Spec, resolve};
use omnistack::tree::Tree;
use predicates::prelude::*;

fn catalog() -> Catalog {
    omnistack::catalog::load(&omnistack::source::templates().unwrap()).unwrap()
}

/// Writes `new(spec)` to `dir` exactly as `omnistack new --no-git --no-fmt` would.
fn generate(catalog: &Catalog, spec: &Spec, dir: &Path) {
    let tree = omnistack::render::render(catalog, spec).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    omnistack::write::write_all(&tree, dir).unwrap();
}

fn rendered(catalog: &Catalog, spec: &Spec) -> Tree {
    omnistack::render::render(catalog, spec).unwrap()
}

fn with(catalog: &Catalog, spec: &Spec, category: &str, ids: Vec<String>) -> Option<Spec> {
    let mut answers: Answers = spec.answers();
    answers.insert(category.to_owned(), ids);
    resolve(catalog, &spec.name, &[&answers]).ok()
}

/// Every (start spec, category, provider) that `add` accepts, over presets + pairwise specs.
fn additions(catalog: &Catalog) -> Vec<(Spec, String, String, Spec)> {
    let mut out = Vec::new();
    for (_, start) in omnistack::matrix::presets_and_pairwise(catalog, "app").unwrap() {
        for category in &catalog.categories {
            for provider in &category.providers {
                if start.has(&category.id, &provider.id) {
                    continue;
                }
                let ids = match category.kind {
                    Kind::One => vec![provider.id.clone()],
                    Kind::Many => {
                        let mut ids = start.choices[&category.id].clone();
                        ids.push(provider.id.clone());
                        ids
                    }
                };
                if let Some(target) = with(catalog, &start, &category.id, ids) {
                    out.push((
                        start.clone(),
                        category.id.clone(),
                        provider.id.clone(),
                        target,
                    ));
                }
            }
        }
    }
    assert!(!out.is_empty(), "the catalog offers no change to test");
    out
}

fn run_in(dir: &Path, args: &[&str]) -> std::process::Output {
    omnistack().current_dir(dir).args(args).output().unwrap()
}

#[test]
fn new_then_add_equals_new_with_the_addition_and_remove_gives_back_the_original() {
    let catalog = catalog();
    let cases = additions(&catalog);
    // Each case is independent (its own project directory, its own `omnistack` processes):
    // run them on every core, the set grows with every provider.
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some(case) = cases.get(next.fetch_add(1, Ordering::Relaxed)) {
                    add_then_remove(&catalog, case);
                }
            });
        }
    });
}

fn add_then_remove(
    catalog: &Catalog,
    (start, category, provider, target): &(Spec, String, String, Spec),
) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("app");
    generate(catalog, start, &dir);
    let out = run_in(&dir, &["add", category, provider]);
    assert!(
        out.status.success(),
        "add {category} {provider} to {:?}: {}",
        start.choices,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        read_tree(&dir),
        rendered(catalog, target),
        "add {category} {provider} to {:?}",
        start.choices
    );

    let kind = catalog.category(category).unwrap().kind;
    let default = &catalog.category(category).unwrap().default;
    // Removing a single-choice provider goes back to the default: an inverse of `add` only
    // when the project started on the default.
    if kind == Kind::Many || start.choices[category] == *default {
        let out = run_in(&dir, &["remove", category, provider]);
        assert!(
            out.status.success(),
            "remove {category} {provider}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            read_tree(&dir),
            rendered(catalog, start),
            "add then remove {category} {provider} from {:?}",
            start.choices
        );
    }
}

/// A path that both trees have with different content, and the line numbers that differ.
fn changed_file(base: &Tree, new: &Tree) -> (String, Vec<usize>) {
    base.iter()
        .filter(|(p, _)| p.as_str() != "omnistack.toml")
        .find_map(|(path, b)| {
            let n = new.get(path)?;
            if n == b {
                return None;
            }
            let (b, n) = (String::from_utf8_lossy(b), String::from_utf8_lossy(n));
            let diff = similar::TextDiff::from_lines(b.as_ref(), n.as_ref());
            let changed: Vec<usize> = diff
                .ops()
                .iter()
                .filter(|op| op.tag() != similar::DiffTag::Equal)
                .flat_map(|op| op.old_range())
                .collect();
            let first = diff
                .ops()
                .iter()
                .find(|op| op.tag() != similar::DiffTag::Equal)
                .unwrap()
                .old_range()
                .start;
            Some((
                path.clone(),
                if changed.is_empty() {
                    vec![first]
                } else {
                    changed
                },
            ))
        })
        .expect("the change rewrites at least one shared file")
}

struct Switch {
    catalog: Catalog,
    start: Spec,
    target: Spec,
    args: [String; 3],
}

/// The first single-choice switch the catalog offers (e.g. database sqlite → postgres).
fn a_switch() -> Switch {
    let catalog = catalog();
    let (start, category, provider, target) = additions(&catalog)
        .into_iter()
        .find(|(s, c, _, _)| {
            catalog.category(c).unwrap().kind == Kind::One
                && s.choices[c] == catalog.category(c).unwrap().default
        })
        .expect("a single-choice category with two providers");
    Switch {
        catalog,
        start,
        target,
        args: ["add".into(), category, provider],
    }
}

fn args(s: &Switch) -> Vec<&str> {
    s.args.iter().map(String::as_str).collect()
}

impl Switch {
    /// The trees before and after the switch.
    fn trees(&self) -> (Tree, Tree) {
        (
            rendered(&self.catalog, &self.start),
            rendered(&self.catalog, &self.target),
        )
    }

    /// A fresh project generated with the starting spec.
    fn project(&self) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        generate(&self.catalog, &self.start, tmp.path());
        tmp
    }
}

#[test]
fn an_edit_far_from_the_change_survives_untouched() {
    let s = a_switch();
    let (base, new) = s.trees();
    let (path, changed) = changed_file(&base, &new);
    let tmp = s.project();
    let text = String::from_utf8(base[&path].clone()).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let far = if changed.iter().all(|&i| i + 3 < lines.len()) {
        lines.len()
    } else {
        0
    };
    assert!(
        changed.iter().all(|&i| i.abs_diff(far) >= 3),
        "no line of {path} is far from the change"
    );
    lines.insert(far, "user edit: keep me");
    std::fs::write(tmp.path().join(&path), lines.join("\n") + "\n").unwrap();

    let out = run_in(tmp.path(), &args(&s));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("merged       {path}")));
    let merged = std::fs::read_to_string(tmp.path().join(&path)).unwrap();
    let mut expected: Vec<&str> = std::str::from_utf8(&new[&path]).unwrap().lines().collect();
    let at = if far == 0 { 0 } else { expected.len() };
    expected.insert(at, "user edit: keep me");
    assert_eq!(merged, expected.join("\n") + "\n");
}

#[test]
fn an_edit_in_the_changed_lines_gives_one_conflict_and_exit_1() {
    let s = a_switch();
    let (base, new) = s.trees();
    let (path, changed) = changed_file(&base, &new);
    let tmp = s.project();
    let text = String::from_utf8(base[&path].clone()).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[changed[0]] = "user edit in the same line".into();
    std::fs::write(tmp.path().join(&path), lines.join("\n") + "\n").unwrap();

    let out = run_in(tmp.path(), &args(&s));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains(&format!("CONFLICT     {path}")), "{stdout}");
    assert!(stdout.contains("1 conflicts left in files"), "{stdout}");
    let merged = std::fs::read_to_string(tmp.path().join(&path)).unwrap();
    assert_eq!(
        merged.matches("<<<<<<< your version").count(),
        1,
        "{merged}"
    );
    assert!(
        merged.contains("user edit in the same line")
            && merged.contains(">>>>>>> omnistack's new version")
    );
    // The rest of the project moved to the new spec, answers included.
    assert_eq!(
        std::fs::read(tmp.path().join("omnistack.toml")).unwrap(),
        new["omnistack.toml"]
    );
}

#[test]
fn a_deleted_file_stays_deleted_and_an_edited_orphan_is_kept() {
    let s = a_switch();
    let (base, new) = s.trees();
    let (changed_path, _) = changed_file(&base, &new);
    let orphan = base
        .keys()
        .find(|p| !new.contains_key(*p))
        .expect("the switch drops a file")
        .clone();
    let tmp = s.project();
    std::fs::remove_file(tmp.path().join(&changed_path)).unwrap();
    std::fs::write(tmp.path().join(&orphan), "my own content\n").unwrap();

    let out = run_in(tmp.path(), &args(&s));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(!tmp.path().join(&changed_path).exists());
    assert!(
        stdout.contains(&format!("left deleted (you deleted it) {changed_path}")),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join(&orphan)).unwrap(),
        "my own content\n"
    );
    assert!(
        stdout.contains(&format!(
            "kept (edited by you, no longer generated) {orphan}"
        )),
        "{stdout}"
    );
}

#[test]
fn dry_run_prints_a_diff_and_writes_nothing() {
    let s = a_switch();
    let tmp = s.project();
    let before = read_tree(tmp.path());
    let mut a = args(&s);
    a.push("--dry-run");
    omnistack()
        .current_dir(tmp.path())
        .args(&a)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("--- a/omnistack.toml")
                .and(predicate::str::contains("Dry run: nothing written.")),
        );
    assert_eq!(read_tree(tmp.path()), before);
}

#[test]
fn it_works_from_a_subdirectory_of_the_project() {
    let s = a_switch();
    let tmp = s.project();
    let out = run_in(&tmp.path().join("src"), &args(&s));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read_tree(tmp.path()), rendered(&s.catalog, &s.target));
}

#[test]
fn a_dirty_git_work_tree_is_refused_unless_allowed() {
    let s = a_switch();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("app");
    omnistack()
        .current_dir(tmp.path())
        .args(["new", "app", "--yes", "--no-fmt", "--preset", "minimal"])
        .assert()
        .success();
    if !dir.join(".git").exists() {
        eprintln!("skipped: git is not installed, so there is no work tree to find dirty");
        return;
    }
    std::fs::write(dir.join("notes.md"), "uncommitted\n").unwrap();
    let out = run_in(&dir, &args(&s));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("uncommitted changes"));
    assert!(
        !std::fs::read_to_string(dir.join("omnistack.toml"))
            .unwrap()
            .contains(&s.args[2])
    );
    let mut a = args(&s);
    a.push("--allow-dirty");
    assert!(run_in(&dir, &a).status.success());
}

fn refuses_in_project(extra: &[&str], message: &str) {
    let catalog = catalog();
    let spec = resolve(&catalog, "app", &[]).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    generate(&catalog, &spec, tmp.path());
    let before = read_tree(tmp.path());
    let out = run_in(tmp.path(), extra);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
    assert!(
        stderr.contains(message),
        "{extra:?}: expected {message:?} in {stderr}"
    );
    assert_eq!(read_tree(tmp.path()), before, "{extra:?} changed files");
}

#[test]
fn bad_requests_are_refused_with_exit_2_and_nothing_written() {
    refuses_in_project(&["add", "queue"], "unknown feature \"queue\"");
    refuses_in_project(
        &["add", "database", "mysql"],
        "unknown database provider \"mysql\"; valid: sqlite, postgres",
    );
    refuses_in_project(&["add", "database", "sqlite"], "database is already sqlite");
    refuses_in_project(&["add", "database"], "name the database provider to add");
    refuses_in_project(
        &["remove", "database", "postgres"],
        "database postgres is not in the project",
    );
    refuses_in_project(
        &["remove", "database", "sqlite"],
        "is the default and a project needs a database",
    );
}

#[test]
fn outside_a_project_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    omnistack()
        .current_dir(tmp.path())
        .args(["add", "database", "postgres"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not inside an omnistack project"));
}

#[test]
fn a_project_from_another_omnistack_version_is_refused() {
    let catalog = catalog();
    let tmp = tempfile::tempdir().unwrap();
    generate(
        &catalog,
        &resolve(&catalog, "app", &[]).unwrap(),
        tmp.path(),
    );
    let file = tmp.path().join("omnistack.toml");
    let text = std::fs::read_to_string(&file).unwrap().replace(
        &format!("version = \"{}\"", env!("CARGO_PKG_VERSION")),
        "version = \"0.0.1\"",
    );
    std::fs::write(&file, text).unwrap();
    omnistack()
        .current_dir(tmp.path())
        .args(["add", "database", "postgres"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "generated by omnistack 0.0.1 and this is omnistack",
        ));
}

#[test]
fn a_change_that_breaks_a_requirement_is_refused() {
    let templates = common::templates_with_a_provider_needing_postgres();
    let tmp = tempfile::tempdir().unwrap();
    omnistack()
        .env("OMNISTACK_TEMPLATES", templates.path())
        .current_dir(tmp.path())
        .args([
            "new", "app", "--yes", "--no-git", "--no-fmt", "--db", "postgres", "--auth", "needs-pg",
        ])
        .assert()
        .success();
    let dir = tmp.path().join("app");
    let before = read_tree(&dir);
    omnistack()
        .env("OMNISTACK_TEMPLATES", templates.path())
        .current_dir(&dir)
        .args(["remove", "database", "postgres"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "auth needs-pg requires database postgres",
        ));
    assert_eq!(read_tree(&dir), before);
}

/// A default project in `tmp/app` and the first other auth provider `add` accepts for it.
#[cfg(unix)]
fn project_and_another_auth(tmp: &Path) -> (std::path::PathBuf, String) {
    let catalog = catalog();
    let spec = resolve(&catalog, "app", &[]).unwrap();
    let provider = catalog
        .category("auth")
        .expect("an auth category")
        .providers
        .iter()
        .map(|p| p.id.clone())
        .find(|id| {
            !spec.has("auth", id) && with(&catalog, &spec, "auth", vec![id.clone()]).is_some()
        })
        .expect("a second auth provider");
    let dir = tmp.join("app");
    generate(&catalog, &spec, &dir);
    (dir, provider)
}

#[cfg(unix)]
#[test]
fn a_symlink_leading_out_of_the_project_is_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, provider) = project_and_another_auth(tmp.path());
    // src/auth is a symlink to a directory outside the project.
    let outside = tmp.path().join("elsewhere");
    std::fs::rename(dir.join("src/auth"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("src/auth")).unwrap();
    std::fs::write(outside.join("unrelated.txt"), "not yours\n").unwrap();
    let project_before = read_tree(&dir);
    let outside_before = read_tree(&outside);
    assert!(!outside_before.is_empty());

    for extra in [&[][..], &["--dry-run"][..]] {
        let out = omnistack()
            .current_dir(&dir)
            .args(["add", "auth", &provider])
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains("outside the project"), "{stderr}");
        assert!(stderr.contains("src/auth"), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert_eq!(read_tree(&outside), outside_before, "files changed outside");
        assert_eq!(
            read_tree(&dir),
            project_before,
            "files changed in the project"
        );
    }
    assert!(
        std::fs::symlink_metadata(dir.join("src/auth"))
            .unwrap()
            .file_type()
            .is_symlink()
    );

    // A file symlink leading out is refused too.
    std::fs::remove_file(dir.join("src/auth")).unwrap();
    std::fs::rename(&outside, dir.join("src/auth")).unwrap();
    std::fs::remove_file(dir.join("src/auth/unrelated.txt")).unwrap();
    let cargo_toml = tmp.path().join("Cargo.toml.outside");
    std::fs::rename(dir.join("Cargo.toml"), &cargo_toml).unwrap();
    std::os::unix::fs::symlink(&cargo_toml, dir.join("Cargo.toml")).unwrap();
    let before = std::fs::read(&cargo_toml).unwrap();
    let out = run_in(&dir, &["add", "auth", &provider]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("Cargo.toml"), "{stderr}");
    assert_eq!(std::fs::read(&cargo_toml).unwrap(), before);
}

#[cfg(unix)]
#[test]
fn a_symlink_within_the_project_is_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, provider) = project_and_another_auth(tmp.path());
    std::fs::rename(dir.join("src/auth"), dir.join("auth-real")).unwrap();
    std::os::unix::fs::symlink("../auth-real", dir.join("src/auth")).unwrap();
    let out = run_in(&dir, &["add", "auth", &provider]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read_to_string(dir.join("omnistack.toml"))
            .unwrap()
            .contains(&provider)
    );
}

/// Files `add` creates get the mode a plain file creation gives under the caller's umask;
/// files it replaces keep theirs.
#[cfg(unix)]
#[test]
fn added_files_get_the_umask_mode_and_replaced_files_keep_theirs() {
    use std::os::unix::fs::PermissionsExt;
    let s = a_switch();
    let (base, new) = s.trees();
    let added: Vec<&String> = new.keys().filter(|p| !base.contains_key(*p)).collect();
    assert!(!added.is_empty(), "the switch adds no file");
    let (updated, _) = changed_file(&base, &new);
    let bin = assert_cmd::cargo::cargo_bin("omnistack");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for (umask, expected) in [("022", 0o644), ("027", 0o640)] {
        let tmp = s.project();
        let kept = tmp.path().join(&updated);
        std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o751)).unwrap();
        let out = std::process::Command::new("sh")
            .args(["-c", &format!("umask {umask} && exec \"$0\" \"$@\"")])
            .arg(&bin)
            .args(args(&s))
            .env_remove("OMNISTACK_TEMPLATES")
            .current_dir(tmp.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for path in &added {
            assert_eq!(
                mode(&tmp.path().join(path)),
                expected,
                "umask {umask}: {path}"
            );
        }
        assert_eq!(mode(&kept), 0o751, "umask {umask}: {updated} lost its mode");
    }
}
