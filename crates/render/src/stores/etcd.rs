//! The etcd that holds bufstream's metadata, as upstream's Bitnami etcd
//! renders it: `{release}-etcd`, its headless Service, ServiceAccount and
//! disruption budget; the data in the claim template `data`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, HTTPGetAction, PodAffinityTerm, PodAntiAffinity, Probe, ServicePort,
    WeightedPodAffinityTerm,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use wandb_values::Store;

use crate::context::Ctx;
use crate::k8s::{empty_dir, mount};
use crate::objects::{Labels, Manifest, Object};

use super::common::{
    StoreSpec, claim_template, manifests, meta, network_policy, pod_security, port, resources,
    selector, service, service_account, service_port, stateful_set, store_container,
};

/// The etcd Service's name and port, which bufstream's config points at.
pub(super) fn client_host(ctx: &Ctx) -> String {
    format!(
        "{}.{}.svc.cluster.local",
        ctx.name("etcd"),
        ctx.release.namespace
    )
}

pub(super) const CLIENT_PORT: i64 = 2379;

fn http_probe(path: &str) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::Int(9090),
            scheme: Some("HTTP".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Bitnami's default: the members on different nodes when there are nodes enough.
fn spread(sel: &Labels) -> Affinity {
    Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    weight: 1,
                    pod_affinity_term: PodAffinityTerm {
                        label_selector: Some(LabelSelector {
                            match_labels: Some(sel.clone()),
                            match_expressions: None,
                        }),
                        topology_key: "kubernetes.io/hostname".into(),
                        ..Default::default()
                    },
                },
            ]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn pods<'a>(ctx: &Ctx, store: &'a Store, sel: &Labels) -> StoreSpec<'a> {
    let v = &ctx.values.etcd;
    let mut spec = StoreSpec {
        component: "etcd",
        name: ctx.name("etcd"),
        selector: sel.clone(),
        values: store,
        default_registry: "docker.io",
        containers: vec![],
        volumes: vec![empty_dir("empty-dir")],
        pod_security: pod_security(1001, 1001),
        service_account: Some(ctx.name("etcd")),
        api_access: false,
    };
    let mut c = store_container(ctx, "etcd", &spec, resources("100m", "256Mi", None, "1Gi"));
    c.env = Some(ctx.store_env("etcd", 0));
    c.ports = Some(vec![
        port("client", 2379),
        port("peer", 2380),
        port("metrics", 9090),
    ]);
    c.liveness_probe = Some(
        v.custom_liveness_probe
            .clone()
            .unwrap_or_else(|| http_probe("/livez")),
    );
    c.readiness_probe = Some(
        v.custom_readiness_probe
            .clone()
            .unwrap_or_else(|| http_probe("/readyz")),
    );
    c.volume_mounts = Some(vec![
        mount("empty-dir", "/opt/bitnami/etcd/conf/", Some("app-conf-dir")),
        mount("empty-dir", "/tmp", Some("tmp-dir")),
        mount("data", "/bitnami/etcd", None),
    ]);
    spec.containers = vec![c];
    spec
}

/// etcd's members: `etcd.replicaCount`, 3 by default.
pub fn replicas(ctx: &Ctx) -> i32 {
    ctx.values.etcd.base.replica_count.unwrap_or(3).max(1)
}

pub(super) fn build(ctx: &Ctx) -> Vec<Manifest> {
    let v = &ctx.values.etcd;
    let name = ctx.name("etcd");
    let headless = ctx.name("etcd-headless");
    let sel = selector(ctx, "etcd", None);
    let replicas = replicas(ctx);
    let store = Store {
        affinity: v.base.affinity.clone().or_else(|| Some(spread(&sel))),
        ..v.base.clone()
    };
    let spec = pods(ctx, &store, &sel);
    let ports = || -> Vec<ServicePort> {
        vec![
            service_port("client", 2379, "client"),
            service_port("peer", 2380, "peer"),
            service_port("metrics", 9090, "metrics"),
        ]
    };
    let mut headless_svc = service(ctx, "etcd", &headless, &sel, ports(), true);
    if let Object::Service(s) = &mut headless_svc {
        // Peers find each other before they are ready.
        s.metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(
                "service.alpha.kubernetes.io/tolerate-unready-endpoints".into(),
                "true".into(),
            );
    }
    // A quorum stays up through voluntary disruptions.
    let pdb = Object::PodDisruptionBudget(PodDisruptionBudget {
        metadata: meta(ctx, &name, "etcd", &BTreeMap::new()),
        spec: Some(PodDisruptionBudgetSpec {
            min_available: Some(IntOrString::String("51%".into())),
            selector: Some(LabelSelector {
                match_labels: Some(sel.clone()),
                match_expressions: None,
            }),
            ..Default::default()
        }),
        status: None,
    });
    let mut out = manifests(
        "etcd",
        vec![
            service_account(ctx, "etcd", &name),
            service(ctx, "etcd", &name, &sel, ports(), false),
            headless_svc,
            pdb,
            stateful_set(
                ctx,
                &spec,
                replicas,
                &headless,
                vec![claim_template(ctx, "data", &v.base, "10Gi", &sel)],
            ),
        ],
    );
    out.extend(network_policy(ctx, "etcd", &name, &sel, &[2379, 2380]));
    out
}
