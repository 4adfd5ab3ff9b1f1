//! Peer tier: the upstream chart's own values.yaml, what `helm get values
//! --all` gives for an upstream release, loads and renders here. Its
//! templates (`{{ .Release.Name }}`, `{{ include "wandb.bucketEnvs" . }}`,
//! ...) are evaluated, no key of it is unknown, and the templates give what
//! our render gives without them.

use serde_json::{Map, Value};
use wandb_contract::peer::{chart_or_skip, say};
use wandb_contract::upstream::{Upstream, find_helm};
use wandb_render::Release;
use wandb_render::builtin::load;
use wandb_render::builtin::render_yaml;
use wandb_values::{NoFiles, Source};

/// An upstream release has a MySQL of its own: the chart installs none.
const RELEASE: &str = "global:\n  mysql:\n    host: mysql.example.com\n";

fn upstream() -> Option<Upstream> {
    let chart = chart_or_skip("upstream's values.yaml not loaded")?;
    let Some(helm) = find_helm() else {
        say(
            "skipped: no helm (hack/cluster install puts one in the cache); upstream's values.yaml not loaded",
        );
        return None;
    };
    Some(Upstream { helm, chart })
}

/// Upstream's values (or some of them), then the release's own, then `more`.
fn sources(tree: Value, more: &str) -> Vec<Source> {
    vec![
        Source::Tree {
            name: "upstream values.yaml".into(),
            tree,
        },
        Source::Inline {
            name: "release.yaml".into(),
            yaml: RELEASE.into(),
        },
        Source::Inline {
            name: "more.yaml".into(),
            yaml: more.into(),
        },
    ]
}

#[test]
fn upstreams_values_file_loads_with_no_unknown_key() {
    let Some(upstream) = upstream() else { return };
    let tree = upstream.values().unwrap_or_else(|e| panic!("{e}"));
    let loaded = load(&sources(tree, ""), &mut NoFiles).unwrap_or_else(|problems| {
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        panic!(
            "upstream's values.yaml does not load:\n{}",
            lines.join("\n")
        )
    });
    let unknown: Vec<_> = loaded
        .warnings
        .iter()
        .filter(|w| w.message.starts_with("unknown key"))
        .collect();
    say(&format!(
        "upstream values: {} warnings, {} unknown keys",
        loaded.warnings.len(),
        unknown.len()
    ));
    let unknown: Vec<String> = unknown.iter().map(ToString::to_string).collect();
    assert!(unknown.is_empty(), "unknown keys:\n{}", unknown.join("\n"));
    for release in [Release::new("wandb", "default"), Release::new("prod", "w")] {
        let yaml = render_yaml(&loaded.values, &release);
        let left: Vec<&str> = yaml.lines().filter(|l| l.contains("{{")).collect();
        assert!(left.is_empty(), "templates left in the render: {left:#?}");
    }
}

/// The keys of `tree` that hold a template (or have one as a key), with
/// the rest taken out.
fn templates_only(tree: &Value) -> Option<Value> {
    let has = |v: &Value| v.as_str().is_some_and(|s| s.contains("{{"));
    match tree {
        Value::Object(map) => {
            let kept: Map<String, Value> = map
                .iter()
                .filter_map(|(k, v)| {
                    if k.contains("{{") {
                        return Some((k.clone(), v.clone()));
                    }
                    templates_only(v).map(|v| (k.clone(), v))
                })
                .collect();
            (!kept.is_empty()).then_some(Value::Object(kept))
        }
        Value::Array(items) => items
            .iter()
            .any(|i| has(i) || templates_only(i).is_some())
            .then(|| tree.clone()),
        v if has(v) => Some(v.clone()),
        _ => None,
    }
}

#[test]
fn upstreams_templates_give_what_our_render_gives_without_them() {
    let Some(upstream) = upstream() else { return };
    let tree = upstream.values().unwrap_or_else(|e| panic!("{e}"));
    let mut templates = templates_only(&tree).unwrap_or_default();
    // 0.43.8's executor.envTpls lack the history env the executor takes
    // since upstream's #705 (docs/compatibility.md): spelled out, they keep
    // 0.43.8's executor, as they would upstream.
    if let Some(executor) = templates.get_mut("executor").and_then(Value::as_object_mut) {
        executor.remove("envTpls");
    }
    let base = wandb_contract::peer::repo_root().join("fixtures/values/every-service.yaml");
    let base = std::fs::read_to_string(&base).unwrap_or_else(|e| panic!("{e}"));
    let plain = load(&sources(Value::Object(Map::new()), &base), &mut NoFiles)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let spelled_out =
        load(&sources(templates, &base), &mut NoFiles).unwrap_or_else(|e| panic!("{e:?}"));
    for release in [Release::new("wandb", "default"), Release::new("prod", "w")] {
        let (a, b) = (
            render_yaml(&plain.values, &release),
            render_yaml(&spelled_out.values, &release),
        );
        if a != b {
            let first = a
                .lines()
                .zip(b.lines())
                .position(|(x, y)| x != y)
                .unwrap_or(0);
            let show = |t: &str| {
                t.lines()
                    .skip(first.saturating_sub(5))
                    .take(12)
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            panic!(
                "upstream's templates change our render ({release:?}) at line {first}:\n--- without\n{}\n--- with\n{}",
                show(&a),
                show(&b)
            );
        }
    }
}
