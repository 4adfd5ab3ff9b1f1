//! The chart's alert rules, with Prometheus' own tool: they load
//! (`promtool check rules`) and each alert fires on the series that call for
//! it and only then (`promtool test rules` of
//! hack/monitoring/prometheus-rules.test.yaml). promtool comes with Debian's
//! `prometheus` package, which `hack/test-servers start` installs.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn promtool(args: &[&str]) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| {
            panic!("promtool: {e} (Debian's prometheus package has it: hack/test-servers start installs it)")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_alert_rules_load_and_their_unit_tests_pass() {
    let (ok, text) = promtool(&[
        "check",
        "rules",
        "charts/operator-wandb/files/prometheus-rules.yaml",
    ]);
    assert!(ok, "promtool check rules:\n{text}");
    assert!(text.contains("SUCCESS: 8 rules found"), "{text}");
    let (ok, text) = promtool(&[
        "test",
        "rules",
        "hack/monitoring/prometheus-rules.test.yaml",
    ]);
    assert!(ok, "promtool test rules:\n{text}");
}

/// Every alert has a unit test and a runbook section.
#[test]
fn every_alert_is_tested_and_has_a_runbook() {
    let rules =
        std::fs::read_to_string(repo().join("charts/operator-wandb/files/prometheus-rules.yaml"))
            .expect("the rules");
    let tests = std::fs::read_to_string(repo().join("hack/monitoring/prometheus-rules.test.yaml"))
        .expect("the rules' tests");
    let runbook =
        std::fs::read_to_string(repo().join("docs/monitoring.md")).expect("docs/monitoring.md");
    let alerts: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert_eq!(alerts.len(), 8, "{alerts:?}");
    for alert in alerts {
        assert!(
            tests.contains(&format!("alertname: {alert}\n")),
            "{alert} has no promtool test"
        );
        assert!(
            runbook.contains(&format!("### {alert}\n")),
            "{alert} has no section in docs/monitoring.md"
        );
        assert!(
            rules.contains(&format!("monitoring.md#{}\"", alert.to_lowercase())),
            "{alert}'s runbook_url is not its section"
        );
    }
}
