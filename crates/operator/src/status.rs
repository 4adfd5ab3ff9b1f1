//! The resource's status, computed from what a reconcile saw. Pure: the
//! caller passes the time.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::conditions::{reasons, types};
use crate::crd::{Upgrade, WeightsAndBiasesStatus};
use crate::readiness::Readiness;

/// A component's readiness, aggregated over its workloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentState {
    pub ready: bool,
    pub message: String,
    /// One of its workloads failed (a migration Job, say).
    pub failed: bool,
}

/// Combines the readiness of a component's workloads.
pub fn component_state(workloads: &[(String, Readiness)]) -> ComponentState {
    let not_ready: Vec<String> = workloads
        .iter()
        .filter(|(_, r)| !r.ready)
        .map(|(name, r)| format!("{name}: {}", r.message))
        .collect();
    if not_ready.is_empty() {
        let summary: Vec<String> = workloads
            .iter()
            .map(|(name, r)| format!("{name}: {}", r.message))
            .collect();
        ComponentState {
            ready: true,
            message: summary.join("; "),
            failed: false,
        }
    } else {
        ComponentState {
            ready: false,
            message: not_ready.join("; "),
            failed: workloads.iter().any(|(_, r)| r.failed),
        }
    }
}

/// `flat-run-fields-updater` -> `FlatRunFieldsUpdaterReady`.
pub fn condition_type(component: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in component.chars() {
        if c == '-' || c == '_' || c == '.' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out + types::COMPONENT_SUFFIX
}

/// What one reconcile learned.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub generation: Option<i64>,
    /// `None` when the values were valid; else one line per problem.
    pub invalid_values: Option<Vec<String>>,
    pub warnings: Vec<String>,
    pub components: BTreeMap<String, ComponentState>,
    /// The stage the reconcile waits on, if it stopped early.
    pub waiting_on: Option<String>,
    pub version: Option<String>,
    pub host: Option<String>,
    pub inventory: Vec<String>,
    /// Cluster-scoped objects left alone because another resource owns them.
    pub conflicts: Vec<String>,
    /// What pauses the install (`pause::paused_by`): nothing was looked at.
    pub paused: Option<String>,
    /// `spec.stopped`: the services are held at zero replicas.
    pub stopped: bool,
    /// A migration Job failed: what `Ready` says (`migration::failure_message`).
    pub migration_failed: Option<String>,
    /// Every migration Job of `version` completed.
    pub migrated: bool,
    /// The spec's version is refused (`version::downgrade_refusal`): nothing was applied.
    pub downgrade_refused: Option<String>,
    /// The release document cannot be read (`engine::catalog`): nothing was applied.
    pub invalid_catalog: Option<String>,
}

/// The message of the `Ready` condition of a stopped install.
pub const STOPPED_MESSAGE: &str = "spec.stopped is true: the W&B services are scaled to zero; the stores and their data keep running";

/// The last line of a refusal: what a refused spec leaves running.
pub const REFUSED_NOTE: &str =
    "the spec is refused: nothing was applied; the last valid spec keeps running";

/// `ValuesValid=True`: the values of this generation were checked and passed.
fn values_valid(generation: Option<i64>, now: &Time) -> Condition {
    condition(
        types::VALUES_VALID,
        true,
        reasons::VALID,
        "the values are valid",
        generation,
        now,
    )
}

fn condition(
    type_: &str,
    ok: bool,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: &Time,
) -> Condition {
    Condition {
        type_: type_.into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: reason.into(),
        message: truncate(message),
        observed_generation: generation,
        last_transition_time: now.clone(),
    }
}

/// Conditions messages are bounded by the API (32 KiB); keep them readable.
fn truncate(message: &str) -> String {
    const MAX: usize = 2000;
    if message.len() <= MAX {
        return message.to_string();
    }
    let mut cut = MAX;
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...", &message[..cut])
}

