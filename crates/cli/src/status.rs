//! `wandb-operator status`: the state of an install, per component.
//!
//! Exit codes, for scripts: 0 Ready, 1 not Ready or the spec refused
//! (the last valid spec keeps running then, maybe Ready), 2 the resource or
//! the cluster could not be read.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use k8s_openapi::api::core::v1::Event;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, ListParams};
use wandb_operator_core::conditions::{reasons, types};
use wandb_operator_core::crd::WeightsAndBiases;
use wandb_operator_core::desired::{COMPONENT_LABEL, INSTANCE_LABEL, is_workload};
use wandb_operator_core::status::REFUSED_NOTE;
use wandb_operator_core::{kinds, readiness};

#[derive(Args, Debug)]
#[command(
    after_help = "Exit codes: 0 Ready, 1 not Ready or the spec refused (--wait stops then: waiting \
    does not mend it), 2 the resource or the cluster could not be read.\n\n\
    Examples:\n  \
    wandb-operator status\n  \
    wandb-operator status --name wandb --namespace wandb --watch\n  \
    wandb-operator status --wait --timeout 15m\n  \
    wandb-operator status && echo healthy"
)]
pub struct StatusArgs {
    /// Name of the WeightsAndBiases resource.
    #[arg(long, default_value = "wandb")]
    pub name: String,
    /// Namespace of the install (default: the kubeconfig's).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Refresh every two seconds until interrupted.
    #[arg(short, long)]
    pub watch: bool,
    /// Refresh until the install is Ready, then exit 0 (1 after --timeout,
    /// or at once when the operator refused the spec; 130 on Ctrl-C).
    #[arg(long, conflicts_with = "watch")]
    pub wait: bool,
    /// How long --wait waits (e.g. 90s, 10m).
    #[arg(long, default_value = "10m", value_parser = crate::apply::parse_duration)]
    pub timeout: Duration,
}

/// One row of the table.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Row {
    pub component: String,
    pub desired: i64,
    pub ready: i64,
    pub version: String,
    pub condition: String,
    pub last_event: String,
}

pub fn run(args: StatusArgs) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        let client = match kube::Client::try_default().await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: connecting to the cluster: {e}");
                return ExitCode::from(2);
            }
        };
        let namespace = args
            .namespace
            .clone()
            .unwrap_or_else(|| client.default_namespace().to_string());
        let color = std::io::stdout().is_terminal();
        let refresh = args.watch || args.wait;
        let started = std::time::Instant::now();
        let mut last = String::new();
        // One Ctrl-C listener for the whole loop: a listener made anew for
        // each sleep misses a Ctrl-C that comes while the status is read,
        // and --wait then waits on (hack/demo's Ctrl-C did, now and then).
        let interrupted = tokio::signal::ctrl_c();
        tokio::pin!(interrupted);
        // --wait ended by Ctrl-C did not see Ready; --watch ends so by design.
        let on_interrupt = |code: u8| if args.wait { INTERRUPTED } else { code };
        let mut code = 1;
        loop {
            let read = tokio::select! {
                read = snapshot(&client, &namespace, &args.name) => read,
                _ = &mut interrupted => return ExitCode::from(on_interrupt(code)),
            };
            let mut refused = false;
            code = match read {
                Ok(Snapshot {
                    ready,
                    refused: spec_refused,
                    text,
                }) => {
                    let written = if refresh && color {
                        // Clear the screen between refreshes.
                        crate::out::print(&format!("\x1b[2J\x1b[H{text}"))
                    } else if text != last {
                        // Off a terminal, only what changed is printed again.
                        let gap = if last.is_empty() { "" } else { "\n" };
                        crate::out::print(&format!("{gap}{}", strip_colors(&text)))
                    } else {
                        Ok(())
                    };
                    if written.is_err() {
                        // Nobody reads any more: a watch ends there.
                        return crate::out::exit_code(written);
                    }
                    last = text;
                    refused = spec_refused;
                    if ready && !refused { 0 } else { 1 }
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    2
                }
            };
            if !refresh || (args.wait && code == 0) {
                return ExitCode::from(code);
            }
            if args.wait && refused {
                eprintln!(
                    "error: the operator refused the spec (see above); fix it and apply again"
                );
                return ExitCode::from(1);
            }
            if args.wait && started.elapsed() > args.timeout {
                eprintln!("error: not Ready after {:?}", args.timeout);
                return ExitCode::from(1);
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                _ = &mut interrupted => return ExitCode::from(on_interrupt(code)),
            }
        }
    })
}

