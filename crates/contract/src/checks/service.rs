//! Services: type, selector, ports and what they send to.

use super::workload::{containers, template};
use super::*;

impl Checks {
    /// A Service, with the renders its selector picks pods from: a named
    /// target port is compared as the container port it names.
    pub(super) fn service(
        &mut self,
        id: &str,
        (up, theirs): (&Value, &Objects),
        (mine, ours): (&Value, &Objects),
    ) {
        let (us, ms) = (&up["spec"], &mine["spec"]);
        let kind = |s: &Value| s["type"].as_str().unwrap_or("ClusterIP").to_string();
        self.push(
            Category::Services,
            format!("{id} type {}", kind(us)),
            kind(us) == kind(ms),
            Some(kind(ms)),
        );
        self.same(
            Category::Services,
            format!("{id} selector"),
            &us["selector"],
            &ms["selector"],
        );
        let ports = |s: &Value| -> BTreeMap<String, Value> {
            s["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| (text(&p["port"]), p.clone()))
                .collect()
        };
        let mine_ports = ports(ms);
        for (port, p) in ports(us) {
            let m = mine_ports.get(&port);
            self.push(
                Category::Services,
                format!("{id} port {port}"),
                m.is_some(),
                None,
            );
            let Some(m) = m else { continue };
            let target = resolve_target(theirs, &us["selector"], &p);
            let have = resolve_target(ours, &ms["selector"], m);
            self.push(
                Category::Services,
                format!("{id} port {port} targetPort {target}"),
                target == have,
                Some(have),
            );
            if !p["nodePort"].is_null() {
                self.same(
                    Category::Services,
                    format!("{id} port {port} nodePort"),
                    &p["nodePort"],
                    &m["nodePort"],
                );
            }
        }
    }
}

/// The container port a Service port sends to: its targetPort (or port)
/// when a number; the number of the named port of a pod the selector picks
/// when a name; else the name.
pub(super) fn resolve_target(objects: &Objects, selector: &Value, port: &Value) -> String {
    let target = text(&or_value(&port["targetPort"], &port["port"]));
    if target.parse::<u16>().is_ok() {
        return target;
    }
    let Some(selector) = selector.as_object().filter(|s| !s.is_empty()) else {
        return target;
    };
    let picks = |pod_labels: &Value| selector.iter().all(|(k, v)| pod_labels[k] == *v);
    objects
        .values()
        .filter(|o| picks(&template(o)["metadata"]["labels"]))
        .flat_map(|o| containers(&template(o)["spec"]).into_values())
        .flat_map(|c| c["ports"].as_array().cloned().unwrap_or_default())
        .find(|p| text(&p["name"]) == target)
        .map(|p| text(&p["containerPort"]))
        .unwrap_or(target)
}
