//! The workloads of an install as the cluster's controllers run them:
//! Deployments, their ReplicaSets, StatefulSets, Jobs and their pods.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    INSTANCE_LABEL, Snapshot, annotation_of, has_condition, int_at, label_of, owner_uids, str_at,
    terminating,
};

/// Workloads of an install, as the cluster's controllers run them.
#[derive(Clone, Debug, Default)]
pub struct Workloads {
    pub deployments: usize,
    pub replica_sets: usize,
    pub statefulsets: usize,
    pub jobs: usize,
    pub pods: usize,
    /// `deployment.kubernetes.io/revision` of each Deployment.
    pub revisions: BTreeMap<String, i64>,
    /// How many ReplicaSets each Deployment has.
    pub sets: BTreeMap<String, usize>,
}

impl Workloads {
    /// Rollouts since the Deployments were created: the sum of (revision - 1).
    pub fn rollouts(&self) -> i64 {
        self.revisions.values().map(|r| r - 1).sum()
    }

    pub fn describe(&self) -> String {
        format!(
            "{} Deployments with {} ReplicaSets ({} rollouts), {} StatefulSets, {} Jobs, {} pods",
            self.deployments,
            self.replica_sets,
            self.rollouts(),
            self.statefulsets,
            self.jobs,
            self.pods
        )
    }
}

impl Snapshot {
    /// The workloads run as asked, once: each Deployment has one
    /// ReplicaSet with replicas and exactly its replicas in pods, all Ready
    /// (older ReplicaSets at 0); each StatefulSet its replicas in pods;
    /// each Job one pod, Succeeded; no ReplicaSet or pod whose owner is gone.
    pub fn workloads(&self, ns: &str, name: &str) -> Result<Workloads, String> {
        let mut census = Census::new(self, ns, name);
        let mut owners = BTreeSet::new();
        for d in census.managed("Deployment") {
            owners.insert(census.deployment(d));
        }
        census.orphan_sets(&owners);
        let mut pod_owners: BTreeSet<&str> = census
            .sets
            .iter()
            .map(|rs| str_at(rs, "/metadata/uid"))
            .collect();
        for s in census.managed("StatefulSet") {
            pod_owners.insert(census.statefulset(s));
        }
        for j in census.managed("Job") {
            pod_owners.insert(census.job(j));
        }
        census.orphan_pods(&pod_owners);
        if census.problems.is_empty() {
            Ok(census.counts)
        } else {
            Err(format!("{ns}: {}", census.problems.join("; ")))
        }
    }
}

/// What [`Snapshot::workloads`] counts of one install's workloads, and the
/// problems it finds, in the order it looks.
struct Census<'a> {
    snapshot: &'a Snapshot,
    ns: &'a str,
    name: &'a str,
    /// The namespace's pods, terminating ones aside.
    pods: Vec<&'a serde_json::Value>,
    /// The namespace's ReplicaSets, of any install.
    sets: Vec<&'a serde_json::Value>,
    counts: Workloads,
    problems: Vec<String>,
}

impl<'a> Census<'a> {
    fn new(snapshot: &'a Snapshot, ns: &'a str, name: &'a str) -> Self {
        Census {
            snapshot,
            ns,
            name,
            pods: snapshot
                .of_kind(ns, "Pod")
                .filter(|o| !terminating(o))
                .collect(),
            sets: snapshot.of_kind(ns, "ReplicaSet").collect(),
            counts: Workloads::default(),
            problems: Vec::new(),
        }
    }

    /// The install's live objects of `kind`.
    fn managed(&self, kind: &'a str) -> impl Iterator<Item = &'a serde_json::Value> + use<'a> {
        let name = self.name;
        self.snapshot
            .of_kind(self.ns, kind)
            .filter(move |o| label_of(o, INSTANCE_LABEL) == name)
            .filter(|o| !terminating(o))
    }

