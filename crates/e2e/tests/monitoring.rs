//! The chart's monitoring objects (PodMonitor, PrometheusRule, dashboard
//! ConfigMap), as `helm template` renders them with the monitoring values
//! on, are accepted by an API server that has the Prometheus operator's
//! published CRDs (from its Go module, as the Go module proxy serves it):
//! a server-side dry run validates them against those schemas.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use wandb_e2e::{cache_dir, repo_root, run, split_documents, suite_cluster};

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
        "operator.monitoring.serviceMonitor.enabled=true",
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
                || d.kind == "ServiceMonitor"
                || d.kind == "PrometheusRule"
                || (d.kind == "ConfigMap" && d.name.ends_with("-dashboard"))
        })
        .collect();
    let kinds: Vec<&str> = docs.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "ConfigMap",
            "PodMonitor",
            "PrometheusRule",
            "ServiceMonitor"
        ],
        "rendered: {kinds:?}"
    );
    assert!(
        docs[1].yaml.contains("release: prometheus"),
        "{}",
        docs[1].yaml
    );

    // The suite's cluster: the CRDs are added, the objects only dry-run.
    let cluster = suite_cluster("e2e-monitoring");
    cluster.install_crds(&crds.join("monitoring.coreos.com_podmonitors.yaml"));
    cluster.install_crds(&crds.join("monitoring.coreos.com_servicemonitors.yaml"));
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
        "servicemonitor.monitoring.coreos.com/wandb",
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

// ---------------------------------------------------------------- a real Prometheus

/// A Prometheus server on loopback that scrapes one operator every second
/// and evaluates the chart's rules, their `for:` shortened to `hold` so that
/// a test sees them fire in seconds. Killed when dropped.
struct Prometheus {
    child: std::process::Child,
    port: u16,
}

impl Prometheus {
    fn start(dir: &std::path::Path, operator_port: u16, hold: &str) -> Prometheus {
        std::fs::create_dir_all(dir).expect("a directory for Prometheus");
        let rules = std::fs::read_to_string(
            repo_root().join("charts/operator-wandb/files/prometheus-rules.yaml"),
        )
        .expect("the rules");
        let rules: String = rules
            .lines()
            .map(|l| match l.trim_start().strip_prefix("for: ") {
                Some(_) => format!("{}for: {hold}\n", &l[..l.len() - l.trim_start().len()]),
                None => format!("{l}\n"),
            })
            .collect();
        std::fs::write(dir.join("rules.yaml"), rules).expect("rules.yaml");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files: [rules.yaml]\n\
             scrape_configs:\n  - job_name: wandb-operator\n    static_configs:\n      \
             - targets: ['127.0.0.1:{operator_port}']\n"
        );
        std::fs::write(dir.join("prometheus.yml"), config).expect("prometheus.yml");
        let port = wandb_e2e::free_port();
        let log = std::fs::File::create(dir.join("prometheus.log")).expect("a log");
        let child = Command::new("prometheus")
            .current_dir(dir)
            .args([
                "--config.file=prometheus.yml",
                "--storage.tsdb.path=data",
                &format!("--web.listen-address=127.0.0.1:{port}"),
            ])
            .stdout(log.try_clone().expect("the log"))
            .stderr(log)
            .spawn()
            .expect(
                "prometheus (Debian's prometheus package; hack/test-servers start installs it)",
            );
        Prometheus { child, port }
    }

    /// The names of the alerts firing now, with their `name` label.
    fn firing(&self) -> Result<Vec<(String, String)>, String> {
        let (code, body) = wandb_e2e::http_get(self.port, "/api/v1/alerts")?;
        if code != 200 {
            return Err(format!("HTTP {code}: {body}"));
        }
        let v: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
        Ok(v["data"]["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["state"] == "firing")
            .map(|a| {
                (
                    a["labels"]["alertname"].as_str().unwrap_or("").to_string(),
                    a["labels"]["name"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect())
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An install that cannot become Ready (its values are refused) fires
/// WandbInstallNotReady in a real Prometheus that scrapes the operator, and
/// the alert resolves once the values are fixed and the install is Ready.
#[test]
fn a_real_prometheus_alerts_on_an_install_not_ready_until_it_is() {
    use wandb_e2e::{Operator, Tenant, apply_resource, wait_for};
    let ns = "wandb";
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e-monitoring");
    let _ = std::fs::remove_dir_all(&dir);
    let cluster = Tenant::new("e2e-monitoring", ns);
    let mut operator = Operator::start(&cluster, ns, "op-0", &dir);
    operator.wait_leading(Duration::from_secs(60));
    let prometheus = Prometheus::start(&dir.join("prometheus"), operator.port, "5s");

    let good =
        serde_json::json!({"global": {"host": "https://wandb.example.com", "license": "test"}});
    let mut bad = good.clone();
    bad["app"] = serde_json::json!({"replicaCount": -1});
    apply_resource(&cluster, ns, "wandb", &bad);
    let server = &prometheus;
    let firing = |want: bool| {
        move || {
            let alerts = server.firing()?;
            let on = alerts.contains(&("WandbInstallNotReady".to_string(), "wandb".to_string()));
            if on == want {
                Ok(())
            } else {
                Err(format!("firing: {alerts:?}"))
            }
        }
    };
    let ((), took) = wait_for(
        "WandbInstallNotReady to fire",
        Duration::from_secs(120),
        Duration::from_secs(1),
        firing(true),
    );
    eprintln!(
        "[monitoring] WandbInstallNotReady fired {:.1} s after the bad values",
        took.as_secs_f64()
    );

    apply_resource(&cluster, ns, "wandb", &good);
    let ((), took) = wait_for(
        "WandbInstallNotReady to resolve",
        Duration::from_secs(300),
        Duration::from_secs(1),
        firing(false),
    );
    eprintln!(
        "[monitoring] it resolved {:.1} s after the values were fixed",
        took.as_secs_f64()
    );
    drop(prometheus);
    drop(operator);
}
