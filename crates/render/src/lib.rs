//! The render: values and a release in, typed Kubernetes objects out.
//!
//! Pure and deterministic: no I/O, no clock, no randomness. Values that must
//! be random (passwords, session keys) are marked as generated and filled
//! once by whoever applies the objects; the render only names them.

pub mod builtin;
pub mod catalog;
pub mod config;
pub mod context;
pub mod env;
pub mod facts;
pub mod ingress;
pub mod k8s;
pub mod manifest;
pub mod objects;
pub mod resolve;
pub mod stores;
pub mod template;
pub mod tests;
pub mod workload;

pub use catalog::{Catalog, CatalogError};
pub use context::{Ctx, Release, names_a_registry};
pub use objects::{GeneratedKey, Manifest, Object, Phase, Stage};

use wandb_values::Values;

/// `app.kubernetes.io/managed-by` of everything the operator creates.
pub const MANAGED_BY: &str = "wandb-operator";

/// Every object of an install, in `helm template` order, from a release
/// document and the values.
pub fn render(catalog: &Catalog, values: &Values, release: &Release) -> Vec<Manifest> {
    let values = &*template::evaluate(catalog, values, release);
    let ctx = Ctx::new(catalog, values, release);
    let mut out = config::build(&ctx);
    for (key, spec) in &catalog.services {
        if let Some(component) = values.component(key) {
            let objects = workload::build(&ctx, key, spec, component);
            out.extend(objects.into_iter().map(|m| {
                let stage = service_stage(spec, &m);
                m.in_stage(stage).starting_with(spec.starts_with)
            }));
        }
    }
    out.extend(stores::build(&ctx));
    out.extend(ingress::build(&ctx));
    out.extend(tests::build(&ctx));
    for m in &mut out {
        if m.object.is_namespaced() {
            m.object.metadata_mut().namespace = Some(release.namespace.clone());
        } else {
            m.object.metadata_mut().namespace = None;
        }
    }
    objects::sort(&mut out);
    out
}

/// The stage of a W&B service's object that runs pods. A Helm hook's Job
/// runs where Helm runs it (a pre-install hook as a migration, a post-install
/// one after the services), the catalog's migrations before the services;
/// the rest is a service.
fn service_stage(spec: &catalog::Service, m: &Manifest) -> Stage {
    let job = m.object.kind() == "Job";
    match m.phase {
        Phase::PreInstall if job => Stage::Migrations,
        Phase::PostInstall if job => Stage::PostInstall,
        _ if job && spec.migration => Stage::Migrations,
        _ => Stage::Services,
    }
}

/// The render as multi-document YAML.
pub fn render_yaml(catalog: &Catalog, values: &Values, release: &Release) -> String {
    objects::to_yaml(&render(catalog, values, release))
}
