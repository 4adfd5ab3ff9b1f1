//! Ingresses: class, TLS, routes.

use super::*;

impl Checks {
    pub(super) fn ingress(&mut self, id: &str, up: &Value, mine: &Value) {
        let (us, ms) = (&up["spec"], &mine["spec"]);
        self.same(
            Category::Ingress,
            format!("{id} class"),
            &us["ingressClassName"],
            &ms["ingressClassName"],
        );
        self.same(
            Category::Ingress,
            format!("{id} tls"),
            &us["tls"],
            &ms["tls"],
        );
        let theirs = routes(us);
        let ours = routes(ms);
        for (route, backend) in theirs {
            let have = ours.get(&route);
            self.push(
                Category::Ingress,
                format!("{id} {} {} -> {backend}", route.0, route.1),
                have == Some(&backend),
                Some(have.cloned().unwrap_or("nothing".into())),
            );
        }
    }
}

/// Ingress routes: (host, path) -> `service:port`.
pub(super) fn routes(spec: &Value) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for rule in spec["rules"].as_array().into_iter().flatten() {
        for path in rule["http"]["paths"].as_array().into_iter().flatten() {
            let service = &path["backend"]["service"];
            let port = or_value(&service["port"]["number"], &service["port"]["name"]);
            out.insert(
                (text(&rule["host"]), text(&path["path"])),
                format!("{}:{}", text(&service["name"]), text(&port)),
            );
        }
    }
    out
}
