//! Labels and annotations the values set.

use super::*;

impl Checks {
    /// The labels and annotations the values set (`prefix` is "" for the
    /// object, "pod " for a pod template).
    pub(super) fn metadata(&mut self, id: &str, up: &Value, mine: &Value, prefix: &str) {
        for (k, v) in user_entries(&up["labels"]) {
            let have = &mine["labels"][k];
            self.push(
                Category::Labels,
                format!("{id} {prefix}label {k}={}", text(v)),
                text(have) == text(v),
                Some(text(have)),
            );
        }
        for (k, v) in user_entries(&up["annotations"]) {
            if k.starts_with("helm.sh/") || k.contains("checksum") {
                continue;
            }
            self.same(
                Category::Annotations,
                format!("{id} {prefix}annotation {k}"),
                v,
                &mine["annotations"][k],
            );
        }
    }
}

/// Labels that Helm or the chart's plumbing set, not the user's values.
const HELM_LABELS: &[&str] = &[
    "helm.sh/chart",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/version",
    "chart",
    "heritage",
    "release",
];

/// The entries of a labels or annotations map that the values set.
pub(super) fn user_entries(map: &Value) -> impl Iterator<Item = (&String, &Value)> {
    map.as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !HELM_LABELS.contains(&k.as_str()))
}
