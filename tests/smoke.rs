//! Smoke matrix: generate projects and hold them to the standard users get — `cargo fmt
//! --check`, `cargo clippy --all-targets -- -D warnings` and `cargo test`, in each project.
//!
//! Scope from `OMNISTACK_SMOKE`: unset or `minimal` builds the `minimal` preset only (hermetic:
//! needs nothing but the Rust toolchain); `all` builds every preset plus combinations covering
//! every provider and every pair of choices across interacting categories
//! (`matrix::smoke_set`), against the Postgres and Redis at
//! `DATABASE_URL` / `REDIS_URL` (both required then). All projects share one
//! `CARGO_TARGET_DIR` (`OMNISTACK_SMOKE_TARGET`, default in the temp dir) so dependencies
//! compile once. A failing project is kept on disk and its path printed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use omnistack::catalog::{Capability, Catalog};
use omnistack::spec::Spec;

fn target_dir() -> PathBuf {
    std::env::var_os("OMNISTACK_SMOKE_TARGET")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("omnistack-smoke-target"))
}

fn specs(catalog: &Catalog, scope: &str) -> Vec<(String, Spec)> {
    omnistack::matrix::smoke_set(catalog, "app")
        .unwrap()
        .into_iter()
        .filter(|(label, _)| scope == "all" || label == "minimal")
        .map(|(label, spec)| {
            let name = format!("smoke-{label}");
            let spec = omnistack::spec::resolve(catalog, &name, &[&spec.answers()]).unwrap();
            (name, spec)
        })
        .collect()
}

/// The service URLs a project must not see: each project sees only the services it chose,
/// so a SQLite project never picks up the Postgres URL meant for another one. Decided from
/// the catalog (a database that is a server; a layer that reads `REDIS_URL`), not from ids.
fn unchosen_services(catalog: &Catalog, spec: &Spec) -> Vec<&'static str> {
    let caps = omnistack::render::capabilities(catalog, spec).unwrap();
    let reads = |name: &str| {
        omnistack::render::env_vars(catalog, spec)
            .iter()
            .any(|(var, _)| var.name == name)
    };
    let mut out = Vec::new();
    if caps.get("database_server") != Some(&Capability::Boolean(true)) {
        out.push("DATABASE_URL");
    }
    if !reads("REDIS_URL") {
        out.push("REDIS_URL");
    }
    out
}

/// `(variable, what serves it)` for every real service the chosen providers' tests use
/// (`[[test_env]]` in their manifests): in the full matrix none of them may be skipped.
fn test_services(catalog: &Catalog, spec: &Spec) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (category, ids) in &spec.choices {
        for id in ids {
            if let Some(provider) = catalog.provider(category, id) {
                for t in &provider.test_env {
                    out.push((t.name.clone(), t.description.clone()));
                }
            }
        }
    }
    out
}