/// The exit code of a `--wait` that Ctrl-C ended before the install was
/// Ready, as a shell's for SIGINT: a script cannot take it for "not Ready"
/// (1), whichever of it and its shell handles the signal first.
const INTERRUPTED: u8 = 130;

/// What one read of an install found.
struct Snapshot {
    /// Ready for the spec as it is now.
    ready: bool,
    /// The operator refused the spec as it is now.
    refused: bool,
    /// The status table.
    text: String,
}

/// The status table, whether the install is Ready and whether its spec
/// was refused.
async fn snapshot(client: &kube::Client, namespace: &str, name: &str) -> Result<Snapshot, String> {
    let api: Api<WeightsAndBiases> = Api::namespaced(client.clone(), namespace);
    let wandb = match api.get_opt(name).await {
        Ok(Some(wandb)) => wandb,
        Ok(None) => return Err(not_found(client, namespace, name).await),
        Err(e) => {
            return Err(format!(
                "reading WeightsAndBiases/{name} in {namespace}: {e}"
            ));
        }
    };
    let status = wandb.status.clone().unwrap_or_default();
    let conditions: BTreeMap<String, (String, String)> = status
        .conditions
        .iter()
        .map(|c| (c.type_.clone(), (c.status.clone(), c.message.clone())))
        .collect();

    // Workloads of the install, by component.
    let selector = format!("{INSTANCE_LABEL}={name}");
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    let mut owner_of: BTreeMap<String, String> = BTreeMap::new();
    let list = |kind: &'static kinds::KindInfo| {
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), namespace, &kind.api_resource());
        let params = ListParams::default().labels(&selector);
        async move {
            api.list(&params)
                .await
                .map(|l| l.items)
                .map_err(|e| format!("listing {}: {e}", kind.plural))
        }
    };
    // The desired replicas count an autoscaler's minimum, as the operator's do.
    let autoscalers: Vec<serde_json::Value> = match kinds::info("HorizontalPodAutoscaler") {
        Some(hpa) => list(hpa)
            .await?
            .iter()
            .map(|o| serde_json::to_value(o).unwrap_or_default())
            .collect(),
        None => Vec::new(),
    };
    let floors =
        readiness::autoscaler_floors(autoscalers.iter().map(|v| ("HorizontalPodAutoscaler", v)));
    for info in kinds::KINDS.iter().filter(|k| is_workload(k.kind)) {
        for obj in list(info).await? {
            let component = obj
                .labels()
                .get(COMPONENT_LABEL)
                .cloned()
                .unwrap_or_default();
            let value = serde_json::to_value(&obj).unwrap_or_default();
            let floor = floors.get(&format!("{}/{}", info.kind, obj.name_any()));
            let r = readiness::of(info.kind, Some(&value), floor.copied());
            let row = rows.entry(component.clone()).or_insert_with(|| Row {
                component: component.clone(),
                ..Default::default()
            });
            if info.kind != "Job" && info.kind != "CronJob" {
                row.desired += r.desired;
                row.ready += r.ready_replicas;
            }
            if row.version.is_empty() {
                row.version = image_tag(&value);
            }
            owner_of.insert(obj.name_any(), component);
        }
    }
    for row in rows.values_mut() {
        let key = wandb_operator_core::status::condition_type(&row.component);
        row.condition = match conditions.get(&key) {
            Some((s, _)) if s == "True" => reasons::READY.into(),
            Some((_, m)) => format!("{}: {m}", reasons::NOT_READY),
            None => "Unknown".into(),
        };
    }

    // The newest event of each component's objects.
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    if let Ok(list) = events.list(&ListParams::default()).await {
        let mut newest: BTreeMap<String, (String, String)> = BTreeMap::new();
        for e in list.items {
            let object = e.involved_object.name.clone().unwrap_or_default();
            let component = owner_of
                .iter()
                .find(|(workload, _)| {
                    object == **workload || object.starts_with(&format!("{workload}-"))
                })
                .map(|(_, c)| c.clone());
            let Some(component) = component else { continue };
            let when = e
                .last_timestamp
                .as_ref()
                .map(|t| t.0.to_string())
                .or_else(|| e.event_time.as_ref().map(|t| t.0.to_string()))
                .unwrap_or_default();
            let text = format!(
                "{}: {}",
                e.reason.unwrap_or_default(),
                e.message.unwrap_or_default().trim()
            );
            if newest.get(&component).is_none_or(|(t, _)| when > *t) {
                newest.insert(component, (when, text));
            }
        }
        for (component, (_, text)) in newest {
            if let Some(row) = rows.get_mut(&component) {
                row.last_event = text;
            }
        }
    }

    let ready = ready_for_spec(wandb.metadata.generation, &status);
    let invalid = conditions
        .get(types::VALUES_VALID)
        .filter(|(s, _)| s == "False")
        .map(|(_, m)| m.clone());
    let refused = (status.refused.is_some() || invalid.is_some())
        && status.observed_generation == wandb.metadata.generation;
    Ok(Snapshot {
        ready,
        refused,
        text: table(name, namespace, &status, ready, invalid, rows.values()),
    })
}

