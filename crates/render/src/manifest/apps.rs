//! A manifest's applications and migrations as the document's services,
//! with their files, routes, sizing and values defaults.
//!
//! Each service is first written as the document would write it (JSON of
//! the `services` section) and typed as any document's is; the env, which
//! is typed already, is laid on after.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use wandb_values::Sizing;

use crate::catalog::{Catalog, CatalogError, ConfigObject, Entry, OrderedMap, Route, Service};
use crate::workload::kebab;

use super::env::{self, Needs};
use super::model::{
    Application, Container, EnvVar, ImageRef, Migration, ServerManifest, VolumeMount,
};

/// What the translation of a manifest's workloads gives.
pub struct Translated {
    pub services: Vec<(String, Service)>,
    pub config_maps: Vec<(String, ConfigObject)>,
    pub routes: Vec<Route>,
    pub route_order: Vec<String>,
    pub sizing: BTreeMap<String, BTreeMap<String, Sizing>>,
    /// The values defaults of each service's block (its image).
    pub values: BTreeMap<String, Value>,
}

/// The values key of an application: the upstream chart's, when it has one.
pub fn key_of(app: &Application) -> &str {
    if app.legacy_key.is_empty() {
        &app.name
    } else {
        &app.legacy_key
    }
}

/// The application's Service, as the workload builder names it.
pub fn service_name(app: &Application) -> String {
    format!("{{release}}-{}", kebab(key_of(app)))
}

/// A port of an application's Service (or containers): by number, by
/// name, or the first.
pub fn port_of(app: &Application, port: &str) -> Option<i32> {
    if let Ok(n) = port.parse::<i32>() {
        return Some(n);
    }
    let service = app.service.iter().flat_map(|s| &s.ports);
    let matched = service
        .clone()
        .find(|p| port.is_empty() || p.name.as_deref() == Some(port))
        .map(|p| p.port);
    matched.or_else(|| {
        app.containers
            .iter()
            .chain(&app.init_containers)
            .flat_map(|c| &c.ports)
            .find(|p| port.is_empty() || p.name == port)
            .map(|p| p.container_port)
    })
}

pub fn translate(manifest: &ServerManifest, base: &Catalog) -> Result<Translated, CatalogError> {
    let mut out = Translated {
        services: Vec::new(),
        config_maps: Vec::new(),
        routes: Vec::new(),
        route_order: Vec::new(),
        sizing: BTreeMap::new(),
        values: BTreeMap::new(),
    };
    for app in manifest.applications.values() {
        application(manifest, base, app, &mut out)?;
    }
    for (name, migration) in &manifest.migrations {
        self::migration(manifest, base, name, migration, &mut out)?;
    }
    topics(manifest, base, &mut out)?;
    store_routes(manifest, base, &mut out)?;
    Ok(out)
}

/// The object store's ingress paths, to the install's own object store.
fn store_routes(
    manifest: &ServerManifest,
    base: &Catalog,
    out: &mut Translated,
) -> Result<(), CatalogError> {
    let Some(to) = base.server_manifest.store_routes.get("bucket") else {
        return Ok(());
    };
    let paths = manifest
        .bucket
        .values()
        .filter_map(|b| b.ingress.as_ref())
        .flat_map(|i| &i.paths);
    for path in paths {
        let route =
            json!({"group": "bucket", "path": path, "service": to.service, "port": to.port});
        let mut route: Route = serde_json::from_value(route)
            .map_err(|e| CatalogError::new("serverManifest.storeRoutes.bucket", e.to_string()))?;
        route.when = to.when.clone();
        out.routes.push(route);
        if !out.route_order.iter().any(|g| g == "bucket") {
            out.route_order.push("bucket".into());
        }
    }
    Ok(())
}

/// The values key of the Job that makes the topics.
pub const TOPICS_KEY: &str = "kafkaTopics";