/// Runs one command in the project; on failure returns its output for the report.
fn step(dir: &Path, unchosen: &[&str], args: &[&str]) -> Result<(), String> {
    let mut cmd = Command::new("cargo");
    cmd.args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("RUST_LOG", "warn");
    for var in unchosen {
        cmd.env_remove(var);
    }
    let started = Instant::now();
    let out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    eprintln!(
        "    cargo {} ... {} in {:.1}s",
        args.join(" "),
        if out.status.success() { "ok" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "`cargo {}` failed in {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        args.join(" "),
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

#[test]
fn generated_projects_pass_fmt_clippy_and_their_own_tests() {
    let scope = std::env::var("OMNISTACK_SMOKE").unwrap_or_else(|_| "minimal".into());
    assert!(
        matches!(scope.as_str(), "minimal" | "all"),
        "OMNISTACK_SMOKE must be `minimal` or `all`, got {scope}"
    );
    let catalog = omnistack::catalog::load(&omnistack::source::templates().unwrap()).unwrap();
    let specs = specs(&catalog, &scope);
    if scope == "all" {
        for var in ["DATABASE_URL", "REDIS_URL"] {
            assert!(
                std::env::var_os(var).is_some(),
                "OMNISTACK_SMOKE=all needs {var} (the local service)"
            );
        }
    }
    let root = tempfile::Builder::new()
        .prefix("omnistack-smoke-")
        .tempdir()
        .unwrap();
    let mut failures = Vec::new();
    for (name, spec) in &specs {
        eprintln!("smoke {name}: {:?}", spec.choices);
        if scope == "all" {
            for (var, what) in test_services(&catalog, spec) {
                assert!(
                    std::env::var_os(&var).is_some(),
                    "{name} needs {var}: {what} (.ci/run starts it)"
                );
            }
        }
        let dir = root.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let tree = omnistack::render::render(&catalog, spec).unwrap();
        omnistack::write::write_all(&tree, &dir).unwrap();
        let unchosen = unchosen_services(&catalog, spec);
        let result = step(&dir, &unchosen, &["fmt", "--check"])
            .and_then(|()| {
                step(
                    &dir,
                    &unchosen,
                    &["clippy", "--all-targets", "--", "-D", "warnings"],
                )
            })
            .and_then(|()| step(&dir, &unchosen, &["test"]));
        if let Err(report) = result {
            failures.push(format!("{name} ({:?}):\n{report}", spec.choices));
        }
    }
    if !failures.is_empty() {
        let kept = root.keep();
        panic!(
            "{} of {} generated projects failed (kept in {}):\n\n{}",
            failures.len(),
            specs.len(),
            kept.display(),
            failures.join("\n\n")
        );
    }
    eprintln!(
        "smoke: {} projects passed fmt, clippy and test",
        specs.len()
    );
}

/// Replaces `anchor` in `dir/path` (which must contain it) with `replacement`.
fn edit(dir: &Path, path: &str, anchor: &str, replacement: &str) {
    let file = dir.join(path);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains(anchor),
        "{path} no longer contains {anchor:?}: update this test's edit"
    );
    std::fs::write(&file, text.replacen(anchor, replacement, 1)).unwrap();
}

/// DESIGN §3 in practice: a team edits the default project (a new route, a changed handler),
/// then switches providers with `omnistack add`; the merged project must still be clean.
#[test]
fn an_edited_default_project_still_passes_after_add() {
    let catalog = omnistack::catalog::load(&omnistack::source::templates().unwrap()).unwrap();
    let root = tempfile::Builder::new()
        .prefix("omnistack-smoke-edit-")
        .tempdir()
        .unwrap();
    let dir = root.path().join("smoke-edited");
    let spec = omnistack::spec::resolve(&catalog, "smoke-edited", &[]).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    omnistack::write::write_all(&omnistack::render::render(&catalog, &spec).unwrap(), &dir)
        .unwrap();

    // A new route in its own module, wired into the router.
    std::fs::write(
        dir.join("src/http/ping.rs"),
        "//! A route the team added after generation.\n\n/// Answers `pong`.\npub async fn ping() -> &'static str {\n    \"pong\"\n}\n",
    )
    .unwrap();
    edit(
        &dir,
        "src/http/mod.rs",
        "pub mod pagination;\n",
        "pub mod pagination;\nmod ping;\n",
    );
    edit(
        &dir,
        "src/http/mod.rs",
        "        .merge(health::router())\n",
        "        .merge(health::router())\n        .route(\"/api/v1/public/ping\", get(ping::ping))\n",
    );
    // A changed handler.
    edit(
        &dir,
        "src/http/health.rs",
        "async fn live() -> Json<Check> {\n",
        "async fn live() -> Json<Check> {\n    tracing::trace!(\"liveness probe\");\n",
    );

    let mut changes = vec![["database", "postgres"]];
    if catalog.provider("cache", "redis").is_some() {
        changes.push(["cache", "redis"]);
    }
    let mut final_spec = spec.clone();
    for [category, provider] in changes {
        let out = Command::new(env!("CARGO_BIN_EXE_omnistack"))
            .args(["add", category, provider])
            .current_dir(&dir)
            .env_remove("OMNISTACK_TEMPLATES")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "add {category} {provider} in {}:\n{}{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut answers = final_spec.answers();
        answers.insert(category.to_owned(), vec![provider.to_owned()]);
        final_spec = omnistack::spec::resolve(&catalog, "smoke-edited", &[&answers]).unwrap();
    }
    let health = std::fs::read_to_string(dir.join("src/http/health.rs")).unwrap();
    assert!(
        health.contains("tracing::trace!(\"liveness probe\");"),
        "the handler edit was lost"
    );
    assert!(
        dir.join("src/http/ping.rs").exists(),
        "the new route was lost"
    );

    let unchosen = unchosen_services(&catalog, &final_spec);
    let result = step(&dir, &unchosen, &["fmt", "--check"])
        .and_then(|()| {
            step(
                &dir,
                &unchosen,
                &["clippy", "--all-targets", "--", "-D", "warnings"],
            )
        })
        .and_then(|()| step(&dir, &unchosen, &["test"]));
    if let Err(report) = result {
        let kept = root.keep();
        panic!(
            "the edited project failed after add (kept in {}):\n{report}",
            kept.display()
        );
    }
}