/// The error for a resource not found, naming the namespaces that have one
/// of that name (a forgotten `-n` is the usual cause).
async fn not_found(client: &kube::Client, namespace: &str, name: &str) -> String {
    let all: Api<WeightsAndBiases> = Api::all(client.clone());
    let elsewhere: Vec<String> = match all.list(&ListParams::default()).await {
        Ok(list) => list
            .items
            .iter()
            .filter(|w| w.name_any() == name)
            .filter_map(|w| w.namespace())
            .collect(),
        // Listing every namespace may not be allowed: then say no more.
        Err(_) => Vec::new(),
    };
    let mut message = format!("no WeightsAndBiases/{name} in namespace {namespace}");
    if let Some(first) = elsewhere.first() {
        message.push_str(&format!(
            "; there is one in namespace {} (add -n {first})",
            elsewhere.join(", ")
        ));
    }
    message
}

/// Ready, for the spec as it is now: a status the operator wrote for an
/// earlier generation (a change it has not seen yet, right after `helm
/// upgrade`) is not Ready, so `--wait` waits for the change.
fn ready_for_spec(
    generation: Option<i64>,
    status: &wandb_operator_core::crd::WeightsAndBiasesStatus,
) -> bool {
    let seen = |observed: Option<i64>| generation.is_none() || observed == generation;
    seen(status.observed_generation)
        && status.conditions.iter().any(|c| {
            c.type_ == types::READY
                && c.status == "True"
                && seen(c.observed_generation.or(generation))
        })
}

fn image_tag(workload: &serde_json::Value) -> String {
    let pod = workload
        .pointer("/spec/template/spec")
        .or_else(|| workload.pointer("/spec/jobTemplate/spec/template/spec"));
    pod.and_then(|p| p.pointer("/containers/0/image"))
        .and_then(|i| i.as_str())
        .map(|image| {
            let last = image.rsplit('/').next().unwrap_or(image);
            match (last.split_once('@'), last.split_once(':')) {
                (Some((_, digest)), _) => digest.chars().take(19).collect(),
                (None, Some((_, tag))) => tag.to_string(),
                _ => "latest".to_string(),
            }
        })
        .unwrap_or_default()
}