/// The next status. Conditions keep their transition time while their
/// status holds; a bad spec keeps the components' last known state.
pub fn next(
    previous: Option<&WeightsAndBiasesStatus>,
    observed: &Observed,
    now: Time,
) -> WeightsAndBiasesStatus {
    let generation = observed.generation;
    let previous_conditions = previous.map(|p| p.conditions.clone()).unwrap_or_default();
    if let Some(by) = &observed.paused {
        return paused_status(previous, &previous_conditions, by, generation, &now);
    }
    let (mut conditions, all_ready) = match &observed.invalid_values {
        None if observed.invalid_catalog.is_some() => {
            let why = observed.invalid_catalog.as_deref().unwrap_or_default();
            let reason = reasons::INVALID_CATALOG;
            (
                refused_conditions(reason, why, &previous_conditions, generation, &now),
                false,
            )
        }
        None if observed.downgrade_refused.is_some() => {
            let why = observed.downgrade_refused.as_deref().unwrap_or_default();
            let reason = reasons::DOWNGRADE_REFUSED;
            (
                refused_conditions(reason, why, &previous_conditions, generation, &now),
                false,
            )
        }
        Some(problems) => (
            invalid_conditions(problems, &previous_conditions, generation, &now),
            false,
        ),
        None => applied_conditions(observed, &now),
    };
    conditions.push(condition(
        types::PAUSED,
        false,
        reasons::NOT_PAUSED,
        "the operator keeps the install true to its spec",
        generation,
        &now,
    ));
    conditions.push(warnings_condition(&observed.warnings, generation, &now));
    keep_transition_times(&mut conditions, &previous_conditions);
    next_fields(previous, observed, conditions, all_ready)
}

/// A paused install: nothing was looked at, so the rest of the status is as
/// it was; only `Paused` is set.
fn paused_status(
    previous: Option<&WeightsAndBiasesStatus>,
    previous_conditions: &[Condition],
    by: &str,
    generation: Option<i64>,
    now: &Time,
) -> WeightsAndBiasesStatus {
    let mut status = previous.cloned().unwrap_or_default();
    status.observed_generation = generation;
    status.phase = None;
    let message = format!("{by}: the operator changes nothing of this install until it is resumed");
    let mut paused = condition(
        types::PAUSED,
        true,
        reasons::PAUSED,
        &message,
        generation,
        now,
    );
    keep_transition_times(std::slice::from_mut(&mut paused), previous_conditions);
    status.conditions.retain(|c| c.type_ != types::PAUSED);
    status.conditions.push(paused);
    status
}

/// The spec is refused (its version, or its release document): `Ready`
/// says why nothing was applied, and the components keep their last known
/// state.
fn refused_conditions(
    reason: &str,
    why: &str,
    previous_conditions: &[Condition],
    generation: Option<i64>,
    now: &Time,
) -> Vec<Condition> {
    let kept = |c: &&Condition| {
        ![
            types::VALUES_VALID,
            types::VALUES_WARNINGS,
            types::PAUSED,
            types::READY,
        ]
        .contains(&c.type_.as_str())
    };
    let mut conditions = vec![
        values_valid(generation, now),
        condition(types::READY, false, reason, why, generation, now),
    ];
    // Nothing was applied: keep what was known of the components.
    conditions.extend(previous_conditions.iter().filter(kept).cloned());
    conditions
}

/// The values are invalid: say so, and keep what was known of the
/// components (and of `Ready`), since nothing was applied.
fn invalid_conditions(
    problems: &[String],
    previous_conditions: &[Condition],
    generation: Option<i64>,
    now: &Time,
) -> Vec<Condition> {
    let message = format!("{}\n{REFUSED_NOTE}", problems.join("\n"));
    let mut conditions = vec![condition(
        types::VALUES_VALID,
        false,
        reasons::INVALID_VALUES,
        &message,
        generation,
        now,
    )];
    conditions.extend(
        previous_conditions
            .iter()
            .filter(|c| {
                ![types::VALUES_VALID, types::VALUES_WARNINGS, types::PAUSED]
                    .contains(&c.type_.as_str())
            })
            .cloned(),
    );
    conditions
}

/// The values were applied: `ValuesValid`, `Ready` and one condition per
/// component; with whether everything is ready.
fn applied_conditions(observed: &Observed, now: &Time) -> (Vec<Condition>, bool) {
    let generation = observed.generation;
    let all_ready = observed.components.values().all(|c| c.ready)
        && observed.waiting_on.is_none()
        && observed.conflicts.is_empty()
        && observed.migration_failed.is_none()
        && !observed.stopped;
    let mut conditions = vec![
        values_valid(generation, now),
        condition(
            types::READY,
            all_ready,
            ready_reason(observed, all_ready),
            &ready_message(observed, all_ready),
            generation,
            now,
        ),
    ];
    for (component, state) in &observed.components {
        let reason = if state.ready {
            reasons::READY
        } else {
            reasons::NOT_READY
        };
        conditions.push(condition(
            &condition_type(component),
            state.ready,
            reason,
            &state.message,
            generation,
            now,
        ));
    }
    (conditions, all_ready)
}

