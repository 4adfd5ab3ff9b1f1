//! `hack/demo` leaves nothing running however it ends: interrupted with
//! Ctrl-C (SIGINT to its process group, as a terminal sends it) once the
//! operator runs, or stopped by a closed stdout (`hack/demo | head`) once
//! its cluster is up.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wandb_e2e::{cache_dir, operator_binary, repo_root};

/// The demo under cluster `name`, in a process group of its own, and its
/// stderr as read to the end (read all along, so the pipe never fills).
fn demo(name: &str) -> (Child, JoinHandle<String>) {
    let mut child = Command::new(repo_root().join("hack/demo"))
        .env("WANDB_DEMO_CLUSTER", name)
        .env("WANDB_OPERATOR_BIN", operator_binary())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("hack/demo starts");
    let stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut text);
        text
    });
    (child, reader)
}

/// Reads the demo's stdout up to a line containing `marker`.
fn read_until(out: &mut BufReader<ChildStdout>, marker: &str, seen: &mut String) {
    let deadline = Instant::now() + Duration::from_secs(900);
    let mut line = String::new();
    while Instant::now() < deadline {
        line.clear();
        match out.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                seen.push_str(&line);
                if line.contains(marker) {
                    return;
                }
            }
        }
    }
    panic!("the demo never printed {marker:?}; it printed:\n{seen}");
}

/// Whether a process runs (a zombie does not: it only waits to be reaped).
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// The processes of the demo: its process group, and the cluster's
/// components (in sessions of their own, their pids in the cluster's state).
fn processes(demo: &Child, cluster: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let pids = cache_dir().join("clusters").join(cluster).join("pids");
    for entry in std::fs::read_dir(&pids).into_iter().flatten().flatten() {
        if let Some(pid) = std::fs::read_to_string(entry.path())
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            out.push((pid, entry.file_name().to_string_lossy().into_owned()));
        }
    }
    let group = demo.id();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command: state, ppid, pgrp.
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let pgrp = rest.split(' ').nth(2).and_then(|s| s.parse::<u32>().ok());
        if pgrp == Some(group) && pid != group {
            let command = head.split_once(" (").map_or("", |(_, c)| c).to_string();
            out.push((pid, command));
        }
    }
    assert!(!out.is_empty(), "no process of the demo found");
    out
}

/// Waits for the demo to end (draining its output) and checks that none of
/// `before` runs and the cluster's state is gone.
fn ends_leaving_nothing(
    (mut demo, stderr): (Child, JoinHandle<String>),
    cluster: &str,
    before: &[(u32, String)],
    code: i32,
) {
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = demo.try_wait().expect("waiting for the demo") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = demo.kill();
            panic!("the demo did not end within 180 s of being stopped");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let err = stderr.join().unwrap_or_default();
    assert_eq!(status.code(), Some(code), "the demo's exit; stderr:\n{err}");
    // Processes reparented to init may take a moment to be reaped.
    std::thread::sleep(Duration::from_secs(1));
    let left: Vec<&(u32, String)> = before.iter().filter(|(pid, _)| running(*pid)).collect();
    assert!(left.is_empty(), "left running: {left:?}; stderr:\n{err}");
    assert!(
        err.contains("nothing is left running"),
        "the demo did not say it cleaned up; stderr:\n{err}"
    );
    assert!(
        !cache_dir()
            .join("clusters")
            .join(cluster)
            .join("pids")
            .exists(),
        "cluster '{cluster}' still has pid files"
    );
}

#[test]
fn ctrl_c_stops_the_operator_and_the_cluster() {
    let name = format!("e2e-demo-int-{}", std::process::id());
    let (mut child, stderr) = demo(&name);
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut seen = String::new();
    read_until(
        &mut out,
        "Waiting for every component to be Ready",
        &mut seen,
    );
    std::thread::sleep(Duration::from_secs(2));
    let before = processes(&child, &name);
    assert!(
        before.iter().any(|(_, c)| c.starts_with("wandb-operator")),
        "the operator is not running: {before:?}"
    );
    // A terminal's Ctrl-C: SIGINT to the whole foreground process group.
    let sent = Command::new("kill")
        .args(["-INT", "--", &format!("-{}", child.id())])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    // Keep reading, as a terminal would, until the demo closes its stdout.
    let drain = std::thread::spawn(move || out.lines().map_while(Result::ok).count());
    ends_leaving_nothing((child, stderr), &name, &before, 130);
    let _ = drain.join();
}

#[test]
fn a_closed_stdout_stops_the_demo_and_its_cluster() {
    let name = format!("e2e-demo-pipe-{}", std::process::id());
    let (mut child, stderr) = demo(&name);
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut seen = String::new();
    read_until(&mut out, "Installing the chart", &mut seen);
    let before = processes(&child, &name);
    // `hack/demo | head`: the reader goes away while the demo still writes.
    drop(out);
    ends_leaving_nothing((child, stderr), &name, &before, 141);
}
