//! What the operator and the API server count.

use super::*;

/// An operator's counters: (reconciles, API requests by verb).
pub fn counters(op: &Operator) -> (f64, BTreeMap<String, f64>) {
    let m = op
        .metrics()
        .unwrap_or_else(|e| panic!("metrics of '{}': {e}", op.identity));
    let reconciles = m.sum("wandb_operator_reconciles_total", &[]);
    let requests = m
        .samples("wandb_operator_api_requests_total")
        .into_iter()
        .map(|(l, v)| (l.get("verb").cloned().unwrap_or_default(), v))
        .collect();
    (reconciles, requests)
}

/// The API server's own count of requests, by (verb, resource, subresource).
pub fn apiserver_requests(cluster: &Tenant) -> BTreeMap<(String, String, String), f64> {
    let text = cluster.kubectl_ok(&["get", "--raw", "/metrics"], None);
    let m = wandb_e2e::Metrics { text };
    let mut out = BTreeMap::new();
    for (l, v) in m.samples("apiserver_request_total") {
        let key = (
            l.get("verb").cloned().unwrap_or_default(),
            l.get("resource").cloned().unwrap_or_default(),
            l.get("subresource").cloned().unwrap_or_default(),
        );
        *out.entry(key).or_insert(0.0) += v;
    }
    out
}
