//! A container's `env` and `envFrom`: the catalog's env groups and vars,
//! the user's env maps, in upstream's precedence.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMapEnvSource, EnvFromSource, EnvVar, SecretEnvSource};
use wandb_values::EnvValue;

use super::Build;
use super::overrides::UserContainer;
use crate::catalog::{ContainerSpec, EnvFromSpec, EnvGroup};
use crate::env;
use crate::resolve::{Scope, env_var};

impl Build<'_, '_> {
    /// Env vars of a container, in order: the catalog's groups, then the
    /// env map sorted by name (a name in the map drops the group's var).
    pub(super) fn env(
        &self,
        container: &ContainerSpec,
        main: bool,
        user: UserContainer,
    ) -> Vec<EnvVar> {
        let g = &self.ctx.values.global;
        let mut map: BTreeMap<String, EnvVar> = BTreeMap::new();
        let put = |name: &str, var: EnvVar, map: &mut BTreeMap<String, EnvVar>| {
            map.entry(name.to_string()).or_insert(var);
        };
        // Highest precedence first; `put` keeps the first it sees.
        let own = user.over.map(|o| &o.env).into_iter().flatten();
        for (name, value) in own.chain(&self.values.env) {
            put(name, user_env(name, value), &mut map);
        }
        let scope = Scope::service(self.key);
        for (name, entry) in container.env.iter().chain(&self.spec.env) {
            if let Some(resolved) = self.ctx.entry(entry, scope) {
                put(name, env_var(name, resolved), &mut map);
            }
        }
        for (name, value) in self
            .values
            .extra_env
            .iter()
            .chain(&g.env)
            .chain(&g.extra_env)
        {
            put(name, user_env(name, value), &mut map);
        }
        // `global.extraEnvFrom` is not here: upstream gives it to its own
        // charts' containers only (stores/common.rs).
        for (name, source) in &self.values.extra_env_from {
            put(name, env::from_source(name, source.clone()), &mut map);
        }
        if main {
            for (name, value) in &self.sizing.env {
                put(name, user_env(name, value), &mut map);
            }
        }
        let mut out: Vec<EnvVar> = Vec::new();
        let catalog = self.ctx.catalog;
        // The service's `envTpls`, when given, choose its groups (by the
        // upstream helpers they name).
        let groups: Vec<&EnvGroup> = match &self.values.env_tpls {
            Some(tpls) => tpls
                .iter()
                .filter_map(|t| catalog.group_of_helper(t.0.name()))
                .collect(),
            None => self
                .spec
                .env_groups
                .iter()
                .filter_map(|name| catalog.env_groups.get(name))
                .collect(),
        };
        let scope = Scope::service(self.key);
        for group in groups {
            for var in self.ctx.group_vars(group, scope) {
                if !map.contains_key(&var.name) && !out.iter().any(|v| v.name == var.name) {
                    out.push(var);
                }
            }
        }
        out.extend(map.into_values());
        out
    }

    pub(super) fn env_from(
        &self,
        container: &ContainerSpec,
        user: UserContainer,
    ) -> Vec<EnvFromSource> {
        // By full name, as upstream orders them: later sources win, the
        // container's own over the component's.
        let mut by_name: BTreeMap<String, bool> = BTreeMap::new();
        for spec in self.spec.env_from.iter().chain(&container.env_from) {
            match spec {
                EnvFromSpec::ConfigMap(n) => by_name.insert(self.ctx.name(n), false),
                EnvFromSpec::Secret(n) => by_name.insert(self.ctx.name(n), true),
            };
        }
        let own = user.over.map(|c| &c.env_from).into_iter().flatten();
        for (name, kind) in self.values.env_from.iter().chain(own) {
            by_name.insert(self.ctx.expand(name), kind == "secretRef");
        }
        by_name
            .into_iter()
            .map(|(name, secret)| {
                if secret {
                    EnvFromSource {
                        secret_ref: Some(SecretEnvSource {
                            name,
                            optional: None,
                        }),
                        ..Default::default()
                    }
                } else {
                    EnvFromSource {
                        config_map_ref: Some(ConfigMapEnvSource {
                            name,
                            optional: None,
                        }),
                        ..Default::default()
                    }
                }
            })
            .collect()
    }
}

/// An env var from the user's values.
pub fn user_env(name: &str, value: &EnvValue) -> EnvVar {
    match value {
        EnvValue::From { value_from } => env::from_source(name, (**value_from).clone()),
        EnvValue::Wrapped { value } | EnvValue::Plain(value) => env::literal(name, value.as_str()),
    }
}
