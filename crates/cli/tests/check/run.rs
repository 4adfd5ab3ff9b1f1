//! Running `wandb-operator check` and reading its report.

use super::*;

/// `wandb-operator check ARGS`, with no kubeconfig unless one is given.
pub fn check_with(args: &[String], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wandb-operator"));
    cmd.arg("check")
        .args(["--set", "global.host=https://wandb.example.com"])
        .args(args)
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the binary runs")
}

pub fn check(args: &[String]) -> Output {
    check_with(args, &[])
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Whether `l` is the report line of `store`/`check`.
pub fn is_line(l: &str, store: &str, check: &str) -> bool {
    let Some(rest) = ["PASS", "WARN", "FAIL", "SKIP"]
        .iter()
        .find_map(|s| l.strip_prefix(s))
    else {
        return false;
    };
    match rest.trim_start().strip_prefix(store) {
        Some(after) => after.starts_with(' ') && after.trim_start().starts_with(check),
        None => false,
    }
}

/// The report's line for `store`/`check`, which must have `status`.
pub fn line(o: &Output, status: &str, store: &str, check: &str) -> String {
    let text = stdout(o);
    match text.lines().find(|l| is_line(l, store, check)) {
        Some(l) if l.starts_with(status) => l.to_string(),
        Some(l) => panic!("expected {status} for {store} {check}, got:\n{l}\n\nreport:\n{text}"),
        None => panic!(
            "no line for {store} {check} in:\n{text}\nstderr:\n{}",
            String::from_utf8_lossy(&o.stderr)
        ),
    }
}

/// The hint under the line for `store`/`check`.
pub fn hint(o: &Output, store: &str, check: &str) -> String {
    let text = stdout(o);
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| is_line(l, store, check))
        .unwrap_or_else(|| panic!("no line for {store} {check} in:\n{text}"));
    lines
        .get(at + 1)
        .and_then(|l| l.trim_start().strip_prefix("hint: "))
        .unwrap_or_else(|| panic!("no hint under {store} {check} in:\n{text}"))
        .to_string()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exited")
}
