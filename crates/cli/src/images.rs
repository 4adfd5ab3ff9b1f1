//! `wandb-operator images`: every image an install pulls (its W&B services,
//! stores, exporters, jobs, hooks and test pods, and the operator itself),
//! one per line, for mirroring into a private registry. With `--registry`,
//! the names the install pulls once the values point at the mirror
//! (`global.imageRegistry` and `global.repositoryPrefix`).

use std::collections::BTreeSet;
use std::process::ExitCode;

use clap::Args;
use serde_json::Value;
use wandb_render::{Catalog, Release};
use wandb_values::{Disk, SetKind, Source};

use crate::render::ValuesArgs;

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    wandb-operator images -f values.yaml\n  \
    wandb-operator images -f values.yaml --registry registry.example.com --pairs |\n    \
    while read -r from to; do crane copy \"$from\" \"$to\"; done\n\n\
    Then install with the mirror:\n  \
    --set global.imageRegistry=registry.example.com --set global.repositoryPrefix=registry.example.com \\\n  \
    --set operator.image.repository=registry.example.com/wandb-operator/wandb-operator")]
pub struct ImagesArgs {
    #[command(flatten)]
    pub values: ValuesArgs,
    /// The mirror: print the names the install pulls from it.
    #[arg(long, value_name = "HOST[/PATH]")]
    pub registry: Option<String>,
    /// With --registry: `SOURCE MIRRORED` on each line.
    #[arg(long, requires = "registry")]
    pub pairs: bool,
}

const OPERATOR_VALUES: &str = include_str!("chart/operator-values.yaml");

/// The images of the chart's own pods: the operator, its hooks and test.
fn operator_images() -> Vec<String> {
    let values: Value = serde_saphyr::from_str(OPERATOR_VALUES).unwrap_or(Value::Null);
    let repository = values
        .pointer("/operator/image/repository")
        .and_then(Value::as_str)
        .unwrap_or("ghcr.io/wandb-operator/wandb-operator");
    let mut out = vec![format!("{repository}:{}", env!("CARGO_PKG_VERSION"))];
    if let Some(test) = values
        .pointer("/operator/testImage")
        .and_then(Value::as_str)
    {
        out.push(test.to_string());
    }
    out
}

