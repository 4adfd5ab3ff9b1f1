//! `wandb-operator run` on the host, as the chart's ServiceAccount.

use super::*;

/// Starts the operator (the harness's [`Operator`]) for namespace `ns` with
/// a token of the chart's ServiceAccount `<release>-operator`, its log and
/// kubeconfig in `work`.
pub fn start_operator(cluster: &Cluster, ns: &str, work: &Path) -> Operator {
    start_operator_as(cluster, ns, work, &format!("{RELEASE}-operator"))
}

/// The same with the ServiceAccount `sa` (of another release's name).
pub fn start_operator_as(cluster: &Cluster, ns: &str, work: &Path, sa: &str) -> Operator {
    let identity = format!("e2e-chart-{}", std::process::id());
    Operator::start_as(cluster, ns, sa, &identity, work)
}

/// Log lines where the API server refused the operator something.
pub fn denied(log: &str) -> Vec<String> {
    // Not "Forbidden" alone: the API server says it of an immutable
    // field too, when the operator replaces a StatefulSet.
    log.lines()
        .filter(|l| {
            l.contains("Unauthorized")
                || ((l.contains("forbidden") || l.contains("Forbidden"))
                    && !l.contains("replacing"))
        })
        .map(|l| l.chars().take(600).collect())
        .collect()
}

/// Fails the test if the operator was denied anything so far.
pub fn assert_not_denied(operator: &Operator) {
    let denied = denied(&plain(&operator.log_text()));
    assert!(
        denied.is_empty(),
        "the chart's RBAC is not enough: the operator (ServiceAccount {}) was denied:\n{}",
        service_account(operator),
        denied.join("\n")
    );
}

/// `NAMESPACE/NAME` of the ServiceAccount the operator runs as.
pub fn service_account(operator: &Operator) -> &str {
    operator.service_account.as_deref().unwrap_or("(admin)")
}