/// The manifest's Kafka topics, made by the bridge's Job, each gated by
/// its features.
fn topics(
    manifest: &ServerManifest,
    base: &Catalog,
    out: &mut Translated,
) -> Result<(), CatalogError> {
    let (Some(doc), false) = (
        &base.server_manifest.topics,
        manifest.kafka.topics.is_empty(),
    ) else {
        return Ok(());
    };
    let at = |e: serde_json::Error| CatalogError::new("serverManifest.topics", e.to_string());
    let mut service: Service = serde_json::from_value(doc.clone()).map_err(at)?;
    for (i, topic) in manifest.kafka.topics.iter().enumerate() {
        let name = if topic.topic.is_empty() {
            &topic.name
        } else {
            &topic.topic
        };
        let spec = format!("{name}:{}", topic.partition_count.max(1));
        let entry = Entry {
            when: Some(serde_json::from_value(gate(&topic.features)).map_err(at)?),
            ..Entry::plain(crate::catalog::Source::Text(spec))
        };
        service.env.insert(format!("WANDB_TOPIC_{i}"), entry);
    }
    // The Kafka image the install has, as its client, named as the Kafka
    // StatefulSet names it (Docker Hub's, when the name has no registry).
    let mut image = base
        .values
        .pointer("/kafka/image")
        .cloned()
        .unwrap_or_default();
    if let Some(repository) = image.get("repository").and_then(Value::as_str) {
        let host = repository.split('/').next().unwrap_or_default();
        if !host.contains('.') && !host.contains(':') {
            image["repository"] = json!(format!("docker.io/{repository}"));
        }
    }
    out.values
        .insert(TOPICS_KEY.into(), json!({"install": true, "image": image}));
    out.services.push((TOPICS_KEY.into(), service));
    Ok(())
}

/// The condition of something gated by features: on when one of them is.
fn gate(features: &[String]) -> Value {
    if features.is_empty() {
        return json!({"all": []});
    }
    let any: Vec<String> = features
        .iter()
        .map(|f| format!("serverManifest.features.{f}"))
        .collect();
    json!({"any": any})
}

/// The image of a service's block in the values.
fn image_values(image: &ImageRef) -> Value {
    json!({"repository": image.repository(), "tag": image.tag, "digest": image.digest})
}