/// Every container image of the objects, in the order they appear.
pub fn images_of(objects: &[Value]) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (key, child) in m {
                    if matches!(key.as_str(), "containers" | "initContainers")
                        && let Value::Array(containers) = child
                    {
                        out.extend(
                            containers
                                .iter()
                                .filter_map(|c| c["image"].as_str().map(str::to_string)),
                        );
                    }
                    walk(child, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    objects.iter().for_each(|o| walk(o, &mut out));
    out
}

/// An image's name in the mirror: its registry host (if it names one)
/// replaced by the mirror, as the render names it with the mirror's values.
pub fn mirrored(image: &str, registry: &str) -> String {
    let registry = registry.trim_end_matches('/');
    let path = match image.split_once('/') {
        Some((host, rest)) if wandb_render::names_a_registry(host) => rest,
        _ => image,
    };
    format!("{registry}/{path}")
}

/// The images that are not under the mirror `registry`.
fn outside_the_mirror(images: &[String], registry: &str) -> Vec<String> {
    let prefix = format!("{}/", registry.trim_end_matches('/'));
    let outside: BTreeSet<&String> = images.iter().filter(|i| !i.starts_with(&prefix)).collect();
    outside.into_iter().cloned().collect()
}

/// The install's images (with the operator's), in order, not deduplicated.
fn install_images(catalog: &Catalog, sources: &[Source]) -> Result<Vec<String>, ExitCode> {
    let loaded = wandb_values::load(sources, &mut Disk, catalog.additions())
        .map_err(crate::render::print_errors)?;
    let manifests =
        wandb_render::render(catalog, &loaded.values, &Release::new("wandb", "default"));
    let objects: Vec<Value> = manifests
        .iter()
        .map(|m| serde_json::to_value(&m.object).unwrap_or(Value::Null))
        .collect();
    let mut images = images_of(&objects);
    images.extend(operator_images());
    Ok(images)
}

pub fn run(args: ImagesArgs) -> ExitCode {
    let sources = args.values.sources();
    let catalog = match args.values.catalog() {
        Ok(catalog) => catalog,
        Err(code) => return code,
    };
    let plain = match install_images(&catalog, &sources) {
        Ok(images) => images,
        Err(code) => return code,
    };
    let lines: Vec<String> = match &args.registry {
        None => plain,
        Some(registry) => {
            // The render with the mirror's values names every image of the
            // install; the operator's chart takes its repository from
            // operator.image.repository.
            let mut with_mirror = sources.clone();
            for key in ["global.imageRegistry", "global.repositoryPrefix"] {
                with_mirror.push(Source::Set(SetKind::String, format!("{key}={registry}")));
            }
            let mut mirror = match install_images(&catalog, &with_mirror) {
                Ok(images) => images,
                Err(code) => return code,
            };
            let operator = operator_images().len();
            let start = mirror.len() - operator;
            for image in &mut mirror[start..] {
                *image = mirrored(image, registry);
            }
            // The proof a mirror needs: nothing is pulled from elsewhere.
            let outside = outside_the_mirror(&mirror, registry);
            if !outside.is_empty() {
                eprintln!(
                    "images: with the mirror's values, the install still pulls from another registry: {}",
                    outside.join(", ")
                );
                return ExitCode::FAILURE;
            }
            if args.pairs {
                plain
                    .iter()
                    .zip(&mirror)
                    .map(|(from, to)| format!("{from} {to}"))
                    .collect()
            } else {
                mirror
            }
        }
    };
    let unique: BTreeSet<String> = lines.into_iter().collect();
    let text: String = unique.into_iter().map(|l| l + "\n").collect();
    crate::out::exit_code(crate::out::print(&text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn images_of_every_container_and_init_container() {
        let objects = [
            json!({"kind": "Deployment", "spec": {"template": {"spec": {
                "initContainers": [{"name": "i", "image": "busybox:1"}],
                "containers": [{"name": "a", "image": "wandb/local:1"}]}}}}),
            json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
                "containers": [{"name": "c", "image": "docker.io/mysql:8.0"}]}}}}}}),
            json!({"kind": "ConfigMap", "data": {"image": "not/an-image"}}),
        ];
        let mut found = images_of(&objects);
        found.sort();
        assert_eq!(found, ["busybox:1", "docker.io/mysql:8.0", "wandb/local:1"]);
    }

    #[test]
    fn a_mirrored_name_replaces_the_registry_host() {
        let m = "registry.example.com/mirror";
        assert_eq!(
            mirrored("ghcr.io/wandb-operator/wandb-operator:0.1.0", m),
            "registry.example.com/mirror/wandb-operator/wandb-operator:0.1.0"
        );
        assert_eq!(
            mirrored("wandb/local:0.76.0", m),
            "registry.example.com/mirror/wandb/local:0.76.0"
        );
        assert_eq!(mirrored("localhost:5000/x:1", "m.io/"), "m.io/x:1");
    }

    #[test]
    fn an_image_outside_the_mirror_is_named() {
        let images = [
            "m.io/wandb/local:1".to_string(),
            "us-docker.pkg.dev/buf-images-1/bufstream:0.3.5".to_string(),
            "m.io.evil/x:1".to_string(),
        ];
        assert_eq!(
            outside_the_mirror(&images, "m.io/"),
            [
                "m.io.evil/x:1",
                "us-docker.pkg.dev/buf-images-1/bufstream:0.3.5"
            ]
        );
    }

    #[test]
    fn the_operators_image_is_the_crate_version() {
        let images = operator_images();
        assert_eq!(
            images[0],
            format!(
                "ghcr.io/wandb-operator/wandb-operator:{}",
                env!("CARGO_PKG_VERSION")
            )
        );
    }
}