/// What `Ready` says of an applied install; the first cause found wins,
/// in the order of [`ready_reason`].
fn ready_message(observed: &Observed, all_ready: bool) -> String {
    let not_ready: Vec<&str> = observed
        .components
        .iter()
        .filter(|(_, c)| !c.ready)
        .map(|(n, _)| n.as_str())
        .collect();
    if all_ready {
        "every component is ready".to_string()
    } else if !observed.conflicts.is_empty() {
        observed.conflicts.join("\n")
    } else if let Some(failure) = &observed.migration_failed {
        failure.clone()
    } else if observed.stopped && not_ready.is_empty() {
        STOPPED_MESSAGE.to_string()
    } else if observed.stopped {
        format!("{STOPPED_MESSAGE}; not ready: {}", not_ready.join(", "))
    } else if let Some(stage) = &observed.waiting_on {
        format!(
            "waiting for the {stage} to be ready: {}",
            not_ready.join(", ")
        )
    } else {
        format!("not ready: {}", not_ready.join(", "))
    }
}

/// The reason of `Ready` of an applied install.
fn ready_reason(observed: &Observed, all_ready: bool) -> &'static str {
    if all_ready {
        reasons::READY
    } else if !observed.conflicts.is_empty() {
        reasons::CONFLICT
    } else if observed.migration_failed.is_some() {
        reasons::MIGRATION_FAILED
    } else if observed.stopped {
        reasons::STOPPED
    } else {
        reasons::PROGRESSING
    }
}

/// `ValuesWarnings`: true while there are warnings, one line each.
fn warnings_condition(warnings: &[String], generation: Option<i64>, now: &Time) -> Condition {
    condition(
        types::VALUES_WARNINGS,
        !warnings.is_empty(),
        if warnings.is_empty() {
            reasons::NONE
        } else {
            reasons::IGNORED_KEYS
        },
        &if warnings.is_empty() {
            "no warnings".to_string()
        } else {
            warnings.join("\n")
        },
        generation,
        now,
    )
}

/// Keep the transition time of a condition whose status did not change.
fn keep_transition_times(conditions: &mut [Condition], previous_conditions: &[Condition]) {
    for c in conditions {
        if let Some(p) = previous_conditions.iter().find(|p| p.type_ == c.type_)
            && p.status == c.status
        {
            c.last_transition_time = p.last_transition_time.clone();
        }
    }
}

/// The status around `conditions`. A refused or invalid spec applied
/// nothing, so host, inventory and upgrade stay as they were; the version
/// moves only once everything is ready.
fn next_fields(
    previous: Option<&WeightsAndBiasesStatus>,
    observed: &Observed,
    conditions: Vec<Condition>,
    all_ready: bool,
) -> WeightsAndBiasesStatus {
    let keep = observed.invalid_values.is_some()
        || observed.downgrade_refused.is_some()
        || observed.invalid_catalog.is_some();
    let running = previous.and_then(|p| p.version.clone());
    let version = if all_ready {
        observed.version.clone()
    } else {
        running.clone()
    };
    let upgrade = match (running, &observed.version) {
        (Some(from), Some(to)) if !keep && !all_ready && from != *to => Some(Upgrade {
            from,
            to: to.clone(),
            stage: observed
                .waiting_on
                .clone()
                .unwrap_or_else(|| "services".into()),
        }),
        _ if keep => previous.and_then(|p| p.upgrade.clone()),
        _ => None,
    };
    let migrated_version = match &observed.version {
        Some(v) if observed.migrated && !keep => Some(v.clone()),
        _ => previous.and_then(|p| p.migrated_version.clone()),
    };
    WeightsAndBiasesStatus {
        observed_generation: observed.generation,
        conditions,
        version,
        upgrade,
        migrated_version,
        refused: refusal(observed),
        host: if keep {
            previous.and_then(|p| p.host.clone())
        } else {
            observed.host.clone()
        },
        inventory: if keep {
            previous.map(|p| p.inventory.clone()).unwrap_or_default()
        } else {
            observed.inventory.clone()
        },
        // v1's, left to it: this operator never writes it.
        phase: None,
    }
}