    /// The live pods owned by `uid`.
    fn owned(&self, uid: &str) -> Vec<&'a serde_json::Value> {
        self.pods
            .iter()
            .copied()
            .filter(|p| owner_uids(p).contains(&uid))
            .collect()
    }

    /// One Deployment: one ReplicaSet with replicas, at its revision, and
    /// its replicas in Ready pods. Gives its uid.
    fn deployment(&mut self, d: &'a serde_json::Value) -> &'a str {
        let dname = str_at(d, "/metadata/name");
        let uid = str_at(d, "/metadata/uid");
        self.counts.deployments += 1;
        let desired = int_at(d, "/spec/replicas").unwrap_or(1);
        let revision = revision_of(d);
        self.counts.revisions.insert(dname.to_string(), revision);
        let mine: Vec<&serde_json::Value> = self
            .sets
            .iter()
            .copied()
            .filter(|rs| owner_uids(rs).contains(&uid))
            .collect();
        self.counts.replica_sets += mine.len();
        self.counts.sets.insert(dname.to_string(), mine.len());
        self.active_sets(dname, revision, desired, &mine);
        let mut running = 0;
        for rs in &mine {
            let rs_pods = self.owned(str_at(rs, "/metadata/uid"));
            running += rs_pods.len();
            if let Some(p) = rs_pods.iter().find(|p| !has_condition(p, "Ready")) {
                self.problems.push(format!(
                    "pod {} of Deployment/{dname} is not Ready",
                    str_at(p, "/metadata/name")
                ));
            }
        }
        self.counts.pods += running;
        if running as i64 != desired {
            self.problems.push(format!(
                "Deployment/{dname}: {running} pods, replicas {desired}"
            ));
        }
        uid
    }

    /// A Deployment's ReplicaSets with replicas: one (none at 0 replicas),
    /// of the Deployment's revision; older ones are scaled to 0.
    fn active_sets(
        &mut self,
        dname: &str,
        revision: i64,
        desired: i64,
        mine: &[&'a serde_json::Value],
    ) {
        let active: Vec<&serde_json::Value> = mine
            .iter()
            .copied()
            .filter(|rs| {
                int_at(rs, "/spec/replicas").unwrap_or(0) > 0
                    || int_at(rs, "/status/replicas").unwrap_or(0) > 0
            })
            .collect();
        let want_active = usize::from(desired > 0);
        if active.len() != want_active {
            self.problems.push(format!(
                "Deployment/{dname}: {} ReplicaSets with replicas ({}), expected {want_active}",
                active.len(),
                active
                    .iter()
                    .map(|rs| str_at(rs, "/metadata/name"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for rs in &active {
            let rev = revision_of(rs);
            if rev != revision {
                self.problems.push(format!(
                    "Deployment/{dname} at revision {revision} runs ReplicaSet/{} of revision {rev}",
                    str_at(rs, "/metadata/name")
                ));
            }
        }
    }

    /// The install's ReplicaSets whose Deployment (one of `owners`) is gone.
    fn orphan_sets(&mut self, owners: &BTreeSet<&str>) {
        for rs in &self.sets {
            let owners_of: Vec<&str> = owner_uids(rs);
            if !owners_of.iter().any(|u| owners.contains(*u)) {
                // ReplicaSets of another install (same namespace) are its business.
                if label_of(rs, INSTANCE_LABEL) == self.name {
                    self.problems.push(format!(
                        "ReplicaSet/{} has no live Deployment (owners {owners_of:?})",
                        str_at(rs, "/metadata/name")
                    ));
                }
            }
        }
    }

    /// One StatefulSet: its replicas in Ready pods. Gives its uid.
    fn statefulset(&mut self, s: &'a serde_json::Value) -> &'a str {
        self.counts.statefulsets += 1;
        let uid = str_at(s, "/metadata/uid");
        let desired = int_at(s, "/spec/replicas").unwrap_or(1);
        let mine = self.owned(uid);
        self.counts.pods += mine.len();
        let sname = str_at(s, "/metadata/name");
        if mine.len() as i64 != desired {
            self.problems.push(format!(
                "StatefulSet/{sname}: {} pods, replicas {desired}",
                mine.len()
            ));
        }
        if let Some(p) = mine.iter().find(|p| !has_condition(p, "Ready")) {
            self.problems.push(format!(
                "pod {} of StatefulSet/{sname} is not Ready",
                str_at(p, "/metadata/name")
            ));
        }
        uid
    }

    /// One Job: one pod, Succeeded, and the Job Complete. Gives its uid.
    fn job(&mut self, j: &'a serde_json::Value) -> &'a str {
        self.counts.jobs += 1;
        let uid = str_at(j, "/metadata/uid");
        let mine = self.owned(uid);
        self.counts.pods += mine.len();
        let jname = str_at(j, "/metadata/name");
        let succeeded = mine
            .iter()
            .filter(|p| str_at(p, "/status/phase") == "Succeeded")
            .count();
        if mine.len() != 1 || succeeded != 1 || !has_condition(j, "Complete") {
            self.problems.push(format!(
                "Job/{jname}: {} pods, {succeeded} Succeeded, Complete {}",
                mine.len(),
                has_condition(j, "Complete")
            ));
        }
        uid
    }

    /// The install's pods whose owner (one of `owners`) is gone.
    fn orphan_pods(&mut self, owners: &BTreeSet<&str>) {
        for p in &self.pods {
            if label_of(p, INSTANCE_LABEL) != self.name {
                continue;
            }
            let owners_of = owner_uids(p);
            if !owners_of.iter().any(|u| owners.contains(*u)) {
                self.problems.push(format!(
                    "pod {} has no live owner (owners {owners_of:?})",
                    str_at(p, "/metadata/name")
                ));
            }
        }
    }
}

/// `deployment.kubernetes.io/revision` of a Deployment or ReplicaSet; 0 if none.
fn revision_of(v: &serde_json::Value) -> i64 {
    annotation_of(v, "deployment.kubernetes.io/revision")
        .and_then(|r| r.parse::<i64>().ok())
        .unwrap_or(0)
}