/// The table fits a terminal of 80 columns.
const WIDTH: usize = 80;
/// `  last event: `
const EVENT_INDENT: usize = 14;
/// What the operator's pods are labelled with, by the chart.
const OPERATOR_PODS: &str = "app.kubernetes.io/name=wandb-operator";

/// `text` in at most `width` characters: cut at a word when it can be,
/// with `…` to say something was cut.
fn clip(text: &str, width: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= width {
        return text;
    }
    let keep: String = text.chars().take(width.saturating_sub(1)).collect();
    let cut = match keep.rfind(' ') {
        Some(i) if i >= keep.len() / 2 => keep[..i].trim_end().to_string(),
        _ => keep,
    };
    format!("{cut}…")
}

/// `text` in lines of at most `width` characters, broken between words: a
/// message that matters is shown whole, not clipped.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines.iter().map(|l| clip(l, width)).collect()
}

/// `  label: text`, wrapped to the table's width under its first line.
fn push_wrapped(out: &mut String, label: &str, text: &str) {
    let indent = 2 + label.len() + 2;
    for (i, line) in wrap(text, WIDTH - indent).iter().enumerate() {
        let lead = if i == 0 {
            format!("  {label}: ")
        } else {
            " ".repeat(indent)
        };
        out.push_str(&format!("{lead}{line}\n"));
    }
}

const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const RESET: &str = "\x1b[0m";

/// The status as text (with colour codes; the caller strips them off a terminal).
pub fn table<'a>(
    name: &str,
    namespace: &str,
    status: &wandb_operator_core::crd::WeightsAndBiasesStatus,
    ready: bool,
    invalid: Option<String>,
    rows: impl Iterator<Item = &'a Row>,
) -> String {
    let mut out = String::new();
    let condition = |type_: &str| status.conditions.iter().find(|c| c.type_ == type_);
    let paused = condition(types::PAUSED)
        .filter(|c| c.status == "True")
        .map(|c| c.message.clone());
    let stopped = condition(types::READY).is_some_and(|c| c.reason == reasons::STOPPED);
    // Not ready for a reason that waiting does not mend.
    let failed = condition(types::READY)
        .filter(|c| {
            c.status == "False"
                && [reasons::MIGRATION_FAILED, reasons::DOWNGRADE_REFUSED]
                    .contains(&c.reason.as_str())
        })
        .map(|c| (c.reason.clone(), c.message.clone()));
    // No status at all: the operator has not seen the resource yet.
    let unseen = status.observed_generation.is_none() && status.conditions.is_empty();
    let health = match (&invalid, &paused, &failed, ready) {
        _ if unseen => format!("{YELLOW}Pending{RESET}"),
        (Some(_), _, _, _) => format!("{RED}InvalidValues{RESET}"),
        (None, Some(_), _, _) => format!("{YELLOW}Paused{RESET}"),
        (None, None, Some((reason, _)), _) => format!("{RED}{reason}{RESET}"),
        (None, None, None, _) if stopped => format!("{YELLOW}Stopped{RESET}"),
        (None, None, None, true) => format!("{GREEN}Ready{RESET}"),
        (None, None, None, false) => format!("{YELLOW}NotReady{RESET}"),
    };
    // Names and the host can be long: each goes on a line it fits.
    out.push_str(&format!(
        "WeightsAndBiases/{} in {}: {health}\n",
        clip(name, 20),
        clip(namespace, 20)
    ));
    out.push_str(&format!(
        "  {}\n",
        clip(
            &format!(
                "version {}  host {}",
                status.version.as_deref().unwrap_or("-"),
                status.host.as_deref().unwrap_or("-")
            ),
            WIDTH - 2
        )
    ));
    if let Some(u) = &status.upgrade {
        out.push_str(&format!(
            "  upgrading: {} -> {}, at the {}\n",
            clip(&u.from, 20),
            clip(&u.to, 20),
            u.stage
        ));
    }
    if let Some((_, message)) = &failed {
        for line in message.lines().take(12) {
            out.push_str(&format!("  {}\n", clip(line, WIDTH - 2)));
        }
    }
    if unseen {
        push_wrapped(
            &mut out,
            "pending",
            &format!(
                "the operator has not written a status yet. Is it running? \
                 `kubectl get pods -A -l {OPERATOR_PODS}`; on a local cluster \
                 (simulated nodes) it runs on your machine: `wandb-operator run`"
            ),
        );
    }
    // `  stopped: ` is 11 columns.
    if let Some(message) = paused {
        push_wrapped(&mut out, "paused", &message);
    } else if stopped {
        out.push_str(&format!(
            "  stopped: {}\n",
            clip(
                "the W&B services are at zero replicas; the stores keep running",
                WIDTH - 11
            )
        ));
    }
    if let Some(problems) = invalid {
        // The condition's last line says what the line below says.
        for line in problems.lines().filter(|l| *l != REFUSED_NOTE) {
            push_wrapped(&mut out, "invalid", line);
        }
        out.push_str("  (nothing was changed; the last valid spec keeps running)\n");
    }
    let rows: Vec<&Row> = rows.collect();
    if rows.is_empty() {
        if !unseen {
            out.push_str("\n(no workloads of this install yet)\n");
        }
        return out;
    }
    // The component column is as wide as the longest name. A component not
    // ready has its last event on a line of its own below it: that is
    // where to look, and a line of its own fits 80 columns.
    let component = rows
        .iter()
        .map(|r| r.component.chars().count())
        .max()
        .unwrap_or(0)
        .max("COMPONENT".len());
    out.push_str(&format!(
        "\n{:<component$} {:>4} {:>5}  {:<10} {}\n",
        "COMPONENT", "WANT", "READY", "VERSION", "STATE"
    ));
    for row in rows {
        let ready = row.condition == reasons::READY;
        let state = if ready {
            format!("{GREEN}Ready{RESET}")
        } else if row.condition.starts_with(reasons::NOT_READY) {
            format!("{YELLOW}NotReady{RESET}")
        } else {
            row.condition.clone()
        };
        out.push_str(&format!(
            "{:<component$} {:>4} {:>5}  {:<10} {}\n",
            row.component,
            row.desired,
            row.ready,
            clip(&row.version, 10),
            state,
        ));
        if let Some(why) = row.condition.strip_prefix(reasons::NOT_READY) {
            let why = why.trim_start_matches(':').trim();
            if !why.is_empty() {
                out.push_str(&format!("  not ready: {}\n", clip(why, WIDTH - 13)));
            }
        }
        if !ready && !row.last_event.is_empty() {
            out.push_str(&format!(
                "  last event: {}\n",
                clip(&row.last_event, WIDTH - EVENT_INDENT)
            ));
        }
    }
    out
}

