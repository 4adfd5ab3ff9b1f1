//! The chart's monitoring objects (PodMonitor, PrometheusRule, dashboard
//! ConfigMap), as `helm template` renders them with the monitoring values
//! on, are accepted by an API server that has the Prometheus operator's
//! published CRDs (from its Go module, as the Go module proxy serves it):
//! a server-side dry run validates them against those schemas.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use wandb_e2e::{Cluster, cache_dir, repo_root, run, split_documents};

/// The Prometheus operator's release whose CRDs the test applies.
const PROMETHEUS_OPERATOR: &str = "github.com/prometheus-operator/prometheus-operator@v0.85.0";
const NS: &str = "monitoring-test";

/// The directory of the Prometheus operator's module, downloaded once.
fn prometheus_operator_module() -> PathBuf {
    let mut cmd = Command::new("go");
    cmd.args(["mod", "download", "-json", PROMETHEUS_OPERATOR])
        .env("GOFLAGS", "-mod=mod");
    let out = run(cmd, None, Duration::from_secs(300));
    assert!(
        out.success(),
        "go mod download {PROMETHEUS_OPERATOR} ({}):\n{}{}",
        out.describe_status(),
        out.stdout,
        out.stderr
    );
    let info: serde_json::Value = serde_json::from_str(&out.stdout).expect("go's JSON");
    PathBuf::from(info["Dir"].as_str().expect("the module's Dir"))
}

#[test]
fn the_monitoring_objects_are_valid_for_the_prometheus_operator() {
    let crds = prometheus_operator_module().join("example/prometheus-operator-crd");
    let helm = cache_dir().join("bin/helm3");
    let mut cmd = Command::new(&helm);
    cmd.current_dir(repo_root()).args([
        "template",
        "wandb",
        "charts/operator-wandb",
        "--namespace",
        NS,
        "--set",
        "global.host=https://wandb.example.com",
        "--set",
        "global.license=test",
        "--set",
        "operator.monitoring.podMonitor.enabled=true",
        "--set",
        "operator.monitoring.podMonitor.labels.release=prometheus",
        "--set",
        "operator.monitoring.prometheusRule.enabled=true",
        "--set",
        "operator.monitoring.dashboard.enabled=true",
    ]);
    let out = run(cmd, None, Duration::from_secs(120));
    assert!(out.success(), "helm template: {}", out.stderr);
    let docs: Vec<_> = split_documents(&out.stdout)
        .into_iter()
        .filter(|d| {
            d.kind == "PodMonitor"
                || d.kind == "PrometheusRule"
                || (d.kind == "ConfigMap" && d.name.ends_with("-dashboard"))
        })
        .collect();
    let kinds: Vec<&str> = docs.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["ConfigMap", "PodMonitor", "PrometheusRule"],
        "rendered: {kinds:?}"
    );
    assert!(
        docs[1].yaml.contains("release: prometheus"),
        "{}",
        docs[1].yaml
    );

    let cluster = Cluster::up("e2e-monitoring");
    cluster.install_crds(&crds.join("monitoring.coreos.com_podmonitors.yaml"));
    cluster.install_crds(&crds.join("monitoring.coreos.com_prometheusrules.yaml"));
    cluster.kubectl_ok(&["create", "namespace", NS], None);
    let yaml: String = docs.iter().map(|d| format!("---\n{}\n", d.yaml)).collect();
    let out = cluster.kubectl(
        &[
            "apply",
            "--server-side",
            "--dry-run=server",
            "--field-manager=e2e",
            "-f",
            "-",
        ],
        Some(&yaml),
        Duration::from_secs(60),
    );
    assert!(
        out.success() && out.stderr.trim().is_empty(),
        "the API server refused or warned ({}):\n{}{}",
        out.describe_status(),
        out.stdout,
        out.stderr
    );
    for name in [
        "configmap/wandb-operator-dashboard",
        "podmonitor.monitoring.coreos.com/wandb-operator",
        "prometheusrule.monitoring.coreos.com/wandb-operator",
    ] {
        assert!(
            out.stdout.contains(name),
            "{name} not accepted:\n{}",
            out.stdout
        );
    }

    // The dashboard is JSON Grafana can load: a title and panels.
    let dashboard = docs[0]
        .yaml
        .split_once("wandb-operator.json: |-\n")
        .map(|(_, json)| {
            json.lines()
                .map(str::trim_start)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .expect("the dashboard's data");
    let dashboard: serde_json::Value = serde_json::from_str(&dashboard).expect("JSON");
    assert_eq!(dashboard["title"], "W&B (wandb-operator)");
    assert!(
        dashboard["panels"]
            .as_array()
            .is_some_and(|p| p.len() >= 10)
    );
}
