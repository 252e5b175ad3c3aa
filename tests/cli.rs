//! The command line end to end: every command, every bad-input path, and what lands on disk.

mod common;

use std::time::Duration;

use common::{omnistack, read_tree};
use predicates::prelude::*;

/// Runs a bad-input case and checks the contract: exit 2, one line naming the problem, and
/// nothing written in the working directory.
fn refuses(args: &[&str], message: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = omnistack()
        .current_dir(dir.path())
        .args(args)
        .write_stdin("")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        stderr.contains(message),
        "{args:?}: expected {message:?} in {stderr:?}"
    );
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{args:?}: not one line: {stderr:?}"
    );
    assert!(read_tree(dir.path()).is_empty(), "{args:?} wrote files");
}

#[test]
fn new_with_yes_writes_a_project_with_its_answers() {
    let dir = tempfile::tempdir().unwrap();
    omnistack()
        .current_dir(dir.path())
        .args([
            "new", "shop-api", "--yes", "--no-git", "--no-fmt", "--db", "postgres",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("Created shop-api"));
    let tree = read_tree(&dir.path().join("shop-api"));
    let recorded = String::from_utf8(tree["omnistack.toml"].clone()).unwrap();
    assert!(recorded.contains("database = \"postgres\""), "{recorded}");
    assert!(
        recorded.contains(&format!("version = \"{}\"", env!("CARGO_PKG_VERSION"))),
        "{recorded}"
    );
    assert!(String::from_utf8_lossy(&tree["Cargo.toml"]).contains("name = \"shop-api\""));
}

#[test]
fn invalid_project_names_are_refused() {
    for name in ["my app", "1app", "fn", "test", "self", "My-App"] {
        refuses(&["new", name, "--yes"], "project name");
    }
}

#[test]
fn a_missing_name_without_a_terminal_is_an_error_not_a_prompt() {
    refuses(&["new", "--yes"], "missing project name");
}

#[test]
fn unknown_provider_lists_the_valid_ones() {
    refuses(
        &["new", "app", "--yes", "--db", "mysql"],
        "unknown database provider \"mysql\"; valid: sqlite, postgres",
    );
}

#[test]
fn two_providers_for_a_single_choice_category_are_refused() {
    refuses(
        &["new", "app", "--yes", "--db", "sqlite", "--db", "postgres"],
        "database takes one provider",
    );
    refuses(
        &["new", "app", "--yes", "--db", "sqlite,postgres"],
        "database takes one provider",
    );
}

#[test]
fn unknown_preset_lists_the_valid_ones() {
    refuses(
        &["new", "app", "--yes", "--preset", "enterprise"],
        "unknown preset \"enterprise\"; valid: minimal",
    );
}

#[test]
fn malformed_preset_file_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let preset = dir.path().join("bad.toml");
    std::fs::write(
        &preset,
        "description = \"x\"\n[answers]\ndatabase = [\"sqlite\"\n",
    )
    .unwrap();
    let out = omnistack()
        .current_dir(dir.path())
        .args(["new", "app", "--yes", "--preset", preset.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.toml, line 3"), "{stderr}");
    assert!(!dir.path().join("app").exists());
}

#[test]
fn preset_with_an_unknown_provider_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        "[answers]\ndatabase = \"oracle\"\n",
    )
    .unwrap();
    omnistack()
        .current_dir(dir.path())
        .args(["new", "app", "--yes", "--preset", "./p.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unknown database provider \"oracle\"",
        ));
    assert!(!dir.path().join("app").exists());
}

#[test]
fn unsatisfiable_requirements_are_refused() {
    let templates = common::templates_with_a_provider_needing_postgres();
    let dir = tempfile::tempdir().unwrap();
    let out = omnistack()
        .env("OMNISTACK_TEMPLATES", templates.path())
        .current_dir(dir.path())
        .args([
            "new", "app", "--yes", "--auth", "needs-pg", "--db", "sqlite",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("auth needs-pg requires database postgres"),
        "{stderr}"
    );
    assert!(read_tree(dir.path()).is_empty());
    omnistack()
        .env("OMNISTACK_TEMPLATES", templates.path())
        .current_dir(dir.path())
        .args([
            "new", "app", "--yes", "--no-git", "--no-fmt", "--auth", "needs-pg", "--db", "postgres",
        ])
        .assert()
        .success();
}

#[test]
fn an_existing_non_empty_directory_is_kept_without_force() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("app")).unwrap();
    std::fs::write(dir.path().join("app/notes.txt"), "mine").unwrap();
    let new_app = || {
        omnistack()
            .current_dir(dir.path())
            .args(["new", "app", "--yes", "--no-git"])
            .output()
            .unwrap()
    };
    let out = new_app();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    // Not a project: --force would not replace it either, so the message does not offer it.
    assert!(
        stderr.contains("already exists, is not empty and is not an omnistack project"),
        "{stderr}"
    );
    assert!(!stderr.contains("use --force"), "{stderr}");
    assert_eq!(read_tree(&dir.path().join("app")).len(), 1);

    // A generated project is kept too, and --force is offered.
    std::fs::write(dir.path().join("app/omnistack.toml"), "").unwrap();
    let out = new_app();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("already exists and is not empty; use --force"),
        "{stderr}"
    );
    assert_eq!(read_tree(&dir.path().join("app")).len(), 2);
}