fn application(
    manifest: &ServerManifest,
    base: &Catalog,
    app: &Application,
    out: &mut Translated,
) -> Result<(), CatalogError> {
    let key = key_of(app).to_string();
    let at = |e: serde_json::Error| {
        CatalogError::new(format!("applications.{}", app.name), e.to_string())
    };
    let mounts = mounts(manifest, &app.common_volume_mounts, &app.volume_mounts);
    let mut volumes: Vec<Value> = mounts.iter().map(volume).collect();
    let mut container_mounts: Vec<Value> = mounts
        .iter()
        .map(|m| json!({"name": m.name, "mountPath": m.mount_path}))
        .collect();
    files(app, &key, &mut volumes, &mut container_mounts, out);
    for token in &app.jwt_tokens {
        let Some(sa) = &token.source.kubernetes_service_account else {
            continue;
        };
        volumes.push(
            json!({"name": token.name, "projected": {"sources": [{"serviceAccountToken": {
            "audience": sa.audience,
            "expirationSeconds": sa.expiration_seconds.unwrap_or(3607),
            "path": "token"}}]}}),
        );
        container_mounts.push(json!({"name": token.name, "mountPath": token.mount_path}));
    }
    let containers: Vec<Container> = if app.containers.is_empty() {
        vec![Container {
            name: app.name.clone(),
            ..Default::default()
        }]
    } else {
        app.containers.clone()
    };
    let container_doc = |c: &Container| -> Value {
        let mut doc = json!({
            "args": if c.args.is_empty() { &app.args } else { &c.args },
            "command": if c.command.is_empty() { &app.command } else { &c.command },
            "ports": c.ports.iter().map(|p| json!({
                "name": p.name, "containerPort": p.container_port,
                "protocol": if p.protocol.is_empty() { "TCP" } else { &p.protocol }})).collect::<Vec<_>>(),
            "volumeMounts": container_mounts,
        });
        if !c.image.repository.is_empty() {
            doc["image"] = image_values(&c.image);
        }
        if let Some(r) = &c.resources {
            doc["resources"] = json!(r);
        }
        let first_port = c.ports.first().map(|p| {
            if p.name.is_empty() {
                json!(p.container_port)
            } else {
                json!(p.name)
            }
        });
        for (field, probe) in [
            ("livenessProbe", &c.liveness_probe),
            ("readinessProbe", &c.readiness_probe),
            ("startupProbe", &c.startup_probe),
        ] {
            if let Some(p) = probe {
                let mut p = json!(p);
                // v2 takes the probe's port to be the container's first.
                if let (Some(get), Some(port)) = (p.get_mut("httpGet"), &first_port)
                    && get.get("port").is_none_or(|v| v == 0)
                {
                    get["port"] = port.clone();
                }
                doc[field] = p;
            }
        }
        drop_empty(&mut doc);
        doc
    };
    let init: serde_json::Map<String, Value> = app
        .init_containers
        .iter()
        .filter(|c| c.name != "migrate")
        .map(|c| (c.name.clone(), container_doc(c)))
        .collect();
    let main: serde_json::Map<String, Value> = containers
        .iter()
        .map(|c| (c.name.clone(), container_doc(c)))
        .collect();
    // Its features, and the chart's switch for it (a user's `install: false`).
    let enabled = json!({"all": [gate(&app.features), format!("{key}.install")]});
    let mut doc = json!({
        "kind": "Deployment",
        "enabled": enabled,
        "initContainers": init,
        "containers": main,
        "volumes": volumes,
    });
    if let Some(s) = app.service.as_ref().filter(|s| !s.ports.is_empty()) {
        doc["service"] = json!({"ports": s.ports});
        if !s.kind.is_empty() {
            doc["service"]["type"] = json!(s.kind);
        }
    }
    if let Some(role) = &base.server_manifest.role {
        doc["role"] = json!({"cluster": role.cluster, "rules": role.rules});
    }
    let mut service: Service = serde_json::from_value(doc).map_err(at)?;
    lay_env(manifest, base, &app.common_envs, &app.env, &mut service)?;
    out.values.insert(
        key.clone(),
        json!({"install": true, "image": image_values(&app.image)}),
    );
    let sizes: BTreeMap<String, Sizing> = app
        .sizing
        .iter()
        .map(|(size, s)| {
            let sizing = Sizing {
                replica_count: s.replicas,
                resources: s.resources.clone(),
                autoscaling: wandb_values::Autoscaling {
                    horizontal: s
                        .autoscaling
                        .as_ref()
                        .and_then(|a| a.horizontal.clone())
                        .unwrap_or_default(),
                    ..Default::default()
                },
                ..Default::default()
            };
            (size.clone(), sizing)
        })
        .collect();
    if !sizes.is_empty() {
        out.sizing.insert(key.clone(), sizes);
    }
    if let Some(ingress) = &app.ingress {
        let port = port_of(app, &ingress.service_port).unwrap_or(80);
        for path in &ingress.paths {
            let route = json!({"group": key, "path": path, "service": service_name(app),
                               "port": port, "when": gate(&app.features)});
            out.routes.push(serde_json::from_value(route).map_err(at)?);
        }
        out.route_order.push(key.clone());
    }
    out.services.push((key, service));
    Ok(())
}

/// A migration: a Job of its own, in the migrations stage.
fn migration(
    manifest: &ServerManifest,
    base: &Catalog,
    name: &str,
    m: &Migration,
    out: &mut Translated,
) -> Result<(), CatalogError> {
    let key = format!("migrate-{name}");
    let mounts = mounts(manifest, &m.common_volume_mounts, &m.volume_mounts);
    let volumes: Vec<Value> = mounts.iter().map(volume).collect();
    let container_mounts: Vec<Value> = mounts
        .iter()
        .map(|v| json!({"name": v.name, "mountPath": v.mount_path}))
        .collect();
    let mut container =
        json!({"args": m.args, "command": m.command, "volumeMounts": container_mounts});
    drop_empty(&mut container);
    let mut doc = json!({
        "kind": "Job",
        "migration": true,
        "podDisruptionBudget": false,
        "jobs": {key.clone(): {
            "backoffLimit": 6,
            "restartPolicy": "Never",
            "containers": {"migrate": container},
            "volumes": volumes,
        }},
    });
    if let Some(role) = &base.server_manifest.role {
        doc["role"] = json!({"cluster": role.cluster, "rules": role.rules});
    }
    let mut service: Service = serde_json::from_value(doc)
        .map_err(|e| CatalogError::new(format!("migrations.{name}"), e.to_string()))?;
    lay_env(manifest, base, &m.common_envs, &m.env, &mut service)?;
    out.values.insert(
        key.clone(),
        json!({"install": true, "image": image_values(&m.image)}),
    );
    out.services.push((key, service));
    Ok(())
}