/// Why the spec was refused, on one line for `kubectl get wandb`: its
/// first problem and how many more (`kubectl describe` lists them all).
fn refusal(observed: &Observed) -> Option<String> {
    let why = observed
        .downgrade_refused
        .as_ref()
        .or(observed.invalid_catalog.as_ref());
    let problems: Vec<&str> = match (&observed.invalid_values, why) {
        (Some(problems), _) => problems.iter().map(String::as_str).collect(),
        (None, Some(why)) => why.lines().collect(),
        (None, None) => return None,
    };
    // The key as the user wrote it: `global.host`, not `spec.values.global.host`.
    let first = problems.first().copied().unwrap_or("the spec is refused");
    let first = first.strip_prefix("spec.values.").unwrap_or(first);
    Some(match problems.len() {
        0 | 1 => first.to_string(),
        n => format!("{first} (and {} more)", n - 1),
    })
}

/// What differs between two statuses (transition times aside), by field
/// and condition type: what the debug log says a status patch is for.
pub fn differences(
    before: Option<&WeightsAndBiasesStatus>,
    after: &WeightsAndBiasesStatus,
) -> Vec<String> {
    let Some(before) = before else {
        return vec!["(new)".into()];
    };
    let mut out = Vec::new();
    if before.observed_generation != after.observed_generation {
        out.push("observedGeneration".into());
    }
    if before.version != after.version {
        out.push("version".into());
    }
    if before.host != after.host {
        out.push("host".into());
    }
    if before.refused != after.refused {
        out.push("refused".into());
    }
    if before.upgrade != after.upgrade {
        out.push("upgrade".into());
    }
    if before.migrated_version != after.migrated_version {
        out.push("migratedVersion".into());
    }
    if before.inventory != after.inventory {
        out.push("inventory".into());
    }
    let key = |c: &Condition| {
        (
            c.status.clone(),
            c.reason.clone(),
            c.message.clone(),
            c.observed_generation,
        )
    };
    for c in &after.conditions {
        match before.conditions.iter().find(|b| b.type_ == c.type_) {
            None => out.push(format!("+{}", c.type_)),
            Some(b) if key(b) != key(c) => out.push(c.type_.clone()),
            Some(_) => {}
        }
    }
    for b in &before.conditions {
        if !after.conditions.iter().any(|c| c.type_ == b.type_) {
            out.push(format!("-{}", b.type_));
        }
    }
    out
}

