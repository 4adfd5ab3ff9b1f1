//! The log of a Job's newest pod: what the engine shows of a failed
//! migration and what `wandb-operator backup list` prints.

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, ListParams, LogParams};

/// The log of the newest pod of `job` (`tail_lines` of it, or all);
/// `request` is told of each API request ("list", "log"), for metrics.
pub async fn job_log(
    client: &kube::Client,
    namespace: &str,
    job: &str,
    tail_lines: Option<i64>,
    request: &(dyn Fn(&str) + Sync),
) -> Result<String, String> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    request("list");
    let selector = format!("batch.kubernetes.io/job-name={job}");
    let list = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| format!("listing its pods: {e}"))?;
    let newest = list
        .items
        .iter()
        .max_by(|a, b| {
            a.metadata
                .creation_timestamp
                .cmp(&b.metadata.creation_timestamp)
        })
        .ok_or("the Job has no pod left")?;
    request("log");
    let params = LogParams {
        tail_lines,
        ..Default::default()
    };
    match pods.logs(&newest.name_any(), &params).await {
        Ok(text) => Ok(text),
        Err(kube::Error::Api(e)) => Err(e.message),
        Err(e) => Err(e.to_string()),
    }
}
