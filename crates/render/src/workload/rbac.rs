//! The service's ServiceAccount and its Role or ClusterRole with bindings.

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};

use super::Build;
use crate::catalog;
use crate::objects::Object;

impl Build<'_, '_> {
    pub(super) fn service_account_name(&self) -> String {
        let sa = &self.spec.service_account;
        if let Some(name) = self
            .values
            .service_account
            .name
            .clone()
            .filter(|n| !n.is_empty())
        {
            return name;
        }
        if !self.creates_service_account() {
            return "default".into();
        }
        sa.name.clone().unwrap_or_else(|| self.fullname.clone())
    }

    pub(super) fn creates_service_account(&self) -> bool {
        self.values
            .service_account
            .create
            .unwrap_or(self.spec.service_account.create)
    }

    /// The Role the values ask for: the catalog's unless `role.*` says
    /// otherwise. `None` when none is created.
    pub(super) fn role_spec(&self) -> Option<catalog::RoleSpec> {
        let user = &self.values.role;
        let catalog = self.spec.role.as_ref();
        if !user.create.unwrap_or(catalog.is_some()) {
            return None;
        }
        Some(catalog::RoleSpec {
            cluster: match user.kind.as_deref() {
                Some(kind) => kind == "ClusterRole",
                None => catalog.is_some_and(|r| r.cluster),
            },
            rules: user
                .rules
                .clone()
                .or_else(|| catalog.map(|r| r.rules.clone()))
                .unwrap_or_default(),
        })
    }

    pub(super) fn service_account(&self) -> Object {
        let mut meta = self.meta(&self.service_account_name());
        if !self.values.service_account.annotations.is_empty() {
            meta.annotations
                .get_or_insert_with(Default::default)
                .extend(self.values.service_account.annotations.clone());
        }
        self.hook_annotations(&mut meta);
        Object::ServiceAccount(ServiceAccount {
            metadata: meta,
            automount_service_account_token: Some(
                self.values.service_account.automount.unwrap_or(true),
            ),
            ..Default::default()
        })
    }

    pub(super) fn role(&self, role: &catalog::RoleSpec) -> Vec<Object> {
        let mut meta = self.meta(&self.fullname);
        self.hook_annotations(&mut meta);
        let subject = Subject {
            kind: "ServiceAccount".into(),
            name: self.service_account_name(),
            namespace: Some(self.ctx.release.namespace.clone()),
            api_group: None,
        };
        let (cluster_rules, namespaced_rules) = split_rules(&role.rules, role.cluster);
        let mut out = Vec::new();
        if role.cluster {
            // Cluster-scoped reads stay in a ClusterRole; everything that
            // touches namespaced objects (Secrets above all) is confined to
            // the install's namespace by a Role of the same name.
            let mut cluster_meta = meta.clone();
            cluster_meta.namespace = None;
            out.push(Object::ClusterRole(ClusterRole {
                metadata: cluster_meta.clone(),
                rules: Some(cluster_rules),
                aggregation_rule: None,
            }));
            out.push(Object::ClusterRoleBinding(ClusterRoleBinding {
                metadata: cluster_meta,
                role_ref: RoleRef {
                    api_group: "rbac.authorization.k8s.io".into(),
                    kind: "ClusterRole".into(),
                    name: self.fullname.clone(),
                },
                subjects: Some(vec![subject.clone()]),
            }));
        }
        if !namespaced_rules.is_empty() {
            out.push(Object::Role(Role {
                metadata: meta.clone(),
                rules: Some(namespaced_rules),
            }));
            out.push(Object::RoleBinding(RoleBinding {
                metadata: meta,
                role_ref: RoleRef {
                    api_group: "rbac.authorization.k8s.io".into(),
                    kind: "Role".into(),
                    name: self.fullname.clone(),
                },
                subjects: Some(vec![subject]),
            }));
        }
        out
    }
}

/// Splits rules into cluster-scoped reads and the namespaced rest.
fn split_rules(rules: &[PolicyRule], cluster: bool) -> (Vec<PolicyRule>, Vec<PolicyRule>) {
    if !cluster {
        return (vec![], rules.to_vec());
    }
    const CLUSTER_SCOPED: &[&str] = &["namespaces", "nodes", "persistentvolumes"];
    let mut cluster_rules = Vec::new();
    let mut namespaced = Vec::new();
    for rule in rules {
        let resources = rule.resources.clone().unwrap_or_default();
        let (c, n): (Vec<String>, Vec<String>) = resources
            .into_iter()
            .partition(|r| CLUSTER_SCOPED.contains(&r.as_str()));
        if !c.is_empty() {
            cluster_rules.push(PolicyRule {
                resources: Some(c),
                ..rule.clone()
            });
        }
        if !n.is_empty() {
            namespaced.push(PolicyRule {
                resources: Some(n),
                ..rule.clone()
            });
        }
    }
    (cluster_rules, namespaced)
}
