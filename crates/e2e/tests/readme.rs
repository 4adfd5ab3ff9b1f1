//! The README's step-by-step local cluster, run as written (issue 20): its shell
//! block goes to bash line for line, once with Helm 3 (`helm`) and once with
//! Helm 4 (`helm4` for `helm`). It starts its own cluster with
//! `hack/cluster up`, runs the operator beside it, installs, waits, prints
//! the status, runs `helm test`, upgrades, waits again with `status --wait`,
//! uninstalls, stops the operator and takes the cluster down.
//!
//! What the test changes in the text, and only this: the cluster's name
//! (`WANDB_CLUSTER`, so that a developer's `default` cluster is left alone),
//! the metrics port (a free one), the operator's log file (in the test's
//! work directory), `helm` for `helm4`, and `status --wait` runs inside a
//! pseudo-terminal of 80 columns (`script`), whose screens are checked: each
//! refresh replaces the last, and no line is wider than 80 columns.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use wandb_e2e::{
    HELMS, Helm, WorkDir, cache_dir, free_port, operator_binary, plain, repo_root, run,
};

/// How long the whole block may take (the install and upgrade take seconds).
const BLOCK_TIMEOUT: Duration = Duration::from_secs(900);

/// The first `sh` block of the README's section `heading`.
fn readme_block(heading: &str) -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let section = readme
        .split_once(heading)
        .unwrap_or_else(|| panic!("README.md has no section {heading:?}"))
        .1;
    let body = section
        .split_once("```sh\n")
        .unwrap_or_else(|| panic!("section {heading:?} has no sh block"))
        .1;
    body.split_once("\n```")
        .unwrap_or_else(|| panic!("the sh block of {heading:?} does not end"))
        .0
        .to_string()
}

/// The block with the test's substitutions (see the module's doc).
fn as_the_test_runs_it(block: &str, h: Helm, port: u16, work: &Path) -> String {
    let mut script = String::new();
    for line in block.lines() {
        let mut line = line
            .replace("127.0.0.1:9090", &format!("127.0.0.1:{port}"))
            .replace(
                ">/tmp/wandb-operator.log",
                &format!(">{}/operator.log", work.display()),
            );
        if h == Helm::V4 && line.starts_with("helm ") {
            line = format!("helm4 {}", &line["helm ".len()..]);
        }
        if line.starts_with("wandb-operator status --wait") {
            let command = line.split('#').next().unwrap_or_default().trim();
            line = format!(
                "script -qefc 'stty cols 80 rows 50; {command}' {}/status.pty >/dev/null",
                work.display()
            );
        }
        script.push_str(&line);
        script.push('\n');
    }
    script
}

/// The screens `status --wait` drew: the text between clear-screen codes,
/// colours taken out.
fn screens(pty: &str) -> Vec<String> {
    pty.split("\x1b[2J\x1b[H")
        .skip(1)
        .map(|s| plain(s).replace('\r', ""))
        .collect()
}

#[test]
fn screens_are_split_at_each_refresh() {
    let pty = "\x1b[2J\x1b[Hwandb \x1b[33mProgressing\x1b[0m\r\n\x1b[2J\x1b[Hwandb Ready\r\n";
    assert_eq!(screens(pty), ["wandb Progressing\n", "wandb Ready\n"]);
}

#[test]
fn the_test_changes_only_what_it_says() {
    let block = "helm install x\nwandb-operator run --metrics-addr 127.0.0.1:9090 >/tmp/wandb-operator.log 2>&1 &\n\
                 wandb-operator status --wait          # comment\nkubectl wait";
    let s = as_the_test_runs_it(block, Helm::V4, 1234, Path::new("/w"));
    assert_eq!(
        s,
        "helm4 install x\nwandb-operator run --metrics-addr 127.0.0.1:1234 >/w/operator.log 2>&1 &\n\
         script -qefc 'stty cols 80 rows 50; wandb-operator status --wait' /w/status.pty >/dev/null\n\
         kubectl wait\n"
    );
}

/// Issue 30: the block wrote `operator.log` into the repository and served
/// the operator's metrics on the port of `global.host`.
#[test]
fn the_block_writes_outside_the_repository_on_ports_apart() {
    let block = readme_block("### Step by step");
    let port_after = |marker: &str| -> String {
        let rest = block
            .split_once(marker)
            .unwrap_or_else(|| panic!("the block has no {marker:?}"))
            .1;
        rest.chars().take_while(char::is_ascii_digit).collect()
    };
    let metrics = port_after("--metrics-addr 127.0.0.1:");
    let host = port_after("global.host=http://localhost:");
    assert_ne!(metrics, host, "the operator's metrics on the host's port");
    for line in block.lines().filter(|l| !l.trim_start().starts_with('#')) {
        for target in line.split('>').skip(1) {
            let target = target.trim_start_matches(['&', '"']);
            let path: String = target.chars().take_while(|c| !c.is_whitespace()).collect();
            assert!(
                path.is_empty()
                    || path.starts_with('/')
                    || path.chars().all(|c| c.is_ascii_digit() || c == '&'),
                "the block writes {path:?} into the repository: {line}"
            );
        }
    }
}