/// A workload's env: what its sources need first, then its common groups,
/// then its own vars (which beat the groups' of the same name).
fn lay_env(
    manifest: &ServerManifest,
    base: &Catalog,
    common: &[String],
    own: &[EnvVar],
    service: &mut Service,
) -> Result<(), CatalogError> {
    let mut needs = Needs::default();
    for group in common {
        if let Some(vars) = manifest.common_envvars.get(group) {
            needs.add(base, vars);
        }
    }
    needs.add(base, own);
    service.env_from = needs.env_from;
    service.env_groups = needs.env_groups;
    service.env_groups.extend(
        common
            .iter()
            .filter(|g| manifest.common_envvars.contains_key(*g))
            .map(|g| env::group_name(g)),
    );
    for var in own {
        let entry: Entry = env::entry(manifest, base, var)?;
        service.env.insert(var.name.clone(), entry);
    }
    Ok(())
}

/// The mounts of a workload: its common ones, then its own.
fn mounts(manifest: &ServerManifest, common: &[String], own: &[VolumeMount]) -> Vec<VolumeMount> {
    common
        .iter()
        .filter_map(|c| manifest.common_volume_mounts.get(c))
        .flatten()
        .chain(own)
        .cloned()
        .collect()
}

/// The volume of a mount.
fn volume(m: &VolumeMount) -> Value {
    match m.source.kind.as_str() {
        "secret" => json!({"name": m.name, "secret": {"secretName": m.source.name}}),
        "configMap" => json!({"name": m.name, "configMap": {"name": m.source.name}}),
        _ => json!({"name": m.name, "emptyDir": {}}),
    }
}

/// An application's files: inline ones in a ConfigMap of its own, each
/// mounted as one file.
fn files(
    app: &Application,
    key: &str,
    volumes: &mut Vec<Value>,
    mounts: &mut Vec<Value>,
    out: &mut Translated,
) {
    if app.files.is_empty() {
        return;
    }
    let config_map = format!("{{release}}-{}-files", kebab(key));
    let mut data = Vec::new();
    for f in &app.files {
        let file_name = if f.file_name.is_empty() {
            &f.name
        } else {
            &f.file_name
        };
        let (volume, source) = if f.config_map_ref.is_empty() {
            data.push((
                f.name.clone(),
                Entry::plain(crate::catalog::Source::Text(f.inline.clone())),
            ));
            ("files-inline".to_string(), config_map.clone())
        } else {
            (
                format!("files-{}", f.config_map_ref),
                f.config_map_ref.clone(),
            )
        };
        if !volumes.iter().any(|v| v["name"] == volume.as_str()) {
            volumes.push(json!({"name": volume, "configMap": {"name": source}}));
        }
        mounts.push(json!({"name": volume, "mountPath": format!("{}/{file_name}", f.mount_path.trim_end_matches('/')), "subPath": f.name}));
    }
    if !data.is_empty() {
        out.config_maps.push((
            config_map,
            ConfigObject {
                component: key.to_string(),
                when: None,
                phase: Default::default(),
                data: OrderedMap(data),
            },
        ));
    }
}

/// Leaves out the empty lists of a container's document (its defaults).
fn drop_empty(doc: &mut Value) {
    if let Value::Object(map) = doc {
        map.retain(|_, v| !matches!(v, Value::Array(a) if a.is_empty()));
    }
}
