//! Many probes in one upstream render, each object's change told to the
//! probe that made it, so that key fidelity needs a few hundred renders of
//! the upstream chart instead of one per key.
//!
//! A subchart sees only its own values block and `global`: with `global`
//! untouched and one probe per subchart in a render, a changed object that a
//! subchart's template rendered (Helm's `# Source: CHART/charts/NAME/...`)
//! can only come from that subchart's probe. The parent chart's templates
//! read any block, so a change there, an error, or a change in a subchart
//! without a probe is not told to anyone: the render is split in two and
//! each half rendered again, down to single probes if need be. Keys that
//! turn whole parts on or off (`install`, `enabled`), `global` keys and keys
//! of the parent chart alone are rendered alone from the start.

use std::collections::{BTreeMap, BTreeSet};

use crate::fidelity::Probe;

/// An object: `(kind, name)`.
pub type Key = (String, String);

/// The subchart (its alias) whose template rendered an object, from Helm's
/// `# Source:` line; `None` for the parent chart's own templates.
pub fn scope_of(source: &str) -> Option<String> {
    let mut parts = source.split('/');
    let _chart = parts.next()?;
    (parts.next()? == "charts")
        .then(|| parts.next().map(str::to_string))
        .flatten()
}

/// Whether a probe may share a render: its block is a subchart's, and it
/// does not turn anything on or off.
fn shares(probe: &Probe, subcharts: &BTreeSet<String>) -> bool {
    let top = probe.path.first().map(String::as_str).unwrap_or("");
    let last = probe.path.last().map(String::as_str).unwrap_or("");
    top != "global"
        && subcharts.contains(top)
        && !matches!(last, "install" | "enabled")
        && probe.path.len() > 1
}

/// The renders to make, as indexes into `probes`: one probe per subchart in
/// each shared render, the others alone.
pub fn plan(probes: &[&Probe], subcharts: &BTreeSet<String>) -> Vec<Vec<usize>> {
    let mut alone = Vec::new();
    let mut by_block: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, probe) in probes.iter().enumerate() {
        if shares(probe, subcharts) {
            by_block.entry(probe.path[0].as_str()).or_default().push(i);
        } else {
            alone.push(vec![i]);
        }
    }
    let rounds = by_block.values().map(Vec::len).max().unwrap_or(0);
    let shared = (0..rounds).map(|round| {
        by_block
            .values()
            .filter_map(|members| members.get(round).copied())
            .collect::<Vec<_>>()
    });
    alone.into_iter().chain(shared).collect()
}

/// Each probe's changed objects, when every changed object can be told to
/// one probe of the render; `None` when one cannot (split the render).
pub fn attribute(
    members: &[(usize, &Probe)],
    changed: &BTreeSet<Key>,
    scopes: &BTreeMap<Key, Option<String>>,
) -> Option<BTreeMap<usize, BTreeSet<Key>>> {
    let mut out: BTreeMap<usize, BTreeSet<Key>> =
        members.iter().map(|(i, _)| (*i, BTreeSet::new())).collect();
    if let [(only, _)] = members {
        out.insert(*only, changed.clone());
        return Some(out);
    }
    for object in changed {
        let scope = scopes.get(object).cloned().flatten()?;
        let (owner, _) = members
            .iter()
            .find(|(_, p)| p.path.first() == Some(&scope))?;
        out.entry(*owner).or_default().insert(object.clone());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn probe(key: &str) -> Probe {
        Probe {
            path: key.split('.').map(str::to_string).collect(),
            value: json!("x"),
        }
    }

    fn subcharts() -> BTreeSet<String> {
        ["app", "api", "mysql"].map(String::from).into()
    }

    fn obj(kind: &str, name: &str) -> Key {
        (kind.to_string(), name.to_string())
    }

    #[test]
    fn the_source_names_the_subchart_or_the_parent() {
        assert_eq!(
            scope_of("operator-wandb/charts/app/templates/deployment.yaml"),
            Some("app".to_string())
        );
        assert_eq!(
            scope_of("operator-wandb/charts/kafka/charts/common/templates/x.yaml"),
            Some("kafka".to_string())
        );
        assert_eq!(scope_of("operator-wandb/templates/app.yaml"), None);
        assert_eq!(scope_of(""), None);
    }

    #[test]
    fn one_probe_per_subchart_in_a_render_and_switches_alone() {
        let probes = [
            probe("app.image.tag"),
            probe("app.replicas"),
            probe("api.image.tag"),
            probe("app.install"),
            probe("global.host"),
            probe("ingress.class"),
            probe("mysql.persistence.enabled"),
        ];
        let refs: Vec<&Probe> = probes.iter().collect();
        let plan = plan(&refs, &subcharts());
        assert_eq!(
            plan,
            vec![vec![3], vec![4], vec![5], vec![6], vec![2, 0], vec![1]]
        );
        let every: BTreeSet<usize> = plan.iter().flatten().copied().collect();
        assert_eq!(
            every.len(),
            probes.len(),
            "each probe in exactly one render"
        );
    }

    #[test]
    fn a_subchart_object_goes_to_its_probe_and_a_parent_object_to_none() {
        let (app, api) = (probe("app.image.tag"), probe("api.image.tag"));
        let members = [(0, &app), (1, &api)];
        let scopes = BTreeMap::from([
            (obj("Deployment", "wandb-app"), Some("app".to_string())),
            (obj("Deployment", "wandb-api"), Some("api".to_string())),
            (obj("ConfigMap", "wandb-app-configmap"), None),
            (obj("Service", "wandb-mysql"), Some("mysql".to_string())),
        ]);
        let changed = BTreeSet::from([obj("Deployment", "wandb-app")]);
        let told = attribute(&members, &changed, &scopes).expect("told");
        assert_eq!(told[&0], changed);
        assert!(told[&1].is_empty());

        let parent = BTreeSet::from([obj("ConfigMap", "wandb-app-configmap")]);
        assert_eq!(attribute(&members, &parent, &scopes), None);
        let no_probe = BTreeSet::from([obj("Service", "wandb-mysql")]);
        assert_eq!(attribute(&members, &no_probe, &scopes), None);
        let unknown = BTreeSet::from([obj("Secret", "new")]);
        assert_eq!(attribute(&members, &unknown, &scopes), None);
        // Alone, a probe owns whatever changed.
        let told = attribute(&members[..1], &parent, &scopes).expect("alone");
        assert_eq!(told[&0], parent);
    }
}
