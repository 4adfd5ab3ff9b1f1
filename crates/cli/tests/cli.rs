//! The `render` command from the outside: exit codes, messages, output.

use std::io::Write;
use std::process::{Command, Output};

fn render(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wandb-operator"))
        .arg("render")
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit 1, nothing on stdout, and every expected phrase on stderr.
fn assert_fails(o: &Output, phrases: &[&str]) {
    assert_eq!(o.status.code(), Some(1), "stderr: {}", stderr(o));
    assert!(o.stdout.is_empty(), "no partial output on error");
    for p in phrases {
        assert!(stderr(o).contains(p), "expected {p:?} in:\n{}", stderr(o));
    }
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wandb-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    path
}

#[test]
fn default_render_succeeds_and_is_yaml() {
    let o = render(&[
        "--set",
        "global.host=https://wandb.example.com",
        "--set",
        "global.license=k",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout.clone()).unwrap();
    assert!(text.starts_with("---\n# Source: "));
    assert!(text.contains("name: wandb-app-bc"));
    assert!(
        stderr(&o).is_empty(),
        "no warnings expected: {}",
        stderr(&o)
    );
}

#[test]
fn a_wrong_type_names_the_key() {
    let o = render(&["--set", "app.replicaCount=two"]);
    assert_fails(
        &o,
        &["error: app.replicaCount: expected an integer, found a string \"two\""],
    );
}

#[test]
fn every_problem_is_reported_one_per_line() {
    let o = render(&[
        "--set",
        "app.replicaCount=two,console.replicaCount=x,global.api.enabled=maybe",
    ]);
    assert_fails(
        &o,
        &[
            "app.replicaCount",
            "console.replicaCount",
            "global.api.enabled",
        ],
    );
    assert_eq!(
        stderr(&o)
            .lines()
            .filter(|l| l.starts_with("error: "))
            .count(),
        3
    );
}

#[test]
fn an_unknown_key_is_a_warning_with_a_suggestion() {
    let o = render(&["--set", "app.replicaCont=2"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains(
            "warning: app.replicaCont: unknown key, ignored (did you mean replicaCount?)"
        ),
        "{}",
        stderr(&o)
    );
    assert!(!o.stdout.is_empty());
}

#[test]
fn a_malformed_set_is_an_error() {
    assert_fails(
        &render(&["--set", "app.replicaCount"]),
        &["--set app.replicaCount", "has no value"],
    );
    assert_fails(&render(&["--set", "a[x]=1"]), &["list index"]);
}

#[test]
fn invalid_yaml_is_an_error_with_its_location() {
    let f = temp_file("bad.yaml", "global:\n  host: [\n");
    assert_fails(
        &render(&["-f", f.to_str().unwrap()]),
        &["bad.yaml: invalid YAML", "line"],
    );
}

#[test]
fn an_unreadable_file_is_an_error() {
    assert_fails(
        &render(&["-f", "/nonexistent/values.yaml"]),
        &["/nonexistent/values.yaml: cannot read the file"],
    );
}

#[test]
fn a_negative_replica_count_is_an_error() {
    assert_fails(
        &render(&["--set", "app.replicaCount=-1"]),
        &["app.replicaCount: must be 0 or more, found -1"],
    );
}

/// As upstream: the Secret named by `global.licenseSecret` wins, and the
/// license given inline is said to be ignored.
#[test]
fn a_license_given_twice_takes_the_secret_and_says_so() {
    let o = render(&[
        "--set",
        "global.license=abc",
        "--set",
        "global.licenseSecret.name=lic",
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert!(
        stderr(&o).contains("global.license: is ignored: global.licenseSecret.name"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn output_dir_writes_one_file_per_object() {
    let dir = std::env::temp_dir().join(format!("wandb-cli-out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let o = render(&["--output-dir", dir.to_str().unwrap(), "--skip-tests"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(files.len() > 50, "{} files", files.len());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_command_has_help_with_examples_and_completions_exist() {
    for command in [
        "render",
        "apply",
        "status",
        "check",
        "run",
        "crd",
        "completions",
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_wandb-operator"))
            .args([command, "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{command} --help");
        assert!(
            help.contains("Example"),
            "{command} --help has no examples:\n{help}"
        );
    }
    for shell in ["bash", "zsh", "fish"] {
        let o = Command::new(env!("CARGO_BIN_EXE_wandb-operator"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(
            o.status.success() && o.stdout.len() > 1000,
            "{shell} completions"
        );
    }
}

/// `wandb-operator crd | head` and the like: a reader that went away ends
/// the command quietly, with no panic message.
#[test]
fn a_closed_stdout_ends_a_command_quietly() {
    let commands: [&[&str]; 4] = [
        &["crd"],
        &["completions", "bash"],
        &["render", "--set", "global.host=https://x.example.com"],
        &["check", "--set", "global.host=https://x.example.com"],
    ];
    for args in commands {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        // The read end is closed before the command writes a byte.
        drop(reader);
        let o = Command::new(env!("CARGO_BIN_EXE_wandb-operator"))
            .args(args)
            .stdout(writer)
            .output()
            .expect("the binary runs");
        assert!(
            !stderr(&o).contains("panicked"),
            "{args:?} panicked on a closed stdout: {}",
            stderr(&o)
        );
        assert!(o.status.code().is_some(), "{args:?} died of a signal");
    }
}

/// Installed as `kubectl-wandb` on PATH, the binary is the kubectl plugin
/// `kubectl wandb`: the same commands, its help in kubectl's words.
#[test]
fn as_kubectl_wandb_it_is_a_kubectl_plugin() {
    let dir = std::env::temp_dir().join(format!("wandb-plugin-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plugin = dir.join("kubectl-wandb");
    let _ = std::fs::remove_file(&plugin);
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_wandb-operator"), &plugin).unwrap();
    let o = Command::new(&plugin).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    assert!(help.contains("Usage: kubectl wandb <COMMAND>"), "{help}");
    assert!(help.contains("status"), "{help}");
    let o = Command::new(&plugin)
        .args(["render", "--set", "global.host=https://x.example.com"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("kind: Deployment"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 30: an unknown size was a warning (exit 0) and the default sizing
/// ran; the operator refuses it now, and so does the CLI. A size that a
/// service's `sizing` defines is a size.
#[test]
fn an_unknown_size_is_an_error_unless_a_service_defines_it() {
    let host = "global.host=https://wandb.example.com";
    let o = render(&["--set", host, "--set", "global.size=huge"]);
    assert_fails(&o, &["global.size: \"huge\" is not a known size"]);
    let o = render(&[
        "--set",
        host,
        "--set",
        "global.size=huge",
        "--set",
        "app.sizing.huge.replicaCount=3",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