/// Whether two statuses say the same thing (transition times aside, and
/// v1's phase, which is not ours to write).
pub fn same(a: &WeightsAndBiasesStatus, b: &WeightsAndBiasesStatus) -> bool {
    let strip = |s: &WeightsAndBiasesStatus| {
        let mut s = s.clone();
        s.phase = None;
        for c in &mut s.conditions {
            c.last_transition_time = Time(Default::default());
        }
        s
    };
    strip(a) == strip(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now(secs: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(secs).unwrap())
    }

    fn observed(ready: bool) -> Observed {
        Observed {
            generation: Some(2),
            components: BTreeMap::from([(
                "app".to_string(),
                ComponentState {
                    ready,
                    message: "x".into(),
                    failed: false,
                },
            )]),
            ..Default::default()
        }
    }

    fn get<'a>(s: &'a WeightsAndBiasesStatus, t: &str) -> &'a Condition {
        s.conditions.iter().find(|c| c.type_ == t).unwrap()
    }

    /// The Ready condition, checked to have this status and reason.
    fn ready_is<'a>(s: &'a WeightsAndBiasesStatus, status: &str, reason: &str) -> &'a Condition {
        let ready = get(s, "Ready");
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            (status, reason)
        );
        ready
    }

    #[test]
    fn differences_name_what_a_status_patch_changes() {
        let before = next(None, &observed(true), now(1));
        assert_eq!(differences(None, &before), ["(new)"]);
        assert!(
            differences(Some(&before), &next(Some(&before), &observed(true), now(5))).is_empty()
        );
        let after = next(Some(&before), &observed(false), now(9));
        assert_eq!(differences(Some(&before), &after), ["Ready", "AppReady"]);
    }

    #[test]
    fn ready_when_every_component_is() {
        let s = next(None, &observed(true), now(1));
        assert_eq!(get(&s, "Ready").status, "True");
        assert_eq!(get(&s, "AppReady").status, "True");
        assert_eq!(s.observed_generation, Some(2));
        let s = next(None, &observed(false), now(1));
        assert_eq!(get(&s, "Ready").status, "False");
    }

    #[test]
    fn a_conflict_keeps_the_install_from_ready_and_says_why() {
        let mut o = observed(true);
        o.conflicts = vec!["ClusterRole/wandb-console belongs to weightsandbiases a/wandb".into()];
        let s = next(None, &o, now(1));
        let ready = ready_is(&s, "False", "Conflict");
        assert!(
            ready.message.contains("ClusterRole/wandb-console"),
            "{}",
            ready.message
        );
    }

    #[test]
    fn transition_times_hold_while_the_status_does() {
        let first = next(None, &observed(true), now(1));
        let second = next(Some(&first), &observed(true), now(50));
        assert_eq!(get(&second, "Ready").last_transition_time, now(1));
        assert!(same(&first, &second));
        let third = next(Some(&second), &observed(false), now(90));
        assert_eq!(get(&third, "Ready").last_transition_time, now(90));
    }

    /// A status v1 wrote a phase into is not patched over and over for it.
    #[test]
    fn v1s_phase_is_never_written_and_not_a_difference() {
        let mut previous = next(None, &observed(true), now(1));
        previous.phase = Some("Completed".into());
        let again = next(Some(&previous), &observed(true), now(5));
        assert_eq!(again.phase, None);
        assert!(same(&previous, &again));
        let json = serde_json::to_value(&again).unwrap();
        assert!(
            json.get("phase").is_none(),
            "applied without a phase: {json}"
        );
    }

    #[test]
    fn invalid_values_keep_the_last_known_state() {
        let good = next(None, &observed(true), now(1));
        let bad = Observed {
            generation: Some(3),
            invalid_values: Some(vec!["app.replicaCount: must be 0 or more, found -1".into()]),
            ..Default::default()
        };
        let s = next(Some(&good), &bad, now(5));
        assert_eq!(get(&s, "ValuesValid").status, "False");
        assert!(get(&s, "ValuesValid").message.contains("app.replicaCount"));
        assert_eq!(
            get(&s, "Ready").status,
            "True",
            "the running install is still ready"
        );
        assert_eq!(s.observed_generation, Some(3));
    }

    #[test]
    fn a_paused_install_keeps_its_status_and_says_it_is_paused() {
        let running = next(None, &observed(true), now(1));
        assert_eq!(get(&running, "Paused").status, "False");
        let paused = Observed {
            generation: Some(3),
            paused: Some("spec.paused is true".into()),
            ..Default::default()
        };
        let s = next(Some(&running), &paused, now(5));
        let p = get(&s, "Paused");
        assert_eq!((p.status.as_str(), p.reason.as_str()), ("True", "Paused"));
        assert!(
            p.message.starts_with("spec.paused is true"),
            "{}",
            p.message
        );
        assert_eq!(p.last_transition_time, now(5));
        assert_eq!(
            get(&s, "Ready").status,
            "True",
            "the last known state is kept"
        );
        assert_eq!(get(&s, "AppReady").status, "True");
        assert_eq!(s.inventory, running.inventory);
        assert_eq!(s.observed_generation, Some(3));
        assert_eq!(
            s.conditions.iter().filter(|c| c.type_ == "Paused").count(),
            1
        );
        // Paused again: the same status, so nothing is written.
        let again = next(Some(&s), &paused, now(50));
        assert!(same(&s, &again));
        assert_eq!(get(&again, "Paused").last_transition_time, now(5));
        // Resumed.
        let resumed = next(Some(&again), &observed(true), now(60));
        assert_eq!(get(&resumed, "Paused").status, "False");
        assert_eq!(get(&resumed, "Paused").last_transition_time, now(60));
    }

    #[test]
    fn a_failed_migration_is_the_reason_the_install_is_not_ready() {
        let mut o = observed(false);
        o.waiting_on = Some("migrations".into());
        o.migration_failed = Some("the migration Job/x failed at T; ...".into());
        let s = next(None, &o, now(1));
        let ready = ready_is(&s, "False", "MigrationFailed");
        assert!(
            ready.message.starts_with("the migration Job/x"),
            "{}",
            ready.message
        );
    }

    #[test]
    fn a_stopped_install_is_not_ready_and_says_why() {
        let mut o = observed(true);
        o.stopped = true;
        let s = next(None, &o, now(1));
        let ready = ready_is(&s, "False", "Stopped");
        assert_eq!(ready.message, STOPPED_MESSAGE);
        let mut o = observed(false);
        o.stopped = true;
        let ready = next(None, &o, now(1));
        assert!(
            get(&ready, "Ready").message.ends_with("not ready: app"),
            "{}",
            get(&ready, "Ready").message
        );
    }

    #[test]
    fn condition_types_are_camel_case() {
        assert_eq!(
            condition_type("flat-run-fields-updater"),
            "FlatRunFieldsUpdaterReady"
        );
        assert_eq!(condition_type("objectStore"), "ObjectStoreReady");
    }
}
