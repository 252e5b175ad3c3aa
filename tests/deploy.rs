//! The deploy files of every preset and pairwise combination, through real validators:
//! hadolint (Dockerfile), actionlint and the GitHub workflow schema (workflows),
//! check-jsonschema (the compose specification; fly.toml, railway.toml and render.yaml
//! against `tests/deploy/schemas/`), kubernetes-validate (the Kubernetes 1.37 schemas,
//! strict). Render only: no project is built; the generated Rust is the smoke test's.
//!
//! `.ci/services/deploy.sh` installs the validators and sets `OMNISTACK_DEPLOY_VALIDATORS`;
//! without them this test skips with a notice, with that variable set a missing one fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use omnistack::catalog::{self, Catalog};
use omnistack::spec::Spec;

const VALIDATORS: &[&str] = &[
    "hadolint",
    "actionlint",
    "check-jsonschema",
    "kubernetes-validate",
];

fn real_catalog() -> Catalog {
    catalog::load(&omnistack::source::templates().unwrap()).unwrap()
}

fn schema(name: &str) -> String {
    format!(
        "{}/tests/deploy/schemas/{name}.schema.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// True when every validator is on `PATH`; otherwise skips (prints why) or, in CI, fails.
fn validators_present() -> bool {
    let missing: Vec<&str> = VALIDATORS
        .iter()
        .copied()
        .filter(|tool| Command::new(tool).arg("--version").output().is_err())
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("OMNISTACK_DEPLOY_VALIDATORS").is_none(),
        "OMNISTACK_DEPLOY_VALIDATORS is set but {} not on PATH",
        missing.join(", ")
    );
    eprintln!(
        "skipping the deploy validators: {} not on PATH (source .ci/services/deploy.sh)",
        missing.join(", ")
    );
    false
}

/// Runs `tool args files...`; the output names the failing file and rule.
fn validate(tool: &str, args: &[&str], files: &[PathBuf]) -> Result<(), String> {
    if files.is_empty() {
        return Ok(());
    }
    let output = Command::new(tool)
        .args(args)
        .args(files)
        .output()
        .map_err(|e| format!("{tool}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{tool} {}:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Which validator run a generated path belongs to, if it is a deploy file.
fn group(path: &str) -> Option<&'static str> {
    match path {
        "Dockerfile" => Some("dockerfile"),
        "docker-compose.yml" => Some("compose"),
        "fly.toml" => Some("fly"),
        "railway.toml" => Some("railway"),
        "render.yaml" => Some("render"),
        "deploy/k8s/kustomization.yaml" => Some("kustomization"),
        p if p.starts_with(".github/workflows/") => Some("workflows"),
        p if p.starts_with("deploy/k8s/") => Some("kubernetes"),
        _ => None,
    }
}

fn flag(catalog: &Catalog, spec: &Spec, name: &str) -> bool {
    omnistack::render::capabilities(catalog, spec).unwrap()[name] == toml::Value::Boolean(true)
}

/// Checks a schema cannot express: the file refers to what the project really has.
fn check_references(catalog: &Catalog, spec: &Spec, dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let here = |what: &str| format!("{}: {what}", dir.display());
    if let Ok(text) = std::fs::read_to_string(dir.join("fly.toml")) {
        let fly: toml::Table = toml::from_str(&text).expect("fly.toml is TOML");
        let service = &fly["http_service"];
        if service["internal_port"].as_integer() != Some(8080) {
            problems.push(here("fly.toml: internal_port is not the image's 8080"));
        }
        let checks = service["checks"].as_array().expect("http_service.checks");
        if !checks
            .iter()
            .any(|c| c["path"].as_str() == Some("/health/ready"))
        {
            problems.push(here("fly.toml: no check on /health/ready"));
        }
        let release = fly.get("deploy").and_then(|d| d.get("release_command"));
        if flag(catalog, spec, "database_server") != release.is_some() {
            problems.push(here(
                "fly.toml: a release_command exactly when the database is a server",
            ));
        }
        let worker = fly["processes"].get("worker").is_some();
        let in_process = fly["env"].get("JOBS_IN_PROCESS").and_then(|v| v.as_str());
        if worker != (in_process == Some("false")) {
            problems.push(here(
                "fly.toml: JOBS_IN_PROCESS=false exactly when a worker process group runs the jobs",
            ));
        }
    }
    // A dedicated worker and `JOBS_IN_PROCESS=false` on the web processes come together:
    // with only the worker the web processes still run jobs, with only the flag none does.
    if let Ok(text) = std::fs::read_to_string(dir.join("render.yaml"))
        && text.contains("- type: worker") != text.contains("key: JOBS_IN_PROCESS")
    {
        problems.push(here(
            "render.yaml: JOBS_IN_PROCESS exactly when a worker service runs the jobs",
        ));
    }
    let k8s = dir.join("deploy/k8s");
    if let Ok(config) = std::fs::read_to_string(k8s.join("configmap.yaml"))
        && k8s.join("worker.yaml").is_file() != config.contains("JOBS_IN_PROCESS: \"false\"")
    {
        problems.push(here(
            "deploy/k8s: JOBS_IN_PROCESS=false in the ConfigMap exactly with worker.yaml",
        ));
    }
    if let Ok(text) = std::fs::read_to_string(k8s.join("kustomization.yaml")) {
        let mut in_resources = false;
        for line in text.lines() {
            if !line.starts_with(' ') {
                in_resources = line == "resources:";
            } else if let Some(file) = line.trim().strip_prefix("- ").filter(|_| in_resources)
                && !k8s.join(file).is_file()
            {
                problems.push(here(&format!("kustomization.yaml lists missing {file}")));
            }
        }
    }
    problems
}

#[test]
fn deploy_files_of_every_combination_pass_their_validators() {
    if !validators_present() {
        return;
    }
    let started = std::time::Instant::now();
    let catalog = real_catalog();
    let root = tempfile::tempdir().unwrap();
    let mut groups: BTreeMap<&str, Vec<PathBuf>> = BTreeMap::new();
    let mut problems = Vec::new();
    let combos = omnistack::matrix::presets_and_pairwise(&catalog, "demo-app").unwrap();
    for (label, spec) in &combos {
        let tree = omnistack::render::render(&catalog, spec).unwrap();
        let dir = root.path().join(label);
        for (path, bytes) in &tree {
            let Some(group) = group(path) else { continue };
            let file = dir.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, bytes).unwrap();
            if path != "deploy/k8s/kustomization.yaml" {
                groups.entry(group).or_default().push(file);
            }
        }
        for (file, provider) in [
            ("Dockerfile", "docker"),
            (".github/workflows/ci.yml", "github-actions"),
            ("fly.toml", "fly"),
            ("railway.toml", "railway"),
            ("render.yaml", "render"),
            ("deploy/k8s/kustomization.yaml", "kubernetes"),
        ] {
            if tree.contains_key(file) != spec.has("deploy", provider) {
                problems.push(format!(
                    "{label}: {file} present without deploy {provider} or missing with it"
                ));
            }
        }
        problems.extend(check_references(&catalog, spec, &dir));
    }
    let files = |g: &str| groups.get(g).cloned().unwrap_or_default();
    let runs = [
        validate("hadolint", &[], &files("dockerfile")),
        validate("actionlint", &[], &files("workflows")),
        validate(
            "check-jsonschema",
            &["--builtin-schema", "vendor.github-workflows"],
            &files("workflows"),
        ),
        validate(
            "check-jsonschema",
            &["--builtin-schema", "vendor.compose-spec"],
            &files("compose"),
        ),
        validate(
            "check-jsonschema",
            &["--schemafile", &schema("fly")],
            &files("fly"),
        ),
        validate(
            "check-jsonschema",
            &["--schemafile", &schema("railway")],
            &files("railway"),
        ),
        validate(
            "check-jsonschema",
            &["--schemafile", &schema("render")],
            &files("render"),
        ),
        validate(
            "kubernetes-validate",
            &["--strict", "--quiet"],
            &files("kubernetes"),
        ),
    ];
    problems.extend(runs.into_iter().filter_map(Result::err));
    for group in [
        "dockerfile",
        "workflows",
        "compose",
        "fly",
        "railway",
        "render",
        "kubernetes",
    ] {
        assert!(
            !files(group).is_empty(),
            "no combination renders a {group} file: the matrix lost a deploy provider"
        );
    }
    eprintln!(
        "validated the deploy files of {} combinations in {:.1?}",
        combos.len(),
        started.elapsed()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The validators are not vacuous: each refuses a typical mistake in its kind of file.
#[test]
fn the_validators_refuse_broken_deploy_files() {
    if !validators_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        vec![path]
    };
    let fly_schema = schema("fly");
    let railway_schema = schema("railway");
    let render_schema = schema("render");
    let cases: Vec<(&str, Vec<&str>, Vec<PathBuf>)> = vec![
        (
            "hadolint",
            vec![],
            // Unpinned image, apt lists left in the image, recommends installed.
            write(
                "Dockerfile",
                "FROM debian\nRUN apt-get update && apt-get install curl\n",
            ),
        ),
        (
            "actionlint",
            vec![],
            write(
                "ci.yml",
                "on: push\njobs:\n  t:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.nope }}\n",
            ),
        ),
        (
            "check-jsonschema",
            vec!["--builtin-schema", "vendor.compose-spec"],
            write(
                "compose.yml",
                "services:\n  app:\n    image: x\n    portz: [\"80:80\"]\n",
            ),
        ),
        (
            "check-jsonschema",
            vec!["--schemafile", &fly_schema],
            write(
                "fly.toml",
                "app = \"x\"\nprimary_region = \"iad\"\n[processes]\napp = \"x\"\n[http_service]\ninternal_port = \"8080\"\n",
            ),
        ),
        (
            "check-jsonschema",
            vec!["--schemafile", &railway_schema],
            write("railway.toml", "[deploy]\nhealthCheckPath = \"/health\"\n"),
        ),
        (
            "check-jsonschema",
            vec!["--schemafile", &render_schema],
            write(
                "render.yaml",
                "services:\n  - type: web\n    name: x\n    runtime: docker\n    envVars:\n      - key: A\n",
            ),
        ),
        (
            "kubernetes-validate",
            vec!["--strict", "--quiet"],
            write(
                "deployment.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replicas: two\n",
            ),
        ),
    ];
    for (tool, args, files) in cases {
        assert!(
            validate(tool, &args, &files).is_err(),
            "{tool} {args:?} accepted {}",
            files[0].display()
        );
    }
}
