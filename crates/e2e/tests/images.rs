//! `wandb-operator images`: the images of an install are exactly those of
//! its render's pods (and the operator's own), and with a mirror set
//! (`global.imageRegistry` and `global.repositoryPrefix`, as `images
//! --registry` prints) no pod of any case names another registry. The
//! cases are the project's fixtures and, in the peer tier, every upstream
//! reference case. No cluster.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use wandb_e2e::{operator_binary, reference_cases, render, report, run, split_documents};

const MIRROR: &str = "mirror.example.com/wandb";
/// `operator.testImage` of the chart: its helm test and pre-delete hook.
const CHART_TEST_IMAGE: &str = "alpine/k8s:1.31.12";

/// The container images of a render's objects.
fn rendered_images(yaml: &str) -> BTreeSet<String> {
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                for (key, child) in m {
                    if matches!(key.as_str(), "containers" | "initContainers") {
                        for c in child.as_array().into_iter().flatten() {
                            out.extend(c["image"].as_str().map(str::to_string));
                        }
                    }
                    walk(child, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    for doc in split_documents(yaml) {
        let value: Value = serde_saphyr::from_str(&doc.yaml)
            .unwrap_or_else(|e| panic!("{}: not YAML: {e}", doc.id()));
        walk(&value, &mut out);
    }
    out
}

/// The objects (`Kind/name`) with a pod that lacks the pull secret `name`.
fn pods_without_pull_secret(yaml: &str, name: &str) -> Vec<String> {
    fn pods<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
        match v {
            Value::Object(m) => {
                if m.get("containers").is_some_and(Value::is_array) {
                    out.push(v);
                }
                m.values().for_each(|c| pods(c, out));
            }
            Value::Array(items) => items.iter().for_each(|i| pods(i, out)),
            _ => {}
        }
    }
    let mut missing = Vec::new();
    for doc in split_documents(yaml) {
        let value: Value = serde_saphyr::from_str(&doc.yaml).unwrap_or(Value::Null);
        let mut found = Vec::new();
        pods(&value, &mut found);
        let lacking = found.iter().any(|p| {
            !p["imagePullSecrets"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["name"] == name))
        });
        if lacking {
            missing.push(doc.id());
        }
    }
    missing
}

fn images(args: &[&str]) -> BTreeSet<String> {
    let mut cmd = Command::new(operator_binary());
    cmd.arg("images").args(args);
    let out = run(cmd, None, Duration::from_secs(60));
    assert!(
        out.success(),
        "wandb-operator images {args:?}: {}",
        out.stderr
    );
    out.stdout.lines().map(str::to_string).collect()
}

#[test]
fn images_are_those_of_the_render_and_the_operator() {
    let bin = operator_binary();
    for case in reference_cases() {
        let values = case.values.to_string_lossy().into_owned();
        let rendered = rendered_images(&render(&bin, &["-f", &values]).yaml);
        let mut listed = images(&["-f", &values]);
        // The chart's own pods: the operator, and its hooks' testImage.
        let operator = format!(
            "ghcr.io/wandb-operator/wandb-operator:{}",
            env!("CARGO_PKG_VERSION")
        );
        assert!(
            listed.remove(&operator),
            "{}: no {operator}: {listed:?}",
            case.name
        );
        if !rendered.contains(CHART_TEST_IMAGE) {
            assert!(listed.remove(CHART_TEST_IMAGE), "{}: {listed:?}", case.name);
        }
        assert_eq!(
            listed, rendered,
            "{}: images differ from the render's",
            case.name
        );
    }
}

#[test]
fn with_a_mirror_every_image_comes_from_it() {
    let bin = operator_binary();
    let mut cases = 0;
    for case in reference_cases() {
        let values = case.values.to_string_lossy().into_owned();
        let registry = format!("global.imageRegistry={MIRROR}");
        let prefix = format!("global.repositoryPrefix={MIRROR}");
        let yaml = render(
            &bin,
            &[
                "-f",
                &values,
                "--set-string",
                &registry,
                "--set-string",
                &prefix,
                "--set-string",
                "global.imagePullSecrets[0].name=mirror-credentials",
            ],
        )
        .yaml;
        // Every pod pulls with the mirror's credentials; the helm test
        // pods do not, as upstream's do not.
        let without: Vec<String> = pods_without_pull_secret(&yaml, "mirror-credentials")
            .into_iter()
            .filter(|id| !id.starts_with("Pod/wandb-operator-wandb-test-"))
            .collect();
        assert!(
            without.is_empty(),
            "{}: pods without global.imagePullSecrets: {without:?}",
            case.name
        );
        let elsewhere: Vec<String> = rendered_images(&yaml)
            .into_iter()
            .filter(|i| !i.starts_with(&format!("{MIRROR}/")))
            .collect();
        assert!(
            elsewhere.is_empty(),
            "{}: images not from the mirror {MIRROR}: {elsewhere:?}",
            case.name
        );
        let listed = images(&["-f", &values, "--registry", MIRROR]);
        assert!(
            listed.iter().all(|i| i.starts_with(&format!("{MIRROR}/"))),
            "{}: {listed:?}",
            case.name
        );
        cases += 1;
    }
    report(format!(
        "images: {cases} cases, every image from the mirror"
    ));
}
