//! Labels, annotations and Helm hook annotations every object of a
//! service carries.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{Build, label_value};
use crate::objects::Labels;

impl Build<'_, '_> {
    pub(super) fn selector(&self) -> Labels {
        BTreeMap::from([
            ("app.kubernetes.io/name".into(), self.name_label.clone()),
            (
                "app.kubernetes.io/instance".into(),
                self.ctx.release.name.clone(),
            ),
        ])
    }

    pub(super) fn labels(&self) -> Labels {
        let mut labels = self.selector();
        let image = &self.values.image;
        let version = if !image.digest.is_empty() {
            image
                .digest
                .trim_start_matches("sha256:")
                .chars()
                .take(12)
                .collect()
        } else {
            image.tag.clone()
        };
        if !version.is_empty() {
            labels.insert("app.kubernetes.io/version".into(), label_value(&version));
        }
        labels.insert(
            "app.kubernetes.io/managed-by".into(),
            crate::MANAGED_BY.into(),
        );
        labels.insert("app.kubernetes.io/part-of".into(), "wandb".into());
        for (k, v) in self
            .ctx
            .values
            .global
            .common
            .labels
            .iter()
            .chain(&self.values.common.labels)
        {
            labels.insert(k.clone(), label_value(v));
        }
        labels
    }

    pub(super) fn common_annotations(&self) -> Labels {
        let mut a = self.ctx.values.global.common.annotations.clone();
        a.extend(self.values.common.annotations.clone());
        a
    }

    pub(super) fn meta(&self, name: &str) -> ObjectMeta {
        let annotations = self.common_annotations();
        ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(self.ctx.release.namespace.clone()),
            labels: Some(self.labels()),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..Default::default()
        }
    }

    /// The Helm hook the service's jobs run as: the catalog's, unless the
    /// user's `helmHook` turns it off or names another.
    pub(super) fn hook(&self) -> Option<String> {
        let user = &self.values.helm_hook;
        if !user.enabled.unwrap_or(self.spec.hook.is_some()) {
            return None;
        }
        user.hook
            .clone()
            .filter(|h| !h.is_empty())
            .or_else(|| self.spec.hook.clone())
    }

    pub(super) fn hook_annotations(&self, meta: &mut ObjectMeta) {
        if let Some(hook) = self.hook() {
            let user = &self.values.helm_hook;
            let a = meta.annotations.get_or_insert_with(Default::default);
            a.insert("helm.sh/hook".into(), hook);
            // Upstream leaves a weight or policy set to "" out.
            let weight = user.hook_weight.as_ref().map_or("0", |w| w.as_str());
            if !weight.is_empty() {
                a.insert("helm.sh/hook-weight".into(), weight.into());
            }
            let policy = user
                .hook_delete_policy
                .as_deref()
                .unwrap_or("before-hook-creation,hook-succeeded");
            if !policy.is_empty() {
                a.insert("helm.sh/hook-delete-policy".into(), policy.into());
            }
        }
    }
}
