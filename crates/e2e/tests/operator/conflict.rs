//! A second install of the same name reports a conflict.

use super::*;

/// A second resource named `wandb` in another namespace would share the
/// first one's cluster-wide objects (named after the resource, as
/// upstream's are after the release): it reports a Conflict naming them,
/// and the first install keeps them, unchanged, even when the second goes.
#[test]
fn a_second_install_of_the_same_name_reports_a_conflict() {
    let _serial = serial();
    let t0 = Instant::now();
    // A cluster of its own: its operator watches every namespace, and would
    // take the other tests' installs on a shared cluster for its own.
    let cluster = Tenant::alone("e2e-op", "conflict", NS);
    let other = "wandb-2";
    cluster.restricted_namespace(other);
    let log = log_dir("conflict").join("e2e-operator.log");
    let _ = std::fs::remove_file(&log);
    let mut op = Operator::start_with(
        &cluster,
        &["--all-namespaces", "--lease-namespace", cluster.ns()],
        "e2e-operator",
        &log,
    );
    op.wait_leading(Duration::from_secs(60));
    install(&cluster);
    let binding = |c: &Cluster| c.get_json(&["clusterrolebinding", "wandb-console"]);
    let before = binding(&cluster);
    assert_eq!(
        text(&before, "/metadata/annotations/apps.wandb.com~1owner"),
        "wandb/wandb"
    );

    let second = manifest(&cluster, &base_values()).replace(
        &format!("\"namespace\":\"{}\"", cluster.ns()),
        &format!("\"namespace\":\"{other}\""),
    );
    assert!(second.contains(other), "{second}");
    cluster.kubectl_ok(&["apply", "-f", "-"], Some(&second));
    let (message, took) = wait_for(
        "the second install reports a conflict",
        Duration::from_secs(60),
        POLL,
        || {
            let res = cluster.get_json(&["-n", other, "weightsandbiases", NAME]);
            match condition(&res, "Ready") {
                Some(c) if c["reason"] == "Conflict" => Ok(text(&c, "/message").to_string()),
                _ => Err(summary(&res)),
            }
        },
    );
    assert!(
        message
            .contains("ClusterRoleBinding/wandb-console belongs to weightsandbiases wandb/wandb"),
        "{message}"
    );
    let events = cluster.kubectl_ok(
        &[
            "-n",
            other,
            "get",
            "events",
            "--field-selector",
            "reason=Conflict",
            "-o",
            "name",
        ],
        None,
    );
    assert!(!events.trim().is_empty(), "no Conflict event");
    // The first install is untouched, now and after the second is deleted.
    thread::sleep(Duration::from_secs(3));
    let res = resource(&cluster);
    assert_eq!(condition_status(&res, "Ready"), "True", "{}", summary(&res));
    let during = binding(&cluster);
    assert_eq!(
        text(&during, "/metadata/resourceVersion"),
        text(&before, "/metadata/resourceVersion"),
        "the first install's ClusterRoleBinding was written"
    );
    cluster.kubectl_ok(
        &[
            "-n",
            other,
            "delete",
            "weightsandbiases",
            NAME,
            "--wait=true",
        ],
        None,
    );
    let after = binding(&cluster);
    assert_eq!(
        text(&after, "/metadata/uid"),
        text(&before, "/metadata/uid"),
        "deleting the second install deleted the first one's ClusterRoleBinding"
    );
    report(format!(
        "conflict: a second `wandb` in namespace {other} reported Conflict {} after creation; \
         the first's cluster-wide objects unchanged and kept when it was deleted; test {}",
        secs(took),
        secs(t0.elapsed())
    ));
}
