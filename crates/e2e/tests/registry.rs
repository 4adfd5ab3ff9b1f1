//! The operator as users get it: its image built without a container engine
//! (hack/image) and its chart packaged, both pushed to an OCI registry on
//! loopback (go-containerregistry's, built from hack/registry), then
//! `helm install oci://...` with Helm 3 and 4 on the local control plane.
//!
//! - The image's config: a non-root user, the binary as entrypoint, the
//!   version and source labels; its one layer holds the binary and the
//!   user's passwd entries, no shell. The binary extracted from the pushed
//!   layer runs `--version` (the crate's) and `render`.
//! - Two builds of the image have the same digest.
//! - The chart's version and appVersion are the crate's; installed from the
//!   registry, the operator Deployment's image is the pushed digest.
//! - The release workflow (.github/workflows/release.yml) passes actionlint.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use wandb_e2e::{
    Cluster, HELMS, Registry, WorkDir, build_go_tools, cache_dir, crane, repo_root, report, run,
    serial,
};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The registry, crane and actionlint, built from hack/registry (Go's
/// cache makes a second build a no-op).
fn tools() -> (PathBuf, PathBuf, PathBuf) {
    let bin = build_go_tools(
        &cache_dir().join("bin"),
        &[
            ".",
            "github.com/google/go-containerregistry/cmd/crane",
            "github.com/rhysd/actionlint/cmd/actionlint",
        ],
    );
    (
        bin.join("registry"),
        bin.join("crane"),
        bin.join("actionlint"),
    )
}

/// The release workflow that does the same on a tag passes actionlint.
#[test]
fn the_release_workflow_is_lint_clean() {
    let (_, _, actionlint) = tools();
    let mut cmd = Command::new(actionlint);
    cmd.arg(".github/workflows/release.yml")
        .current_dir(repo_root());
    let out = ok(cmd, "actionlint");
    assert!(out.trim().is_empty(), "{out}");
    let workflow = std::fs::read_to_string(repo_root().join(".github/workflows/release.yml"))
        .expect("the workflow");
    for step in [
        "hack/image",
        "crane push",
        "helm push",
        "cosign sign",
        "sha256sum",
        "sbom",
    ] {
        assert!(
            workflow.contains(step),
            "the release workflow has no {step}"
        );
    }
}

fn ok(mut cmd: Command, what: &str) -> String {
    cmd.stdin(Stdio::null());
    let out = run(cmd, None, Duration::from_secs(1800));
    assert!(
        out.success(),
        "{what}: {}\n{}{}",
        out.describe_status(),
        out.stdout,
        out.stderr
    );
    out.stdout
}

/// hack/image into `out`; returns the image's digest.
fn build_image(out: &Path, binary: Option<&Path>) -> String {
    let mut cmd = Command::new(repo_root().join("hack/image"));
    cmd.arg("--out").arg(out);
    if let Some(b) = binary {
        cmd.arg("--binary").arg(b);
    }
    let stdout = ok(cmd, "hack/image");
    stdout.lines().last().unwrap_or_default().trim().to_string()
}

#[test]
fn the_image_and_the_chart_install_from_a_registry() {
    let _serial = serial();
    let work = WorkDir::new("registry");
    let (registry_bin, crane_bin, _) = tools();
    let registry = Registry::start(&registry_bin, None);
    let image = format!("{}/wandb-operator", registry.address);

    // The image, twice: the same bytes.
    let first = build_image(&work.0.join("image"), None);
    let static_binary = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("target"))
        .join("x86_64-unknown-linux-gnu/release/wandb-operator");
    let second = build_image(&work.0.join("again"), Some(&static_binary));
    assert!(first.starts_with("sha256:"), "{first:?}");
    assert_eq!(first, second, "two builds of the image differ");

    let layout = work.0.join("image/oci");
    crane(
        &crane_bin,
        &[
            "push",
            &layout.to_string_lossy(),
            &format!("{image}:{VERSION}"),
        ],
    );
    let tarball = work.0.join(format!("image/wandb-operator-{VERSION}.tar"));
    crane(
        &crane_bin,
        &[
            "push",
            &tarball.to_string_lossy(),
            &format!("{image}:tarball"),
        ],
    );
    let digest = crane(&crane_bin, &["digest", &format!("{image}:{VERSION}")]);
    assert_eq!(digest.trim(), first, "the registry has another digest");

    // Its config.
    let config: Value = serde_json::from_str(&crane(
        &crane_bin,
        &["config", &format!("{image}:{VERSION}")],
    ))
    .expect("a JSON config");
    let c = &config["config"];
    assert_eq!(c["User"], "65532:65532");
    assert_eq!(c["Entrypoint"][0], "/usr/local/bin/wandb-operator");
    assert_eq!(c["Cmd"][0], "run");
    assert_eq!(c["Labels"]["org.opencontainers.image.version"], VERSION);
    assert!(
        c["Labels"]["org.opencontainers.image.source"]
            .as_str()
            .is_some_and(|s| s.starts_with("https://")),
        "{c}"
    );

    // Its layer, as pulled: the binary and nothing to run a shell with.
    let exported = work.0.join("exported.tar");
    crane(
        &crane_bin,
        &[
            "export",
            &format!("{image}@{first}"),
            &exported.to_string_lossy(),
        ],
    );
    let mut tar = Command::new("tar");
    tar.arg("-tf").arg(&exported);
    let files = ok(tar, "tar -t");
    assert!(
        files.lines().any(|f| f == "usr/local/bin/wandb-operator"),
        "{files}"
    );
    assert!(
        !files
            .lines()
            .any(|f| f.ends_with("bin/sh") || f.ends_with("busybox")),
        "a shell in the image: {files}"
    );
    let root = work.0.join("rootfs");
    std::fs::create_dir_all(&root).expect("a directory");
    let mut tar = Command::new("tar");
    tar.arg("-xf").arg(&exported).arg("-C").arg(&root);
    ok(tar, "tar -x");
    let binary = root.join("usr/local/bin/wandb-operator");
    let mut cmd = Command::new(&binary);
    cmd.arg("--version");
    assert_eq!(
        ok(cmd, "--version").trim(),
        format!("wandb-operator {VERSION}")
    );
    let mut cmd = Command::new(&binary);
    cmd.args(["render", "--set", "global.host=https://wandb.example.com"])
        .args(["--set", "global.license=l", "--skip-tests"]);
    assert!(ok(cmd, "render").contains("kind: Deployment"));

    // The chart, versioned as the crate, pushed, installed from there.
    let chart_yaml = std::fs::read_to_string(repo_root().join("charts/operator-wandb/Chart.yaml"))
        .expect("Chart.yaml");
    assert!(
        chart_yaml.contains(&format!("\nversion: {VERSION}\n")),
        "{chart_yaml}"
    );
    assert!(
        chart_yaml.contains(&format!("\nappVersion: \"{VERSION}\"\n")),
        "{chart_yaml}"
    );
    let packages = work.0.join("packages");
    let h = HELMS[0];
    h.ok(
        &work.0,
        None,
        &[
            "package",
            "charts/operator-wandb",
            "-d",
            &packages.to_string_lossy(),
        ],
    );
    let package = packages.join(format!("operator-wandb-{VERSION}.tgz"));
    let charts = format!("oci://{}/charts", registry.address);
    h.ok(
        &work.0,
        None,
        &["push", &package.to_string_lossy(), &charts, "--plain-http"],
    );

    for h in HELMS {
        // A cluster per Helm: each installs release `wandb` of the chart,
        // whose cluster-wide objects one release alone may own.
        let cluster = Cluster::up(&format!("registry-{}", h.name()));
        let repository = format!("--set=operator.image.repository={image}");
        let pinned = format!("--set=operator.image.digest={first}");
        let reference = format!("{charts}/operator-wandb");
        h.install(
            &work.0,
            &cluster.kubeconfig,
            &[
                "install",
                "wandb",
                &reference,
                "--version",
                VERSION,
                "--plain-http",
                &repository,
                &pinned,
                "--set=global.host=https://wandb.example.com",
                "--set=global.license=l",
            ],
        );
        let deployment = cluster.get_json(&["deployment", "wandb-operator"]);
        let running = deployment
            .pointer("/spec/template/spec/containers/0/image")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        assert_eq!(running, format!("{image}@{first}"), "{}", h.name());
        report(format!(
            "registry: {} installed oci://.../operator-wandb:{VERSION}, the operator runs {running}",
            h.name()
        ));
    }
}
