//! The checks a typed document must pass: every name it uses exists, every
//! values path is one the values have, every source fits its place.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{Catalog, CatalogError, Condition, Entry, Fact, Service, Source, ValuePath};

/// The upstream helpers an env group may stand for (`envTpls` entries).
fn helper_names() -> BTreeSet<&'static str> {
    wandb_values::template::env_helper_names().collect()
}

/// What a source's place takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// A ConfigMap's data: text.
    ConfigMap,
    /// A Secret's data: text or a generated value.
    Secret,
    /// An env var: text or a reference.
    Env,
    /// A name or a key: text.
    Name,
}

struct Checker<'c> {
    catalog: &'c Catalog,
    errors: Vec<CatalogError>,
}

pub fn check(catalog: &Catalog) -> Result<(), CatalogError> {
    let mut c = Checker {
        catalog,
        errors: Vec::new(),
    };
    for (i, layer) in catalog.layers.iter().enumerate() {
        for (field, path) in [("path", &layer.path), ("over", &layer.over)] {
            c.path(&format!("layers[{i}].{field}"), path, false);
        }
    }
    c.env_groups();
    for (key, service) in &catalog.services {
        c.service(key, service);
    }
    c.config();
    c.routes();
    c.bridge();
    for key in catalog.sizing.keys() {
        if key != "base" && catalog.service(key).is_none() {
            c.error(
                format!("sizing.{key}"),
                format!("{key:?} is not a service of the document"),
            );
        }
    }
    match c.errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

impl Checker<'_> {
    fn error(&mut self, place: String, message: String) {
        self.errors.push(CatalogError::new(place, message));
    }

    fn env_groups(&mut self) {
        let known = helper_names();
        let groups = self
            .catalog
            .env_groups
            .iter()
            .map(|(n, g)| (format!("envGroups.{n}"), n, g))
            .chain(
                self.catalog
                    .store_env
                    .iter()
                    .map(|(n, g)| (format!("storeEnv.{n}"), n, g)),
            );
        for (at, name, group) in groups {
            for (i, helper) in group.helpers.iter().enumerate() {
                if !known.contains(helper.as_str()) {
                    self.error(
                        format!("{at}.helpers[{i}]"),
                        format!("{helper:?} is not an env helper of the upstream chart"),
                    );
                }
            }
            for (i, other) in group.include.iter().enumerate() {
                if !self.catalog.env_groups.contains_key(other) || other == name {
                    self.error(
                        format!("{at}.include[{i}]"),
                        format!("{other:?} is not another env group of the document"),
                    );
                }
            }
            if let Some(cycle) = include_cycle(self.catalog, name, &mut vec![name.as_str()]) {
                self.error(
                    format!("{at}.include"),
                    format!("the groups include each other: {}", cycle.join(" -> ")),
                );
            }
            if let Some(c) = &group.when {
                self.condition(&format!("{at}.when"), c, true);
            }
            for (i, e) in group.env.iter().enumerate() {
                let place = format!("{at}.env[{i}]({})", e.name);
                self.entry(&place, &e.entry, Place::Env, true);
            }
        }
    }

    fn service(&mut self, key: &str, s: &Service) {
        let at = format!("services.{key}");
        for (i, group) in s.env_groups.iter().enumerate() {
            if !self.catalog.env_groups.contains_key(group) {
                self.error(
                    format!("{at}.envGroups[{i}]"),
                    format!("{group:?} is not an env group of the document"),
                );
            }
        }
        if let Some(c) = &s.enabled {
            self.condition(&format!("{at}.enabled"), c, true);
        }
        for (name, e) in &s.env {
            self.entry(&format!("{at}.env.{name}"), e, Place::Env, true);
        }
        let containers = s
            .containers
            .iter()
            .map(|(n, c)| (format!("{at}.containers.{n}"), c))
            .chain(
                s.init_containers
                    .iter()
                    .map(|(n, c)| (format!("{at}.initContainers.{n}"), c)),
            );
        let mut all: Vec<_> = containers.collect();
        for (j, job) in &s.jobs {
            if let Some(c) = &job.when {
                self.condition(&format!("{at}.jobs.{j}.when"), c, true);
            }
            all.extend(
                job.containers
                    .iter()
                    .chain(&job.init_containers)
                    .map(|(n, c)| (format!("{at}.jobs.{j}.containers.{n}"), c)),
            );
        }
        for (j, job) in &s.cron_jobs {
            all.extend(
                job.containers
                    .iter()
                    .map(|(n, c)| (format!("{at}.cronJobs.{j}.containers.{n}"), c)),
            );
        }
        for (place, container) in all {
            if let Some(c) = &container.when {
                self.condition(&format!("{place}.when"), c, true);
            }
            for (name, e) in &container.env {
                self.entry(&format!("{place}.env.{name}"), e, Place::Env, true);
            }
        }
    }

    fn config(&mut self) {
        let objects = self
            .catalog
            .config_maps
            .iter()
            .map(|(n, o)| (format!("configMaps.{n}"), o, Place::ConfigMap))
            .chain(
                self.catalog
                    .secrets
                    .iter()
                    .map(|(n, o)| (format!("secrets.{n}"), o, Place::Secret)),
            );
        for (at, object, place) in objects {
            if let Some(c) = &object.when {
                self.condition(&format!("{at}.when"), c, false);
            }
            for (key, e) in &object.data.0 {
                self.entry(&format!("{at}.data.{key}"), e, place, false);
            }
        }
    }

    fn routes(&mut self) {
        let routes = &self.catalog.routes;
        for (i, r) in routes.list.iter().enumerate() {
            let at = format!("routes.list[{i}]({})", r.path);
            // Without nginx locations there is no front proxy to route.
            let proxied = routes.nginx.order.is_empty() || routes.nginx.order.contains(&r.group);
            if !proxied || !routes.ingress_order.contains(&r.group) {
                self.error(
                    format!("{at}.group"),
                    format!(
                        "group {:?} is not in routes.ingressOrder and (when it has any) routes.nginx.order: the route would not be written",
                        r.group
                    ),
                );
            }
            self.source(&format!("{at}.service"), &r.service, Place::Name, false);
            if let Some(c) = &r.when {
                self.condition(&format!("{at}.when"), c, false);
            }
        }
    }

    fn bridge(&mut self) {
        let bridge = &self.catalog.server_manifest;
        let all = bridge
            .sources
            .iter()
            .map(|(k, b)| (format!("serverManifest.sources.{k}"), b))
            .chain(
                bridge
                    .custom_resource
                    .iter()
                    .map(|(k, b)| (format!("serverManifest.customResource.{k}"), b)),
            );
        for (at, b) in all {
            if let Some(v) = &b.value {
                self.entry(&format!("{at}.value"), v, Place::Env, false);
            }
            for (field, e) in &b.fields {
                self.entry(&format!("{at}.fields.{field}"), e, Place::Env, false);
            }
            for (i, group) in b.env_groups.iter().enumerate() {
                if !self.catalog.env_groups.contains_key(group) {
                    self.error(
                        format!("{at}.envGroups[{i}]"),
                        format!("{group:?} is not an env group of the document"),
                    );
                }
            }
        }
    }

    fn entry(&mut self, place: &str, e: &Entry, kind: Place, in_service: bool) {
        if let Some(c) = &e.when {
            self.condition(&format!("{place}.when"), c, in_service);
        }
        if let Some(key) = &e.key {
            self.source(&format!("{place}.key"), key, Place::Name, in_service);
        }
        self.source(place, &e.source, kind, in_service);
    }

    fn source(&mut self, place: &str, source: &Source, kind: Place, in_service: bool) {
        let fits = match kind {
            Place::ConfigMap | Place::Name => source.is_text(),
            Place::Secret => source.is_text() || source.is_generated(),
            Place::Env => !source.is_generated(),
        };
        if !fits {
            let takes = match kind {
                Place::ConfigMap => "a ConfigMap holds text (text, value, fact, concat, oneOf)",
                Place::Name => "a name is text (text, value, fact, concat, oneOf)",
                Place::Secret => "a Secret holds text or a generated value",
                Place::Env => "a generated value belongs in a Secret, not an env var",
            };
            self.error(
                place.to_string(),
                format!("this source does not fit here: {takes}"),
            );
        }
        let mut paths = Vec::new();
        source.visit(&mut |s| match s {
            Source::Value { path, .. } | Source::ValueOrRef { path, .. } => {
                paths.push(path.clone())
            }
            Source::OneOf(entries) => {
                for e in entries {
                    if let Some(c) = &e.when {
                        c.visit(&mut |p, _| paths.extend(p.cloned()));
                    }
                }
            }
            _ => {}
        });
        for path in paths {
            self.path(place, &path, in_service);
        }
    }

    fn condition(&mut self, place: &str, c: &Condition, in_service: bool) {
        let mut paths = Vec::new();
        c.visit(&mut |p, _: Option<Fact>| paths.extend(p.cloned()));
        for path in paths {
            self.path(place, &path, in_service);
        }
    }

    /// A values path must be one the values have (the chart's keys, or the
    /// document's own defaults); a service's own key only where a service
    /// reads it.
    fn path(&mut self, place: &str, path: &ValuePath, in_service: bool) {
        let known = if path.relative {
            in_service
                && (wandb_values::check::service_has_key(&path.keys)
                    || self.catalog.services.iter().any(|(k, _)| {
                        lookup(&self.catalog.values, std::iter::once(k).chain(&path.keys))
                    }))
        } else {
            wandb_values::check::has_key(&path.keys)
                || lookup(&self.catalog.values, path.keys.iter())
        };
        if !known {
            let message = if path.relative && !in_service {
                format!(
                    "values path {path}: a service's own key (.key) is read only by a service's env"
                )
            } else {
                format!(
                    "values path {path} is not a key of the values (the chart's, or one the document's values section gives a default)"
                )
            };
            self.error(place.to_string(), message);
        }
    }
}

/// A chain of includes from `name` back to a group on `path`, if any.
fn include_cycle<'c>(
    catalog: &'c Catalog,
    name: &str,
    path: &mut Vec<&'c str>,
) -> Option<Vec<String>> {
    let group = catalog
        .env_groups
        .get(name)
        .or_else(|| catalog.store_env.get(name))?;
    for next in &group.include {
        if path.contains(&next.as_str()) {
            let mut cycle: Vec<String> = path.iter().map(|s| s.to_string()).collect();
            cycle.push(next.clone());
            return Some(cycle);
        }
        path.push(next);
        if let Some(cycle) = include_cycle(catalog, next, path) {
            return Some(cycle);
        }
        path.pop();
    }
    None
}

/// Whether `tree` has a key at the path.
/// Whether the document's values have the key, or an empty map above it
/// (the user's to fill, as the values check reads it too).
fn lookup<'a>(tree: &Value, keys: impl Iterator<Item = &'a String>) -> bool {
    let mut node = tree;
    for key in keys {
        match node.get(key) {
            Some(child) => node = child,
            None => return node.as_object().is_some_and(|m| m.is_empty()),
        }
    }
    true
}
