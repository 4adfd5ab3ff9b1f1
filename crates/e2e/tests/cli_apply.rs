//! `wandb-operator apply -f - --wait`: values piped on stdin reach the
//! cluster's WeightsAndBiases resource, and the command reconciles the
//! install itself (no operator running) until it is Ready.

use std::process::Command;
use std::time::Duration;

use wandb_e2e::{Cluster, cache_dir, operator_binary, run};

const NS: &str = "wandb-cli";
const VALUES: &str =
    "global:\n  host: https://cli.example.com\n  license: test-license\nweave:\n  install: false\n";

#[test]
fn apply_with_values_on_stdin_waits_until_ready() {
    let bin = operator_binary();
    let cluster = Cluster::up("e2e-cli-apply");
    cluster.restricted_namespace(NS);

    let mut cmd = Command::new(&bin);
    cmd.args([
        "apply",
        "-f",
        "-",
        "--namespace",
        NS,
        "--wait",
        "--timeout",
        "5m",
    ])
    .env("KUBECONFIG", &cluster.kubeconfig);
    let out = run(cmd, Some(VALUES.as_bytes()), Duration::from_secs(360));
    assert!(
        out.success(),
        "wandb-operator apply -f - --wait failed ({}):\n{}",
        out.describe_status(),
        out.stderr
    );

    let resource = cluster.get_json(&["-n", NS, "weightsandbiases", "wandb"]);
    let values = &resource["spec"]["values"];
    assert_eq!(
        values["global"]["host"], "https://cli.example.com",
        "the piped file's values are not in spec.values: {values}"
    );
    assert_eq!(values["weave"]["install"], false, "spec.values: {values}");
    let ready = resource["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True");
    assert!(ready, "not Ready after --wait: {}", resource["status"]);

    // The same binary as the kubectl plugin `kubectl wandb`.
    let plugins = std::env::temp_dir().join(format!("e2e-kubectl-plugin-{}", std::process::id()));
    std::fs::create_dir_all(&plugins).expect("a plugin directory");
    let plugin = plugins.join("kubectl-wandb");
    let _ = std::fs::remove_file(&plugin);
    std::os::unix::fs::symlink(&bin, &plugin).expect("kubectl-wandb");
    let kubectl_dir = cache_dir().join("bin");
    let path = format!(
        "{}:{}:{}",
        plugins.display(),
        kubectl_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new(kubectl_dir.join("kubectl"));
    cmd.args(["wandb", "status", "-n", NS])
        .env("PATH", path)
        .env("KUBECONFIG", &cluster.kubeconfig);
    let out = run(cmd, None, Duration::from_secs(60));
    assert!(
        out.success()
            && out
                .stdout
                .contains("WeightsAndBiases/wandb in wandb-cli: Ready"),
        "kubectl wandb status ({}):\n{}{}",
        out.describe_status(),
        out.stdout,
        out.stderr
    );
    let _ = std::fs::remove_dir_all(&plugins);

    // What the file turned off is not there.
    let deployments = cluster.kubectl_ok(&["-n", NS, "get", "deployments", "-o", "name"], None);
    assert!(
        !deployments.contains("wandb-weave\n") && deployments.contains("wandb-app"),
        "deployments: {deployments}"
    );
}
