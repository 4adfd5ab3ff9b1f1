//! Workloads: replicas, schedule, scheduling, service account, pod
//! metadata, containers.

use super::*;

impl Checks {
    pub(super) fn workload(&mut self, id: &str, kind: &str, up: &Value, mine: &Value) {
        if kind == "Deployment" || kind == "StatefulSet" {
            let replicas = |o: &Value| match text(&o["spec"]["replicas"]) {
                r if r.is_empty() => "1".to_string(),
                r => r,
            };
            self.push(
                Category::Replicas,
                format!("{id} replicas {}", replicas(up)),
                replicas(up) == replicas(mine),
                Some(replicas(mine)),
            );
        }
        if kind == "CronJob" {
            self.same(
                Category::Schedule,
                format!("{id} schedule"),
                &up["spec"]["schedule"],
                &mine["spec"]["schedule"],
            );
        }
        let (ut, mt) = (template(up), template(mine));
        let (ups, mps) = (&ut["spec"], &mt["spec"]);
        for field in [
            "nodeSelector",
            "tolerations",
            "affinity",
            "priorityClassName",
            "imagePullSecrets",
            "hostAliases",
            "topologySpreadConstraints",
        ] {
            if canon(&ups[field]).is_some() || canon(&mps[field]).is_some() {
                self.same(
                    Category::Scheduling,
                    format!("{id} {field}"),
                    &ups[field],
                    &mps[field],
                );
            }
        }
        let account = |s: &Value| {
            s["serviceAccountName"]
                .as_str()
                .or(s["serviceAccount"].as_str())
                .unwrap_or("default")
                .to_string()
        };
        self.push(
            Category::ServiceAccounts,
            format!("{id} serviceAccountName {}", account(ups)),
            account(ups) == account(mps),
            Some(account(mps)),
        );
        self.metadata(id, &ut["metadata"], &mt["metadata"], "pod ");
        let ours = containers(mps);
        for uc in containers(ups).values() {
            let name = text(&uc["name"]);
            let at = format!("{id}[{name}]");
            match ours.get(&name) {
                None => self.push(Category::Containers, format!("{at} present"), false, None),
                Some(mc) => {
                    self.push(Category::Containers, format!("{at} present"), true, None);
                    self.container(&at, (ups, uc), (mps, mc));
                }
            }
        }
    }
}

/// The pod template of a workload (a CronJob's is inside its job template).
pub(super) fn template(o: &Value) -> &Value {
    if o["kind"] == "CronJob" {
        &o["spec"]["jobTemplate"]["spec"]["template"]
    } else {
        &o["spec"]["template"]
    }
}

/// Init containers and containers, by name.
pub(super) fn containers(pod: &Value) -> BTreeMap<String, &Value> {
    ["initContainers", "containers"]
        .iter()
        .filter_map(|f| pod[*f].as_array())
        .flatten()
        .map(|c| (text(&c["name"]), c))
        .collect()
}