#[test]
fn force_replaces_an_existing_project() {
    let dir = tempfile::tempdir().unwrap();
    omnistack()
        .current_dir(dir.path())
        .args(["new", "app", "--yes", "--no-git", "--no-fmt"])
        .assert()
        .success();
    std::fs::write(dir.path().join("app/notes.txt"), "old").unwrap();
    omnistack()
        .current_dir(dir.path())
        .args(["new", "app", "--yes", "--no-git", "--no-fmt", "--force"])
        .assert()
        .success();
    let tree = read_tree(&dir.path().join("app"));
    assert!(!tree.contains_key("notes.txt"));
    assert!(tree.contains_key("omnistack.toml"));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        vec!["app"],
        "staging or backup directories left behind"
    );
}

#[test]
fn force_refuses_a_directory_that_is_not_an_omnistack_project() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    std::fs::create_dir_all(app.join(".git")).unwrap();
    std::fs::write(app.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(app.join("notes.txt"), "mine").unwrap();
    let out = omnistack()
        .current_dir(dir.path())
        .args(["new", "app", "--yes", "--no-git", "--no-fmt", "--force"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is not an omnistack project (no omnistack.toml)"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    let git = std::fs::read_to_string(app.join(".git/HEAD")).unwrap();
    assert_eq!(git, "ref: refs/heads/main\n");
    assert_eq!(
        std::fs::read_to_string(app.join("notes.txt")).unwrap(),
        "mine"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec!["app"], "staging directory left behind");

    // An empty directory is still taken, with or without --force.
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    omnistack()
        .current_dir(dir.path())
        .args(["new", "empty", "--yes", "--no-git", "--no-fmt", "--force"])
        .assert()
        .success();
    assert!(dir.path().join("empty/omnistack.toml").is_file());
}

/// Every crate name a project can depend on, as a project name, is refused before anything
/// is rendered: the project's library and the dependency would be two crates of one name.
#[test]
fn names_of_the_catalogs_dependencies_are_refused() {
    let catalog = omnistack::catalog::load(&omnistack::source::templates().unwrap()).unwrap();
    let mut names = std::collections::BTreeSet::new();
    for (_, layer) in catalog.layers() {
        for dep in layer
            .dependencies
            .keys()
            .chain(layer.dev_dependencies.keys())
        {
            // Cargo treats `-` and `_` alike: every spelling clashes.
            names.insert(dep.clone());
            names.insert(dep.replace('-', "_"));
            names.insert(dep.replace('_', "-"));
        }
    }
    assert!(
        names.contains("tokio") && names.contains("sqlx"),
        "{names:?}"
    );
    for name in &names {
        if omnistack::names::validate(name).is_ok() {
            refuses(
                &["new", name, "--yes", "--dry-run"],
                "clashes with the dependency",
            );
        } else {
            refuses(&["new", name, "--yes", "--dry-run"], "project name");
        }
    }
    refuses(
        &["new", "redis", "--yes", "--cache", "redis"],
        "clashes with the dependency `redis` of shared redis",
    );
    // A name that merely contains a dependency's name is fine.
    omnistack()
        .args(["new", "redis-app", "--yes", "--dry-run", "--cache", "redis"])
        .assert()
        .success();
}

/// The project directory and its files get the modes `mkdir` and a plain file creation give
/// under the caller's umask.
#[cfg(unix)]
#[test]
fn new_respects_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("omnistack");
    for (umask, dir_mode, file_mode) in [("022", 0o755, 0o644), ("027", 0o750, 0o640)] {
        let name = format!("app{umask}");
        let status = std::process::Command::new("sh")
            .args(["-c", &format!("umask {umask} && exec \"$0\" \"$@\"")])
            .arg(&bin)
            .args(["new", &name, "--yes", "--no-git", "--no-fmt"])
            .env_remove("OMNISTACK_TEMPLATES")
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let root = dir.path().join(&name);
        assert_eq!(mode(&root), dir_mode, "umask {umask}: project directory");
        assert_eq!(mode(&root.join("src")), dir_mode, "umask {umask}: src");
        assert_eq!(mode(&root.join("Cargo.toml")), file_mode, "umask {umask}");
    }
}

#[test]
fn an_unwritable_output_location_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a-file"), "").unwrap();
    // The parent "directory" is a file: nothing can be created below it, even as root.
    let out = omnistack()
        .current_dir(dir.path())
        .args(["new", "app", "--yes", "--no-git", "--output", "a-file/app"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot create"), "{stderr}");
}

/// A directory nobody can create files in, root included: procfs. (A chmod 555 directory
/// would not do: CI runs as root, for whom permission bits do not stop a write.)
#[cfg(target_os = "linux")]
#[test]
fn a_read_only_output_directory_is_refused() {
    omnistack()
        .args([
            "new",
            "app",
            "--yes",
            "--no-git",
            "--output",
            "/proc/omnistack-app",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "output directory /proc is not writable",
        ));
    assert!(!std::path::Path::new("/proc/omnistack-app").exists());
}

#[test]
fn dry_run_lists_files_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    omnistack()
        .current_dir(dir.path())
        .args(["new", "app", "--yes", "--dry-run"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("Would write").and(predicate::str::contains("omnistack.toml")),
        );
    assert!(read_tree(dir.path()).is_empty());
}

#[test]
fn without_a_terminal_and_without_yes_defaults_are_used_instead_of_prompting() {
    let dir = tempfile::tempdir().unwrap();
    omnistack()
        .current_dir(dir.path())
        .args(["new", "app", "--no-git", "--no-fmt"])
        .write_stdin("")
        .timeout(Duration::from_secs(30))
        .assert()
        .success();
    let recorded = std::fs::read_to_string(dir.path().join("app/omnistack.toml")).unwrap();
    assert!(recorded.contains("database = \"sqlite\""), "{recorded}");
}

#[test]
fn a_preset_gives_the_same_project_as_the_same_choices_as_flags() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str], out: &str| {
        omnistack()
            .current_dir(dir.path())
            .args([
                "new", "app", "--yes", "--no-git", "--no-fmt", "--output", out,
            ])
            .args(extra)
            .assert()
            .success();
    };
    run(&["--preset", "minimal"], "from-preset");
    run(&["--db", "sqlite", "--auth", "local"], "from-flags");
    assert_eq!(
        read_tree(&dir.path().join("from-preset")),
        read_tree(&dir.path().join("from-flags"))
    );
}