/// Takes the block's cluster down should the block fail half-way.
struct ClusterName(String);

impl Drop for ClusterName {
    fn drop(&mut self) {
        let mut cmd = Command::new(repo_root().join("hack/cluster"));
        cmd.args(["down", &self.0]);
        let _ = run(cmd, None, Duration::from_secs(120));
    }
}

#[test]
fn the_readme_local_cluster_section_runs_as_written() {
    let block = readme_block("### Step by step");
    for must in [
        "hack/cluster up",
        "wandb-operator run",
        "helm install wandb ./charts/operator-wandb",
        "kubectl wait --for=condition=Ready wandb/wandb",
        "helm test wandb",
        "helm upgrade wandb",
        "wandb-operator status --wait",
        "helm uninstall wandb",
        "hack/cluster down",
    ] {
        assert!(block.contains(must), "the README's block lost `{must}`");
    }
    for h in HELMS {
        run_block(&block, h);
    }
}

fn run_block(block: &str, h: Helm) {
    let work = WorkDir::new(&format!("readme-{}", h.name()));
    let bin = work.0.join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    std::os::unix::fs::symlink(operator_binary(), bin.join("wandb-operator")).expect("symlink");
    let name = ClusterName(format!("e2e-readme-{}-{}", h.name(), std::process::id()));
    let port = free_port();
    let script = as_the_test_runs_it(block, h, port, &work.0);
    // Should the block fail half-way: its background operator goes too.
    let guarded = format!(
        "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{script}\
         wait || true   # the operator, stopped by the block, has ended\n\
         ! hack/cluster list | grep -q \"^$WANDB_CLUSTER[[:space:]]\" || {{ echo 'the cluster is still up' >&2; exit 1; }}\n"
    );
    let path = std::env::var("PATH").unwrap_or_default();
    let mut cmd = Command::new("bash");
    cmd.args(["-euo", "pipefail", "-xc", &guarded])
        .current_dir(repo_root())
        .env("PATH", format!("{}:{path}", bin.display()))
        .env("WANDB_CLUSTER", &name.0)
        .env("WANDB_OPERATOR_CACHE", cache_dir())
        .env("HELM_CONFIG_HOME", work.0.join("helm/config"))
        .env("HELM_CACHE_HOME", work.0.join("helm/cache"))
        .env("HELM_DATA_HOME", work.0.join("helm/data"))
        .env_remove("KUBECONFIG");
    eprintln!(
        "[readme] running the README's local-cluster block with {}",
        h.name()
    );
    let out = run(cmd, None, BLOCK_TIMEOUT);
    let log = std::fs::read_to_string(work.0.join("operator.log")).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(30).collect();
    assert!(
        out.success(),
        "the README's block failed with {} ({}):\n--- stdout\n{}\n--- stderr (bash -x)\n{}\n--- operator log, last lines\n{}",
        h.name(),
        out.describe_status(),
        out.stdout,
        out.stderr,
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    );

    assert_eq!(
        out.stdout.matches("TEST SUITE:").count(),
        1,
        "helm test reports one test:\n{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Phase:          Succeeded"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("wandb") && out.stdout.contains("Ready"),
        "`wandb-operator status` printed:\n{}",
        out.stdout
    );
    assert!(!out.stdout.contains('\x1b'), "colour codes in piped output");

    let pty = std::fs::read_to_string(work.0.join("status.pty")).expect("status.pty");
    let screens = screens(&pty);
    assert!(
        !screens.is_empty(),
        "status --wait on a terminal did not redraw in place: {pty:?}"
    );
    for screen in &screens {
        for line in screen.lines() {
            assert!(
                line.chars().count() <= 80,
                "{} columns on an 80-column terminal: {line:?}",
                line.chars().count()
            );
        }
    }
    let last = screens.last().map(String::as_str).unwrap_or_default();
    assert!(last.contains("Ready"), "the last screen: {last}");
    eprintln!(
        "[readme] SUMMARY {}: the README's local-cluster block ran as written in {:.1} s \
         ({} lines); helm test one suite, Succeeded; status --wait drew {} screens in place, \
         none wider than 80 columns; no process and no cluster left",
        h.name(),
        out.elapsed.as_secs_f64(),
        block.lines().count(),
        screens.len()
    );
}
