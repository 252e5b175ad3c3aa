//! `omnistack new`: answers → spec → rendered tree → staged write → git, fmt, next steps.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::Result;
use console::style;

use crate::catalog::Catalog;
use crate::cli::NewArgs;
use crate::spec::{Answers, Spec};
use crate::tree::Tree;
use crate::usage;
use crate::write::Existing;

pub fn run(catalog: &Catalog, args: NewArgs) -> Result<ExitCode> {
    let preset = match &args.preset {
        Some(p) => Some(crate::preset::find(p, &super::category_ids(catalog))?),
        None => None,
    };
    let mut flags = Answers::new();
    for (flag, values) in &args.category_flags {
        let category = catalog
            .category_by_flag(flag)
            .ok_or_else(|| usage!("--{flag}: not a category of this catalog"))?;
        flags.insert(category.id.clone(), values.clone());
    }

    let interactive = !args.yes && crate::prompt::is_interactive();
    let name = match args
        .name
        .clone()
        .or_else(|| preset.as_ref().and_then(|p| p.project_name.clone()))
    {
        Some(name) => name,
        None if interactive => crate::prompt::project_name(catalog)?,
        None => {
            return Err(usage!(
                "missing project name: `omnistack new NAME` (or run it in a terminal to be asked)"
            ));
        }
    };
    crate::names::validate_for(catalog, &name)?;

    let empty = Answers::new();
    let preset_answers = preset.as_ref().map_or(&empty, |p| &p.answers);
    let mut prompted = Answers::new();
    if interactive {
        for category in &catalog.categories {
            if !flags.contains_key(&category.id) && !preset_answers.contains_key(&category.id) {
                prompted.insert(category.id.clone(), crate::prompt::category(category)?);
            }
        }
    }
    let spec = crate::spec::resolve(catalog, &name, &[&flags, preset_answers, &prompted])?;
    let target = args.output.clone().unwrap_or_else(|| PathBuf::from(&name));
    let tree = crate::render::render(catalog, &spec)?;

    if args.dry_run {
        println!("Would write {} files to {}:", tree.len(), target.display());
        for (path, bytes) in &tree {
            println!("  {path} ({} bytes)", bytes.len());
        }
        return Ok(ExitCode::SUCCESS);
    }

    let existing = if args.force {
        Existing::Replace
    } else {
        Existing::Refuse
    };
    crate::write::write_new(&tree, &target, existing)?;
    println!(
        "{} {} ({} files)",
        style("Created").green().bold(),
        target.display(),
        tree.len()
    );

    if !args.no_fmt {
        cargo_fmt(&target);
    }
    if !args.no_git {
        git_init(&target);
    }
    print_next_steps(catalog, &spec, &target, &tree);
    if interactive {
        println!(
            "\nTo generate the same project without questions:\n  {}",
            equivalent_command(catalog, &spec, &args)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The non-interactive command line that produces `spec`.
pub fn equivalent_command(catalog: &Catalog, spec: &Spec, args: &NewArgs) -> String {
    let mut parts = vec!["omnistack".to_owned(), "new".to_owned(), spec.name.clone()];
    for category in &catalog.categories {
        parts.push(format!(
            "--{} {}",
            category.flag,
            spec.shown(&category.id).join(",")
        ));
    }
    if let Some(out) = &args.output {
        parts.push(format!("--output {}", out.display()));
    }
    parts.push("--yes".to_owned());
    parts.join(" ")
}

/// Whether `tool args...` runs and succeeds (each argument passed separately).
fn tool_available(tool: &str, args: &[&str]) -> bool {
    Command::new(tool)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Best effort: templates are already formatted; this keeps the promise if a user edited them.
fn cargo_fmt(dir: &Path) {
    if !tool_available("cargo", &["fmt", "--version"]) {
        return;
    }
    let status = Command::new("cargo")
        .arg("fmt")
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !status.is_ok_and(|s| s.success()) {
        eprintln!("note: `cargo fmt` did not run cleanly; the project is written as rendered");
    }
}

/// `git init` + initial commit, unless git is missing or the target is inside a work tree.
fn git_init(dir: &Path) {
    if !tool_available("git", &["--version"]) {
        eprintln!("note: git not found; skipped `git init`");
        return;
    }
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let inside = Command::new("git")
        .args(["rev-parse", "--is-inside-work-tree"])
        .current_dir(parent)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if inside {
        println!("Inside an existing git repository: skipped `git init`.");
        return;
    }
    let git = |args: &[&str]| {
        let mut cmd = Command::new("git");
        cmd.args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // A machine without a git identity still gets its initial commit.
        if std::env::var_os("GIT_AUTHOR_NAME").is_none() && !has_git_identity(dir) {
            cmd.env("GIT_AUTHOR_NAME", "omnistack")
                .env("GIT_AUTHOR_EMAIL", "omnistack@localhost")
                .env("GIT_COMMITTER_NAME", "omnistack")
                .env("GIT_COMMITTER_EMAIL", "omnistack@localhost");
        }
        cmd.status().is_ok_and(|s| s.success())
    };
    let ok = git(&["init", "-q"])
        && git(&["add", "-A"])
        && git(&["commit", "-q", "-m", "Initial commit from omnistack"]);
    if !ok {
        eprintln!("note: git init or the initial commit failed; run them yourself");
    }
}

fn has_git_identity(dir: &Path) -> bool {
    Command::new("git")
        .args(["config", "user.email"])
        .current_dir(dir)
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty())
}

fn print_next_steps(catalog: &Catalog, spec: &Spec, target: &Path, tree: &Tree) {
    println!("\n{}", style("Next steps").bold());
    println!("  cd {}", target.display());
    let required: Vec<String> = crate::render::env_vars(catalog, spec)
        .into_iter()
        .filter(|(v, _)| v.required)
        .map(|(v, _)| v.name)
        .collect();
    if !required.is_empty() && tree.contains_key(".env.example") {
        println!(
            "  cp .env.example .env    # development has defaults; production needs {}",
            required.join(", ")
        );
    }
    // Providers' steps (start a service, set a key) come before the base layer's (run it).
    let mut layers = crate::render::layers(catalog, spec);
    layers.rotate_left(1);
    for (_, layer) in layers {
        for step in &layer.next_steps {
            println!("  {step}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_checks_pass_each_argument_separately() {
        // cargo runs this test, so it is on PATH.
        assert!(tool_available("cargo", &["--version"]));
        // One argument "fmt --version" is no cargo subcommand: the old check always failed.
        assert!(!tool_available("cargo", &["fmt --version"]));
        // The rustfmt component ships `rustfmt` and `cargo fmt` together.
        if tool_available("rustfmt", &["--version"]) {
            assert!(tool_available("cargo", &["fmt", "--version"]));
        }
    }
}