#[test]
fn a_generated_omnistack_toml_reproduces_the_project() {
    let dir = tempfile::tempdir().unwrap();
    omnistack()
        .current_dir(dir.path())
        .args([
            "new", "orders", "--yes", "--no-git", "--no-fmt", "--db", "postgres",
        ])
        .assert()
        .success();
    omnistack()
        .current_dir(dir.path())
        .args([
            "new",
            "--yes",
            "--no-git",
            "--no-fmt",
            "--preset",
            "orders/omnistack.toml",
            "--output",
            "again",
        ])
        .assert()
        .success();
    assert_eq!(
        read_tree(&dir.path().join("orders")),
        read_tree(&dir.path().join("again"))
    );
}

#[test]
fn flags_override_the_preset() {
    let dir = tempfile::tempdir().unwrap();
    omnistack()
        .current_dir(dir.path())
        .args([
            "new", "app", "--yes", "--no-git", "--no-fmt", "--preset", "minimal", "--db",
            "postgres",
        ])
        .assert()
        .success();
    let recorded = std::fs::read_to_string(dir.path().join("app/omnistack.toml")).unwrap();
    assert!(recorded.contains("database = \"postgres\""), "{recorded}");
}

#[test]
fn git_init_makes_an_initial_commit() {
    if std::process::Command::new("git")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: git is not installed on this machine");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    omnistack()
        .current_dir(dir.path())
        .args(["new", "app", "--yes", "--no-fmt"])
        .assert()
        .success();
    let log = std::process::Command::new("git")
        .args(["log", "--oneline"])
        .current_dir(dir.path().join("app"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&log.stdout).contains("Initial commit from omnistack"));
    let status = std::process::Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(dir.path().join("app"))
        .output()
        .unwrap();
    assert!(
        status.stdout.is_empty(),
        "uncommitted after new: {}",
        String::from_utf8_lossy(&status.stdout)
    );
}