pub fn strip_colors(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A status the operator wrote (for generation 1), with nothing in it.
    fn seen() -> wandb_operator_core::crd::WeightsAndBiasesStatus {
        wandb_operator_core::crd::WeightsAndBiasesStatus {
            observed_generation: Some(1),
            ..Default::default()
        }
    }

    #[test]
    fn the_table_shows_each_component_and_the_health() {
        let rows = [Row {
            component: "app".into(),
            desired: 2,
            ready: 1,
            version: "0.80.0".into(),
            condition: "NotReady: 1/2 available".into(),
            last_event: "Scheduled: assigned".into(),
        }];
        let status = seen();
        let text = strip_colors(&table("wandb", "ns", &status, false, None, rows.iter()));
        assert!(
            text.starts_with("WeightsAndBiases/wandb in ns: NotReady"),
            "{text}"
        );
        assert!(text.contains("app"));
        assert!(text.contains("0.80.0"));
        assert!(!text.contains('\x1b'));
        let text = strip_colors(&table(
            "wandb",
            "ns",
            &status,
            false,
            Some("spec.values.app.replicaCount: bad".into()),
            rows.iter(),
        ));
        assert!(text.contains("InvalidValues"));
        assert!(text.contains("spec.values.app.replicaCount: bad"));
        // The operator's note is said once, and a long problem is wrapped.
        let problem = "spec.values.global.host: expected a URL starting with http:// or \
                       https://, found \"wandb.example.com\"";
        let text = strip_colors(&table(
            "wandb",
            "ns",
            &status,
            true,
            Some(format!("{problem}\n{REFUSED_NOTE}")),
            rows.iter(),
        ));
        assert_eq!(
            text.matches("the last valid spec keeps running").count(),
            1,
            "{text}"
        );
        assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
        assert!(
            text.contains("  invalid: spec.values.global.host: expected"),
            "{text}"
        );
    }

    #[test]
    fn a_paused_or_stopped_install_says_so() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
        let condition = |type_: &str, status: &str, reason: &str, message: &str| Condition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message: message.into(),
            last_transition_time: Time(Default::default()),
            observed_generation: None,
        };
        let mut status = wandb_operator_core::crd::WeightsAndBiasesStatus {
            conditions: vec![
                condition(types::READY, "True", reasons::READY, ""),
                condition(
                    types::PAUSED,
                    "True",
                    reasons::PAUSED,
                    "spec.paused is true: ...",
                ),
            ],
            ..Default::default()
        };
        let text = strip_colors(&table("wandb", "ns", &status, true, None, [].iter()));
        assert!(
            text.starts_with("WeightsAndBiases/wandb in ns: Paused"),
            "{text}"
        );
        assert!(text.contains("\n  paused: spec.paused is true"), "{text}");
        status.upgrade = Some(wandb_operator_core::crd::Upgrade {
            from: "0.75.0".into(),
            to: "0.76.0".into(),
            stage: "migrations".into(),
        });
        status.conditions = vec![condition(
            types::READY,
            "False",
            reasons::MIGRATION_FAILED,
            "the migration Job/x failed at T; ...\nlog line",
        )];
        let text = strip_colors(&table("wandb", "ns", &status, false, None, [].iter()));
        assert!(
            text.starts_with("WeightsAndBiases/wandb in ns: MigrationFailed"),
            "{text}"
        );
        assert!(
            text.contains("\n  upgrading: 0.75.0 -> 0.76.0, at the migrations\n"),
            "{text}"
        );
        assert!(text.contains("\n  log line\n"), "{text}");
        status.upgrade = None;
        status.conditions = vec![condition(types::READY, "False", reasons::STOPPED, "")];
        let text = strip_colors(&table("wandb", "ns", &status, false, None, [].iter()));
        assert!(
            text.starts_with("WeightsAndBiases/wandb in ns: Stopped"),
            "{text}"
        );
        assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
    }

    #[test]
    fn ready_only_for_the_generation_it_was_written_for() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
        let ready = |observed: i64| wandb_operator_core::crd::WeightsAndBiasesStatus {
            observed_generation: Some(observed),
            conditions: vec![Condition {
                type_: types::READY.into(),
                status: "True".into(),
                observed_generation: Some(observed),
                last_transition_time: Time(Default::default()),
                message: String::new(),
                reason: "Ready".into(),
            }],
            ..Default::default()
        };
        assert!(ready_for_spec(Some(3), &ready(3)));
        assert!(
            !ready_for_spec(Some(4), &ready(3)),
            "an upgrade not seen yet"
        );
        let mut not_ready = ready(3);
        not_ready.conditions[0].status = "False".into();
        assert!(!ready_for_spec(Some(3), &not_ready));
        assert!(!ready_for_spec(Some(3), &Default::default()));
    }

    #[test]
    fn the_table_fits_80_columns() {
        let row = |component: &str, event: &str| Row {
            component: component.into(),
            desired: 10,
            ready: 10,
            version: "sha256:0123456789abcdef".into(),
            condition: "NotReady: 1/2 available".into(),
            last_event: event.into(),
        };
        let rows = [
            row(
                "weave-trace-agent-scoring-worker",
                "Scheduled: Successfully assigned wandb/wandb-weave-trace-agent-scoring-worker-6d9f to kwok-node-1",
            ),
            row(
                "app",
                "Pulled: Container image \"wandb/local:0.80.1\" already present on machine",
            ),
        ];
        let status = wandb_operator_core::crd::WeightsAndBiasesStatus {
            version: Some("0.80.1".into()),
            host: Some("http://localhost:8080".into()),
            ..Default::default()
        };
        let long = "a-namespace-name-of-sixty-three-characters-which-kubernetes-allo";
        let text = strip_colors(&table(long, long, &status, false, None, rows.iter()));
        for line in text.lines() {
            assert!(
                line.chars().count() <= 80,
                "{} columns: {line:?}",
                line.chars().count()
            );
        }
        // Cut at a word, and said so.
        assert!(
            text.contains("  last event: Scheduled: Successfully assigned…\n"),
            "{text}"
        );
        assert!(text.contains("Pulled: Container image"), "{text}");
    }

    /// Issue 30: right after `helm install` the first screen was empty,
    /// with no hint why (the operator was not running).
    #[test]
    fn a_status_not_written_yet_says_where_to_look() {
        let text = strip_colors(&table(
            "wandb",
            "ns",
            &Default::default(),
            false,
            None,
            [].iter(),
        ));
        assert!(
            text.starts_with("WeightsAndBiases/wandb in ns: Pending"),
            "{text}"
        );
        assert!(text.contains("has not written a status yet"), "{text}");
        assert!(text.contains(OPERATOR_PODS), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
        assert!(!text.contains('…'), "{text}");
    }

    /// Issue 30: `parquet 2 2 latest NotReady`, all replicas ready and no
    /// reason given.
    #[test]
    fn a_component_not_ready_says_why_under_its_row() {
        let rows = [Row {
            component: "parquet".into(),
            desired: 2,
            ready: 2,
            version: "latest".into(),
            condition: "NotReady: Job/wandb-parquet-backfill: not complete".into(),
            last_event: String::new(),
        }];
        let status = seen();
        let text = strip_colors(&table("wandb", "ns", &status, false, None, rows.iter()));
        assert!(
            text.contains("\n  not ready: Job/wandb-parquet-backfill: not complete\n"),
            "{text}"
        );
    }

    /// Issue 30: the paused message was cut with an ellipsis at 80 columns.
    #[test]
    fn a_long_paused_message_is_wrapped_whole() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
        let message = "the annotation apps.wandb.com/paused is \"true\": the operator changes \
                       nothing of this install until it is resumed";
        let status = wandb_operator_core::crd::WeightsAndBiasesStatus {
            conditions: vec![Condition {
                type_: types::PAUSED.into(),
                status: "True".into(),
                reason: reasons::PAUSED.into(),
                message: message.into(),
                last_transition_time: Time(Default::default()),
                observed_generation: None,
            }],
            ..seen()
        };
        let text = strip_colors(&table("wandb", "ns", &status, true, None, [].iter()));
        assert!(!text.contains('…'), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
        let shown: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("  paused: "))
            .take_while(|l| l.starts_with("  "))
            .collect();
        let shown = shown.join(" ").replace("paused:", "");
        assert_eq!(
            shown.split_whitespace().collect::<Vec<_>>(),
            message.split_whitespace().collect::<Vec<_>>()
        );
    }

    #[test]
    fn clipping_keeps_short_text_and_cuts_long_text_at_a_word() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("one two three four", 12), "one two…");
        assert_eq!(clip("abcdefghijklmnop", 6), "abcde…");
        assert_eq!(clip("a\nb", 5), "a b");
    }

    #[test]
    fn image_tags_and_digests() {
        let w = serde_json::json!({"spec": {"template": {"spec": {"containers": [{"image": "reg:5000/wandb/local:0.80.1"}]}}}});
        assert_eq!(image_tag(&w), "0.80.1");
        let w = serde_json::json!({"spec": {"template": {"spec": {"containers": [{"image": "wandb/local@sha256:abcdef0123456789abcdef"}]}}}});
        assert_eq!(image_tag(&w), "sha256:abcdef012345");
    }
}
