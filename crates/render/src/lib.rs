//! The render: values and a release in, typed Kubernetes objects out.
//!
//! Pure and deterministic: no I/O, no clock, no randomness. Values that must
//! be random (passwords, session keys) are marked as generated and filled
//! once by whoever applies the objects; the render only names them.

pub mod catalog;
pub mod config;
pub mod context;
pub mod env;
pub mod ingress;
pub mod k8s;
pub mod objects;
pub mod stores;
pub mod template;
pub mod tests;
pub mod workload;

pub use context::{Ctx, Release};
pub use objects::{GeneratedKey, Manifest, Object, Phase};

use wandb_values::Values;

/// `app.kubernetes.io/managed-by` of everything the operator creates.
pub const MANAGED_BY: &str = "wandb-operator";

/// Every object of an install, in `helm template` order.
pub fn render(values: &Values, release: &Release) -> Vec<Manifest> {
    let values = &*template::evaluate(values, release);
    let ctx = Ctx::new(values, release);
    let mut out = config::build(&ctx);
    for (key, spec) in &catalog::CATALOG.services {
        if let Some(component) = values.component(key) {
            out.extend(workload::build(&ctx, key, spec, component));
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

/// The render as multi-document YAML.
pub fn render_yaml(values: &Values, release: &Release) -> String {
    objects::to_yaml(&render(values, release))
}