#[test]
fn list_shows_categories_providers_defaults_and_env_vars() {
    omnistack().arg("list").assert().success().stdout(
        predicate::str::contains("Database (--db: choose one)")
            .and(predicate::str::contains("* sqlite"))
            .and(predicate::str::contains("postgres"))
            .and(predicate::str::contains("DATABASE_URL")),
    );
}

#[test]
fn presets_shows_each_preset_and_its_choices() {
    omnistack().arg("presets").assert().success().stdout(
        predicate::str::contains("minimal").and(predicate::str::contains("database       sqlite")),
    );
}

#[test]
fn usage_errors_from_clap_exit_with_2() {
    omnistack().args(["new", "app", "--bogus"]).assert().code(2);
}

#[test]
fn an_interactive_session_asks_each_question_and_prints_the_equivalent_command() {
    // script(1) runs the CLI on a pseudo-terminal and forwards our keystrokes to it.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!(
            "skipped: script(1) from util-linux is not installed, no pseudo-terminal to drive"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("omnistack");
    // Name, then arrow-down + Enter on the first question (database → postgres), then Enter to
    // accept the default of every remaining question.
    let keys = format!("my-svc\r\x1b[B\r{}", "\r".repeat(20));
    let out = assert_cmd::Command::new("script")
        .args([
            "-qfec",
            &format!("{} new --no-git --no-fmt", bin.display()),
            "/dev/null",
        ])
        .env_remove("OMNISTACK_TEMPLATES")
        .current_dir(dir.path())
        .write_stdin(keys)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(screen.contains("Which database?"), "{screen}");
    assert!(
        screen.contains("omnistack new my-svc --db postgres --auth local"),
        "{screen}"
    );
    let recorded = std::fs::read_to_string(dir.path().join("my-svc/omnistack.toml")).unwrap();
    assert!(recorded.contains("database = \"postgres\""), "{recorded}");
}

#[test]
fn new_formats_the_project_with_cargo_fmt_unless_told_not_to() {
    let cargo_fmt = std::process::Command::new("cargo")
        .args(["fmt", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !cargo_fmt {
        eprintln!("skipped: `cargo fmt` is not installed on this machine");
        return;
    }
    // A template that is not formatted the way rustfmt wants it.
    let templates = tempfile::tempdir().unwrap();
    common::copy_templates(templates.path());
    let lib = templates.path().join("base/files/src/lib.rs.jinja");
    let mut text = std::fs::read_to_string(&lib).unwrap();
    text.push_str("\npub   fn   fmt_probe( )   {}\n");
    std::fs::write(&lib, text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (extra, expected) in [
        (None, "pub fn fmt_probe() {}"),
        (Some("--no-fmt"), "pub   fn   fmt_probe( )   {}"),
    ] {
        omnistack()
            .env("OMNISTACK_TEMPLATES", templates.path())
            .current_dir(dir.path())
            .args(["new", "app", "--yes", "--no-git", "--force"])
            .args(extra)
            .assert()
            .success();
        let lib = std::fs::read_to_string(dir.path().join("app/src/lib.rs")).unwrap();
        assert!(lib.contains(expected), "{extra:?}: {lib}");
    }
}

#[test]
fn new_takes_one_flag_per_catalog_category() {
    // A fixture provider in a multi-choice category that has none yet gives `new` its flag.
    let templates = tempfile::tempdir().unwrap();
    common::copy_templates(templates.path());
    let fixture = templates.path().join("extras/fixture");
    std::fs::create_dir_all(fixture.join("files")).unwrap();
    std::fs::write(
        fixture.join("manifest.toml"),
        "id = \"fixture\"\nname = \"Fixture\"\ndescription = \"a fixture extra\"\n",
    )
    .unwrap();
    let catalog =
        omnistack::catalog::load(&omnistack::source::read_dir(templates.path()).unwrap()).unwrap();
    let help = omnistack()
        .env("OMNISTACK_TEMPLATES", templates.path())
        .args(["new", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for category in &catalog.categories {
        assert!(help.contains(&format!("--{} <", category.flag)), "{help}");
    }
    let dir = tempfile::tempdir().unwrap();
    for (value, recorded) in [
        ("fixture", "extras = [\"fixture\"]"),
        ("none", "extras = []"),
    ] {
        omnistack()
            .env("OMNISTACK_TEMPLATES", templates.path())
            .current_dir(dir.path())
            .args(["new", "app", "--yes", "--no-git", "--no-fmt", "--force"])
            .args(["--db", "postgres", "--extras", value])
            .assert()
            .success();
        let file = std::fs::read_to_string(dir.path().join("app/omnistack.toml")).unwrap();
        assert!(file.contains("database = \"postgres\""), "{file}");
        assert!(file.contains(recorded), "{value}: {file}");
    }
}
