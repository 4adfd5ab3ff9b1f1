//! A foreign field manager fighting the operator over a field.

use super::*;

/// A field fight's watch events on one object: (when, value of the field).
pub fn field_timeline(
    lines: &[(Instant, String)],
    value: impl Fn(&Value) -> String,
) -> Vec<(Instant, String)> {
    let mut out: Vec<(Instant, String)> = Vec::new();
    for (at, line) in lines {
        let Ok(e) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if e["type"] != "MODIFIED" && e["type"] != "ADDED" {
            continue;
        }
        let v = value(&e["object"]);
        if out.last().is_none_or(|(_, last)| *last != v) {
            out.push((*at, v));
        }
    }
    out
}

/// Who fights over what: the Deployment, the intruder's apply and the
/// field's value as the operator and as the intruder set it.
pub struct Sides<'a> {
    pub deploy: &'a str,
    pub intruder: &'a str,
    pub ours: &'a str,
    pub theirs: &'a str,
}

/// One fight: the intruder applies its value every second for `length`;
/// returns (intruder writes, times it was set back, time at the operator's
/// value as a share of the fight, median set-back latency).
pub fn fight(
    cluster: &Tenant,
    what: &str,
    sides: Sides,
    value: impl Fn(&Value) -> String,
    length: Duration,
) -> (usize, usize, f64, Vec<Duration>) {
    let Sides {
        deploy,
        intruder,
        ours,
        theirs,
    } = sides;
    let live = cluster.get_json(&["-n", cluster.ns(), "deployment", deploy]);
    let rv = text(&live, "/metadata/resourceVersion").to_string();
    let url = format!(
        "/apis/apps/v1/namespaces/{}/deployments?fieldSelector=metadata.name%3D{deploy}&watch=true&resourceVersion={rv}&timeoutSeconds={}",
        cluster.ns(),
        length.as_secs() + 60
    );
    let watch = cluster.watch_raw(&url, length + Duration::from_secs(90));
    let start = Instant::now();
    let mut writes = Vec::new();
    let mut i = 0u32;
    while start.elapsed() < length {
        let due = start + Duration::from_secs(u64::from(i));
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
        let sent = Instant::now();
        let out = cluster.kubectl(
            &[
                "apply",
                "--server-side",
                "--field-manager=intruder",
                "--force-conflicts",
                "-f",
                "-",
            ],
            Some(intruder),
            Duration::from_secs(20),
        );
        assert!(
            out.success(),
            "{what}: the intruder's apply failed: {}",
            out.stderr
        );
        writes.push(sent);
        i += 1;
    }
    let end = Instant::now();
    // The last write is set back too.
    let (_, settled) = wait_for(
        &format!("{what}: the operator's value back after the fight"),
        REPAIR_BOUND,
        POLL,
        || {
            let d = cluster.get_json(&["-n", cluster.ns(), "deployment", deploy]);
            match value(&d) {
                v if v == ours => Ok(()),
                v => Err(format!("value {v}")),
            }
        },
    );
    thread::sleep(Duration::from_secs(1));
    let timeline = field_timeline(&watch.stop(), &value);
    // Each switch to the intruder's value, and how soon it was set back.
    let mut latencies = Vec::new();
    let mut theirs_since: Option<Instant> = None;
    let mut at_ours = Duration::ZERO;
    let mut ours_since: Option<Instant> = Some(start);
    for (at, v) in &timeline {
        if v == theirs {
            if let Some(s) = ours_since.take() {
                at_ours += at.saturating_duration_since(s.max(start));
            }
            theirs_since.get_or_insert(*at);
        } else if v == ours {
            if let Some(s) = theirs_since.take() {
                latencies.push(at.saturating_duration_since(s));
            }
            ours_since.get_or_insert(*at);
        }
    }
    if let Some(s) = ours_since {
        at_ours += end.saturating_duration_since(s.max(start));
    }
    let share = at_ours.as_secs_f64() / (end - start).as_secs_f64();
    eprintln!(
        "[e2e] {what}: {} intruder writes, {} set back; value back {} after the fight; timeline: {}",
        writes.len(),
        latencies.len(),
        secs(settled),
        timeline
            .iter()
            .map(|(at, v)| format!(
                "{:.1}s={v}",
                at.saturating_duration_since(start).as_secs_f64()
            ))
            .collect::<Vec<_>>()
            .join(" ")
    );
    (writes.len(), latencies.len(), share, latencies)
}

/// Who owns a field of a Deployment, from its managedFields (a `f:` path
/// like `["f:spec", "f:replicas"]`).
pub fn owners_of(obj: &Value, path: &[&str]) -> BTreeSet<String> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|f| {
            let mut v = &f["fieldsV1"];
            for p in path {
                v = &v[*p];
            }
            !v.is_null()
        })
        .map(|f| text(f, "/manager").to_string())
        .collect()
}
