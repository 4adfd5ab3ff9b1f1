//! Small helpers every suite uses.

use std::time::Duration;

use crate::*;

/// The namespace and the name of the install of the operator and fault
/// suites.
pub const NS: &str = "wandb";
pub const NAME: &str = "wandb";

/// The host and license of the tests' installs.
pub const HOST: &str = "https://wandb.example.com";
pub const LICENSE: &str = "e2e-license";

/// The values of a default install: a host and a license.
pub fn base_values() -> serde_json::Value {
    serde_json::json!({"global": {"host": HOST, "license": LICENSE}})
}

/// One test of a suite at a time (each starts its own cluster and the
/// machine may have two cores); a failed test does not poison the others.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A measurement, on a line of its own that starts with `[e2e] REPORT`.
/// Written to stderr itself: libtest keeps what a passing test prints with
/// `eprintln!` to itself, and a measurement belongs in every run's log.
pub fn report(line: String) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "[e2e] REPORT {line}");
}

/// `1.23 s`.
pub fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// The string at a JSON pointer, or "".
pub fn text<'a>(v: &'a serde_json::Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
}

/// Events about the WeightsAndBiases resources of `ns`: (type, reason,
/// note, count).
pub fn resource_events(cluster: &Cluster, ns: &str) -> Vec<(String, String, String, i64)> {
    let list = cluster.get_json(&["-n", ns, "events.events.k8s.io"]);
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| text(e, "/regarding/kind") == "WeightsAndBiases")
        .map(|e| {
            (
                text(e, "/type").to_string(),
                text(e, "/reason").to_string(),
                text(e, "/note").to_string(),
                e.pointer("/series/count")
                    .and_then(serde_json::Value::as_i64)
                    .unwrap_or(1),
            )
        })
        .collect()
}

/// The integer at a JSON pointer, or 0.
pub fn int(v: &serde_json::Value, pointer: &str) -> i64 {
    v.pointer(pointer)
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0)
}
