//! What a failed migration Job reports: which Job, since when, and the
//! last lines of its pod's log with every secret value masked. Pure: the
//! engine reads the Job, its log and its Secrets.

use std::collections::BTreeSet;

use base64::Engine;
use serde_json::Value;

/// Lines of the pod's log that the status and the Event show.
pub const LOG_LINES: i64 = 10;
/// A log line longer than this is cut.
const LINE_WIDTH: usize = 200;
/// Values shorter than this are not masked: `1`, `true` or a port would
/// mask half the log and protect nothing.
const SHORTEST_MASKED: usize = 6;

/// When a live Job failed: its `Failed` condition's transition time.
pub fn failed_at(job: &Value) -> Option<String> {
    job.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Failed" && c["status"] == "True")
        .map(|c| {
            c["lastTransitionTime"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
}

/// What one failure's message starts with: a new failure (a new Job, or
/// the same one failing again later) has another.
pub fn failure_prefix(job: &str, at: &str) -> String {
    format!("the migration Job/{job} failed at {at}")
}

/// The `Ready` condition's message (and the Event's note) of a failed migration.
pub fn failure_message(job: &str, at: &str, log: Result<String, String>) -> String {
    let log = match log {
        Ok(text) if text.trim().is_empty() => "its pod's log is empty".to_string(),
        Ok(text) => format!("the last lines of its pod's log:\n{}", clip_lines(&text)),
        Err(why) => format!("its pod's log could not be read: {why}"),
    };
    format!(
        "{}; the services keep running the version they ran. Fix the values, or delete the \
         Job to run it again. {log}",
        failure_prefix(job, at)
    )
}

fn clip_lines(text: &str) -> String {
    text.lines()
        .map(|line| match line.char_indices().nth(LINE_WIDTH) {
            Some((cut, _)) => format!("{}...", &line[..cut]),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The Secrets a workload takes values from (`secretKeyRef`, `secretRef`,
/// secret volumes), by name.
pub fn secret_names(body: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    collect_secret_names(body, &mut names);
    names
}

fn collect_secret_names(v: &Value, names: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (key, child) in m {
                let name = match key.as_str() {
                    "secretKeyRef" | "secretRef" => child.get("name"),
                    "secret" => child.get("secretName"),
                    _ => None,
                };
                if let Some(name) = name.and_then(Value::as_str) {
                    names.insert(name.to_string());
                }
                collect_secret_names(child, names);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_secret_names(i, names)),
        _ => {}
    }
}

/// Every value a Secret holds (`data` decoded, and `stringData`).
pub fn secret_values(secret: &Value) -> Vec<String> {
    let encoded = secret["data"].as_object().into_iter().flatten();
    let decoded = encoded.filter_map(|(_, v)| {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(v.as_str()?)
            .ok()?;
        String::from_utf8(bytes).ok()
    });
    let plain = secret["stringData"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, v)| v.as_str().map(str::to_string));
    decoded.chain(plain).collect()
}

/// `text` with every secret value (and each of its lines) replaced by `****`.
pub fn mask(text: &str, values: &[String]) -> String {
    let mut secrets: Vec<&str> = values
        .iter()
        .flat_map(|v| std::iter::once(v.as_str()).chain(v.lines()))
        .map(str::trim)
        .filter(|v| v.chars().count() >= SHORTEST_MASKED)
        .collect();
    // Longest first: a value that contains another is masked whole.
    secrets.sort_by_key(|v| std::cmp::Reverse(v.len()));
    secrets.dedup();
    let mut out = text.to_string();
    for secret in secrets {
        out = out.replace(secret, "****");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_failure_time_is_the_failed_conditions() {
        let job = json!({"status": {"conditions": [
            {"type": "FailureTarget", "status": "True", "lastTransitionTime": "2026-12-01T10:00:00Z"},
            {"type": "Failed", "status": "True", "lastTransitionTime": "2026-12-01T10:00:01Z"}]}});
        assert_eq!(failed_at(&job).as_deref(), Some("2026-12-01T10:00:01Z"));
        assert_eq!(failed_at(&json!({"status": {}})), None);
    }

    #[test]
    fn secret_values_are_masked_in_the_log() {
        let secret = json!({
            "data": {"password": "czNjcjN0LXB3", "port": "MzMwNg=="},
            "stringData": {"url": "mysql://wandb:hunter22@db:3306/wandb"},
        });
        let values = secret_values(&secret);
        assert!(values.contains(&"s3cr3t-pw".to_string()), "{values:?}");
        let log = "connecting to mysql://wandb:hunter22@db:3306/wandb\nauth failed for password s3cr3t-pw\n";
        let masked = mask(log, &values);
        assert!(
            !masked.contains("s3cr3t-pw") && !masked.contains("hunter22"),
            "{masked}"
        );
        assert!(masked.contains("auth failed for password ****"), "{masked}");
        // Short values (a port) are left: masking them hides the log, not a secret.
        assert!(mask("port 3306", &values).contains("3306"));
    }

    #[test]
    fn the_secrets_a_workload_reads_are_found() {
        let job = json!({"spec": {"template": {"spec": {
            "containers": [{
                "env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "wandb-mysql", "key": "p"}}}],
                "envFrom": [{"secretRef": {"name": "wandb-extra"}}, {"configMapRef": {"name": "cm"}}],
            }],
            "volumes": [{"name": "tls", "secret": {"secretName": "wandb-tls"}}],
        }}}});
        let names: Vec<String> = secret_names(&job).into_iter().collect();
        assert_eq!(names, ["wandb-extra", "wandb-mysql", "wandb-tls"]);
    }

    #[test]
    fn the_message_names_the_job_and_shows_the_log_or_why_not() {
        let m = failure_message("wandb-migrate", "T", Ok("a\nb".into()));
        assert!(m.starts_with(&failure_prefix("wandb-migrate", "T")), "{m}");
        assert!(m.ends_with("log:\na\nb"), "{m}");
        let m = failure_message("wandb-migrate", "T", Err("no kubelet".into()));
        assert!(m.ends_with("could not be read: no kubelet"), "{m}");
        let long = "x".repeat(500);
        assert!(failure_message("j", "T", Ok(long)).len() < 500);
    }
}
