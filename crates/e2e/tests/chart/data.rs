//! The data a release holds (volumes, Secrets), to tell it kept.

use super::*;

/// A PVC or Secret as recorded before a step and compared after it.
#[derive(Clone, Debug, PartialEq)]
pub struct Held {
    pub kind: String,
    pub name: String,
    pub uid: String,
    /// Secret: its data (key -> base64); PVC: {"volume": volumeName}.
    pub data: BTreeMap<String, String>,
    pub owners: usize,
}

impl Held {
    pub fn sha(&self) -> String {
        sha256_of_data(&self.data)[..16].to_string()
    }
}

/// The namespace's PVCs and Secrets (all of them, or only the generated
/// ones), Helm's release records left out.
pub fn held(cluster: &Cluster, ns: &str, generated_only: bool) -> BTreeMap<String, Held> {
    let list = cluster
        .get_if_exists(&["-n", ns, "secrets,persistentvolumeclaims"])
        .unwrap();
    let mut out = BTreeMap::new();
    for item in items(&list) {
        let kind = text(&item, "/kind").to_string();
        let name = text(&item, "/metadata/name").to_string();
        if text(&item, "/type") == "helm.sh/release.v1" {
            continue;
        }
        let generated = item["metadata"]["annotations"][GENERATED_KEYS].is_string();
        if generated_only && kind == "Secret" && !generated {
            continue;
        }
        let data = if kind == "Secret" {
            secret_data(&item)
        } else {
            BTreeMap::from([(
                "volume".to_string(),
                text(&item, "/spec/volumeName").to_string(),
            )])
        };
        out.insert(
            format!("{kind}/{name}"),
            Held {
                uid: text(&item, "/metadata/uid").to_string(),
                owners: item["metadata"]["ownerReferences"]
                    .as_array()
                    .map_or(0, Vec::len),
                kind,
                name,
                data,
            },
        );
    }
    out
}

/// Prints what is held, one line per object with its uid and data's hash.
pub fn print_held(what: &str, held: &BTreeMap<String, Held>) {
    eprintln!("[chart] {what}:");
    for d in held.values() {
        eprintln!(
            "    {:<50} uid {} sha256 {}",
            format!("{}/{}", d.kind, d.name),
            d.uid,
            d.sha()
        );
    }
}

/// Compares what was held before with what is there now: every object
/// still there with its uid and its data. `fill_empty` allows keys that
/// were empty or absent before to have gained a value. Returns the
/// problems and the keys that were filled.
pub fn compare_held(
    before: &BTreeMap<String, Held>,
    now: &BTreeMap<String, Held>,
    fill_empty: bool,
) -> (Vec<String>, Vec<String>) {
    let mut problems = Vec::new();
    let mut filled = Vec::new();
    for (key, b) in before {
        let Some(n) = now.get(key) else {
            problems.push(format!("{key} was deleted"));
            continue;
        };
        if n.uid != b.uid {
            problems.push(format!("{key} was recreated (uid {} -> {})", b.uid, n.uid));
        }
        for (k, v) in &b.data {
            match n.data.get(k) {
                None => problems.push(format!("{key}: {k} was removed")),
                Some(nv) if nv == v => {}
                Some(_) if fill_empty && v.is_empty() => filled.push(format!("{key}: {k}")),
                Some(_) => problems.push(format!("{key}: {k} changed")),
            }
        }
        for k in n.data.keys().filter(|k| !b.data.contains_key(*k)) {
            if fill_empty {
                filled.push(format!("{key}: {k} (new)"));
            } else {
                problems.push(format!("{key}: {k} was added"));
            }
        }
    }
    (problems, filled)
}

/// Asserts [`compare_held`] finds no problem after `what`; returns the keys
/// that were filled.
pub fn assert_kept(
    what: &str,
    before: &BTreeMap<String, Held>,
    now: &BTreeMap<String, Held>,
    fill_empty: bool,
) -> Vec<String> {
    let (problems, filled) = compare_held(before, now, fill_empty);
    assert!(
        problems.is_empty(),
        "{what} lost or changed data:\n{}",
        problems.join("\n")
    );
    filled
}
