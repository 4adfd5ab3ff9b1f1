//! hack/cluster's own failure paths, on a fake cluster state in a scratch
//! cache (no control plane needed): a command that fails says why.
//!
//! The fault tests once failed in CI with `hack/cluster restart` exiting 1
//! and printing nothing: bash 5.2 under `set -e` exits a script, silently,
//! when the file of a `$(<file)` is gone, even inside `|| return 1`, and the
//! script read /proc files of processes that were exiting that way.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use wandb_e2e::{Output, repo_root, run};

const NAME: &str = "fake";

/// A scratch cache holding cluster `fake` as `hack/cluster up` leaves it,
/// with `pids` as the pid files' contents.
fn fake_cluster(test: &str, pids: &[(&str, &str)]) -> PathBuf {
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cluster-script-{test}"));
    let _ = std::fs::remove_dir_all(&cache);
    let state = cache.join("clusters").join(NAME);
    std::fs::create_dir_all(state.join("pids")).expect("scratch dir");
    std::fs::create_dir_all(state.join("logs")).expect("scratch dir");
    std::fs::write(state.join("ports"), "API_PORT=1\nETCD_PORT=2\n").expect("ports file");
    for (component, pid) in pids {
        std::fs::write(state.join(format!("pids/{component}.pid")), pid).expect("pid file");
    }
    cache
}

fn hack_cluster(cache: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(repo_root().join("hack/cluster"));
    cmd.args(args).env("WANDB_OPERATOR_CACHE", cache);
    run(cmd, None, Duration::from_secs(60))
}

/// Exit status 1, and stderr says why.
fn assert_fails_saying(out: &Output, why: &str) {
    assert_eq!(
        out.status.and_then(|s| s.code()),
        Some(1),
        "{}",
        out.describe_status()
    );
    assert!(
        out.stderr.contains(why),
        "stderr should say {why:?}, got: {:?}",
        out.stderr
    );
}

/// The pid of a process that has exited and been reaped.
fn dead_pid() -> String {
    let mut child = Command::new("true").spawn().expect("run true");
    let pid = child.id();
    child.wait().expect("wait for true");
    pid.to_string()
}

#[test]
fn restarting_a_component_that_is_gone_says_so() {
    let cache = fake_cluster("gone", &[("kwok", &dead_pid())]);
    let out = hack_cluster(&cache, &["restart", NAME, "kwok", "--kill"]);
    assert_fails_saying(&out, "kwok of cluster 'fake' is not running");
}

/// A real restart of a stand-in component, `sleep` in a session of its own,
/// reaped by this test as soon as it is killed: the moment at which the
/// script used to die while it waited for the process's threads to go (CI
/// reaps orphans at once; a PID 1 that leaves zombies hid the bug).
#[test]
fn restarting_a_component_kills_and_starts_it_again() {
    let mut stand_in = Command::new("setsid")
        .args(["sleep", "300"])
        .stdin(Stdio::null())
        .spawn()
        .expect("start setsid sleep");
    let first = stand_in.id().to_string();
    let reaper = thread::spawn(move || stand_in.wait());
    let cache = fake_cluster("restart", &[("kwok", &first)]);
    let out = hack_cluster(&cache, &["restart", NAME, "kwok", "--kill"]);
    let pid_file = cache.join("clusters").join(NAME).join("pids/kwok.pid");
    let second = std::fs::read_to_string(&pid_file).unwrap_or_default();
    let second = second.trim().to_string();
    // Whatever happened, leave no stand-in running.
    for pid in [&first, &second] {
        let _ = Command::new("kill").args(["-KILL", pid]).status();
    }
    let reaped = reaper.join().expect("reaper thread");
    assert!(
        out.success(),
        "{}\nstderr: {:?}",
        out.describe_status(),
        out.stderr
    );
    assert!(
        out.stderr.contains("kwok of cluster 'fake' is back"),
        "stderr: {:?}",
        out.stderr
    );
    assert!(
        reaped.is_ok_and(|s| !s.success()),
        "the first process should have been killed"
    );
    assert_ne!(second, first, "the pid file should name the new process");
}

#[test]
fn restarting_a_component_without_a_pid_file_says_so() {
    let cache = fake_cluster("no-pid-file", &[]);
    let out = hack_cluster(&cache, &["restart", NAME, "etcd"]);
    assert_fails_saying(&out, "etcd of cluster 'fake' has no pid file");
}

#[test]
fn a_cluster_whose_processes_are_gone_is_listed_unhealthy() {
    let pid = dead_pid();
    let components = [
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kwok",
    ];
    let pids: Vec<(&str, &str)> = components.iter().map(|c| (*c, pid.as_str())).collect();
    let cache = fake_cluster("list", &pids);
    let out = hack_cluster(&cache, &["list"]);
    assert!(out.success(), "{}\n{}", out.describe_status(), out.stderr);
    assert!(
        out.stdout.starts_with("fake\tunhealthy\t"),
        "stdout: {:?}",
        out.stdout
    );
}

/// `--help` prints the usage at the top of the script, and only that.
#[test]
fn help_is_the_usage_and_nothing_more() {
    let out = hack_cluster(Path::new("/nonexistent-cache"), &["--help"]);
    assert!(out.success(), "{}\n{}", out.describe_status(), out.stderr);
    assert!(
        out.stdout.contains("hack/cluster restart NAME COMPONENT"),
        "the usage names every command: {}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("Fault tests:"),
        "comments below the usage were printed too: {}",
        out.stdout
    );
}

/// No shell script under hack/ or .ci/ reads a file with `$(<file)` (see
/// the module doc); comments may name it.
#[test]
fn no_hack_script_reads_a_file_with_dollar_paren_less_than() {
    let mut offenders = Vec::new();
    let dirs = ["hack", ".ci"].map(|d| repo_root().join(d));
    let files = dirs.iter().flat_map(|dir| {
        std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|entry| entry.expect("directory entry").path())
    });
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // a directory or a binary
        };
        let shell = text.starts_with("#!/usr/bin/env bash")
            || text.starts_with("#!/bin/bash")
            || path.extension().is_some_and(|e| e == "sh");
        if !shell {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            if line.contains("$(<") && !line.trim_start().starts_with('#') {
                offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "use `read` instead:\n{}",
        offenders.join("\n")
    );
}
