//! Peer tier: W&B's three server manifests (`../shared/reference/server-manifests/`)
//! rendered by this operator (`render --manifest`), with host, license and
//! OIDC set: every application the manifest runs is there, at the
//! manifest's image, with every env var that W&B's v2 operator gives it for
//! the same settings (the oracle, `wandb_contract::manifest_oracle`).
//! Prints a table per manifest: workload, v2's count, how many of those this
//! render has, and the names it has besides.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use wandb_contract::manifest_oracle::{self, AppEnv, Kind, Settings, Workload};
use wandb_contract::peer::{say, shared_dir, skip};
use wandb_render::{Catalog, Manifest, Release, render};
use wandb_values::{NoFiles, SetKind, Source};

const VERSIONS: &[&str] = &[
    "0.83.0-clickhouse-keeper.1",
    "0.83.0-clickhouse-keeper.2",
    "0.84.0-notifications-security-flags.0",
];

/// The settings of both sides: the chart's keys here, v2's fields there.
const SETS: &[&str] = &[
    "global.host=https://wandb.example.com",
    "global.license=LICENSE-KEY",
    "global.auth.oidc.clientId=client",
    "global.auth.oidc.issuer=https://issuer.example.com",
    "global.auth.oidc.secret=secret",
    "global.auth.oidc.authMethod=pkce",
];

fn manifests_or_skip() -> Option<PathBuf> {
    let dir = shared_dir().join("reference/server-manifests");
    if dir.is_dir() {
        return Some(dir);
    }
    skip(
        "W&B server manifests",
        &dir,
        "their renders not compared with W&B's v2 operator",
    );
    None
}

/// This operator's render of a manifest, with `sets` on top.
fn render_manifest(dir: &Path, sets: &[&str]) -> (Vec<Manifest>, Vec<String>) {
    let manifest = wandb_render::manifest::read(dir).unwrap_or_else(|e| panic!("{e}"));
    let version = wandb_render::manifest::version(&manifest).expect("a version");
    let base = Catalog::builtin().expect("the built-in document");
    let catalog = wandb_render::manifest::catalog(&manifest, &version, base)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let sources: Vec<Source> = sets
        .iter()
        .map(|s| Source::Set(SetKind::Typed, s.to_string()))
        .collect();
    let loaded = wandb_values::load(&sources, &mut NoFiles, catalog.additions())
        .unwrap_or_else(|e| panic!("{}: {e:?}", dir.display()));
    let warnings = loaded.warnings.iter().map(ToString::to_string).collect();
    (
        render(&catalog, &loaded.values, &Release::new("wandb", "default")),
        warnings,
    )
}

/// The pod template of a workload object.
fn pod_spec(object: &Value) -> &Value {
    let spec = &object["spec"];
    if spec["jobTemplate"].is_object() {
        &spec["jobTemplate"]["spec"]["template"]["spec"]
    } else {
        &spec["template"]["spec"]
    }
}

/// Each container's env var names, by container name.
fn container_env(object: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let spec = pod_spec(object);
    let containers = spec["containers"].as_array().into_iter().flatten();
    let init = spec["initContainers"].as_array().into_iter().flatten();
    containers
        .chain(init)
        .map(|c| {
            let names = c["env"].as_array().into_iter().flatten();
            let names = names.filter_map(|e| e["name"].as_str()).map(String::from);
            (
                c["name"].as_str().unwrap_or("").to_string(),
                names.collect(),
            )
        })
        .collect()
}

/// The object of a workload of the oracle's: an application by its values
/// key (its `legacyKey`, else its name), a migration as `migrate-<name>`.
fn workload<'a>(ms: &'a [Manifest], yaml: &Value, key: &str, app: &AppEnv) -> Option<&'a Manifest> {
    let component = match app.workload {
        Workload::Migration => format!("migrate-{}", key.trim_start_matches("migration/")),
        Workload::Application => {
            let legacy = yaml["applications"][key]["legacyKey"].as_str();
            legacy.filter(|l| !l.is_empty()).unwrap_or(key).to_string()
        }
    };
    ms.iter()
        .find(|m| m.component == component && matches!(m.object.kind(), "Deployment" | "Job"))
}

/// One workload compared: what v2 gives that is missing here, per container.
struct Row {
    name: String,
    v2: usize,
    here: usize,
    missing: BTreeSet<String>,
    besides: BTreeSet<String>,
}

fn compare(dir: &Path) -> Vec<Row> {
    let oracle = manifest_oracle::ServerManifest::read_dir(dir).unwrap_or_else(|e| panic!("{e}"));
    let expected = manifest_oracle::expected_env(&oracle, &Settings::example());
    let yaml: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(dir.join("manifest.yaml")).expect("manifest.yaml"),
    )
    .expect("manifest.yaml is YAML");
    let (ms, _) = render_manifest(dir, SETS);
    let mut rows = Vec::new();
    for (key, app) in &expected {
        let object = workload(&ms, &yaml, key, app)
            .unwrap_or_else(|| panic!("{}: {key} is not rendered", dir.display()));
        let object = serde_json::to_value(&object.object).expect("JSON");
        let env = container_env(&object);
        let wanted = app.names();
        let mut missing = BTreeSet::new();
        let mut besides = BTreeSet::new();
        let names = app.containers.iter().chain(app.init_containers.iter());
        for container in names {
            let have = env
                .get(container)
                .unwrap_or_else(|| panic!("{}: {key} has no container {container}", dir.display()));
            for name in &wanted {
                if !have.contains(*name) {
                    missing.insert(format!("{container}:{name}"));
                }
            }
            let parts = app.parts();
            besides.extend(
                have.iter()
                    .filter(|n| !wanted.contains(n.as_str()) && !parts.contains(n.as_str()))
                    .cloned(),
            );
        }
        rows.push(Row {
            name: key.clone(),
            v2: wanted.len(),
            here: wanted.len() - missing.len().min(wanted.len()),
            missing,
            besides,
        });
    }
    rows
}

fn table(version: &str, rows: &[Row]) -> String {
    let mut text = format!("{version}: workload, v2's env vars, of those here, besides\n");
    for r in rows {
        let besides: Vec<&str> = r.besides.iter().map(String::as_str).collect();
        text += &format!(
            "  {:<36} {:>3} {:>3}  {}\n",
            r.name,
            r.v2,
            r.here,
            besides.join(" ")
        );
    }
    text
}

/// Each file of W&B's manifests types straight from its YAML, and the same
/// as through a tree (the slower reading `parse` falls back to).
#[test]
fn w_and_b_s_manifests_type_straight_from_yaml_as_through_a_tree() {
    let Some(dir) = manifests_or_skip() else {
        return;
    };
    for version in VERSIONS {
        for name in ["manifest.yaml", "sizing.yaml"] {
            let file = dir.join(version).join(name);
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let direct = wandb_render::manifest::parse_straight(&text)
                .unwrap_or_else(|| panic!("{} does not type straight", file.display()));
            let through_tree = wandb_render::manifest::parse_through_tree(&file, &text)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                format!("{direct:?}"),
                format!("{through_tree:?}"),
                "{}",
                file.display()
            );
        }
    }
}

#[test]
fn every_application_has_every_env_var_that_w_and_b_s_v2_operator_gives_it() {
    let Some(dir) = manifests_or_skip() else {
        return;
    };
    for version in VERSIONS {
        let rows = compare(&dir.join(version));
        say(&table(version, &rows));
        let missing: Vec<String> = rows
            .iter()
            .flat_map(|r| r.missing.iter().map(move |m| format!("{}/{m}", r.name)))
            .collect();
        assert!(missing.is_empty(), "{version}: missing {missing:?}");
    }
}

/// A var v2 sets to the manifest's literal `value` has that value here too.
#[test]
fn the_manifests_literal_values_are_written_as_they_are() {
    let Some(dir) = manifests_or_skip() else {
        return;
    };
    for version in VERSIONS {
        let dir = dir.join(version);
        let oracle = manifest_oracle::ServerManifest::read_dir(&dir).expect("manifest");
        let expected = manifest_oracle::expected_env(&oracle, &Settings::example());
        let yaml: Value =
            serde_saphyr::from_str(&std::fs::read_to_string(dir.join("manifest.yaml")).unwrap())
                .unwrap();
        let (ms, _) = render_manifest(&dir, SETS);
        let mut checked = 0;
        for (key, app) in &expected {
            let object =
                serde_json::to_value(&workload(&ms, &yaml, key, app).unwrap().object).unwrap();
            let spec = pod_spec(&object);
            for entry in &app.env {
                let Kind::Value(text) = &entry.kind else {
                    continue;
                };
                for c in spec["containers"].as_array().unwrap() {
                    let var = c["env"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|e| e["name"] == entry.name.as_str());
                    let var = var.unwrap_or_else(|| panic!("{key}: no {}", entry.name));
                    let text = text.replace("{{ .Release.Namespace }}", "default");
                    assert_eq!(
                        var["value"],
                        text.as_str(),
                        "{version} {key} {}",
                        entry.name
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 20, "{version}: only {checked} literal values");
    }
}

/// Every application the manifest runs is rendered at the manifest's image.
#[test]
fn every_application_runs_at_the_manifests_image() {
    let Some(dir) = manifests_or_skip() else {
        return;
    };
    for version in VERSIONS {
        let dir = dir.join(version);
        let yaml: Value =
            serde_saphyr::from_str(&std::fs::read_to_string(dir.join("manifest.yaml")).unwrap())
                .unwrap();
        let (ms, _) = render_manifest(&dir, SETS);
        let apps = yaml["applications"].as_object().expect("applications");
        for (name, app) in apps {
            let gated = app["features"].as_array().is_some_and(|f| !f.is_empty());
            let key = app["legacyKey"].as_str().unwrap_or(name);
            let object = ms
                .iter()
                .find(|m| m.component == key && m.object.kind() == "Deployment");
            if gated {
                // filestream, behind filestreamQueue, which these manifests leave off.
                assert!(
                    object.is_none(),
                    "{version}: {name} runs with its feature off"
                );
                continue;
            }
            let object = serde_json::to_value(
                &object
                    .unwrap_or_else(|| panic!("{version}: {name} is not rendered"))
                    .object,
            )
            .unwrap();
            let image = &app["image"];
            let repository = match image["registry"].as_str() {
                Some(r) => format!("{r}/{}", image["repository"].as_str().unwrap()),
                None => image["repository"].as_str().unwrap().to_string(),
            };
            let want = format!("{repository}:{}", image["tag"].as_str().unwrap());
            let first = &pod_spec(&object)["containers"][0]["image"];
            assert_eq!(first, want.as_str(), "{version}: {name}");
        }
    }
}

/// The keys under `block` with a value (not a map), as dotted paths.
fn leaves(block: &Value, path: &str, out: &mut Vec<String>) {
    match block {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                leaves(v, &format!("{path}.{k}"), out);
            }
        }
        _ => out.push(path.to_string()),
    }
}

/// Removes the key at a dotted path (keys may hold dashes, not dots).
fn remove(tree: &mut Value, path: &str) {
    let keys: Vec<&str> = path.split('.').collect();
    let (last, parents) = keys.split_last().expect("a path");
    let mut node = tree;
    for k in parents {
        node = &mut node[*k];
    }
    if let Some(map) = node.as_object_mut() {
        map.remove(*last);
    }
}

/// The objects of one component, as JSON, for comparing two renders.
fn component_objects(ms: &[Manifest], component: &str) -> Vec<Value> {
    ms.iter()
        .filter(|m| m.component == component)
        .map(|m| serde_json::to_value(&m.object).expect("JSON"))
        .collect()
}

fn render_tree(dir: &Path, user: &Value) -> Result<(Vec<Manifest>, Vec<String>), String> {
    let manifest = wandb_render::manifest::read(dir).map_err(|e| e.to_string())?;
    let version = wandb_render::manifest::version(&manifest).expect("a version");
    let catalog = wandb_render::manifest::catalog(&manifest, &version, Catalog::builtin().unwrap())
        .map_err(|e| e.to_string())?;
    let loaded = wandb_values::load::from_user_tree(user.clone(), catalog.additions())
        .map_err(|e| format!("{e:?}"))?;
    let warnings = loaded.warnings.iter().map(ToString::to_string).collect();
    let ms = render(&catalog, &loaded.values, &Release::new("wandb", "default"));
    Ok((ms, warnings))
}

/// The upstream cases' values on 0.84.0's manifest: each renders; each key
/// a case sets in an application's block either changes that application's
/// objects (removing it changes them back) or is named in a warning that
/// says why it does nothing.
#[test]
fn the_upstream_cases_render_on_0_84_0_and_their_application_keys_take_effect() {
    let Some(dir) = manifests_or_skip() else {
        return;
    };
    let Some(shared) = wandb_contract::peer::Shared::or_skip("cases not rendered on 0.84.0") else {
        return;
    };
    let dir = dir.join(VERSIONS[2]);
    let yaml: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(dir.join("manifest.yaml")).unwrap())
            .unwrap();
    let keys: BTreeSet<String> = yaml["applications"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, app)| app["legacyKey"].as_str().unwrap_or(name).to_string())
        .collect();
    let cases = shared.cases();
    assert!(cases.len() >= 39, "{} cases", cases.len());
    let base = Catalog::builtin().unwrap();
    let (mut effective, mut warned, mut inert) = (0, 0, 0);
    for case in &cases {
        let text = std::fs::read_to_string(&case.values).unwrap();
        let user: Value = wandb_values::load::parse_yaml(&case.name, &text).unwrap();
        let (ms, warnings) =
            render_tree(&dir, &user).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        for key in user
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| keys.contains(*k))
        {
            let mut set = Vec::new();
            leaves(&user[key], key, &mut set);
            for leaf in set {
                // `install: true` asks for what runs anyway.
                if leaf.ends_with(".install")
                    && user.pointer(&format!("/{}", leaf.replace('.', "/")))
                        == Some(&Value::Bool(true))
                {
                    continue;
                }
                // A warning on the key or on a map above it.
                let said = warnings.iter().any(|w| {
                    let path = w.split(':').next().unwrap_or_default();
                    leaf == path || leaf.starts_with(&format!("{path}."))
                });
                if said {
                    warned += 1;
                    continue;
                }
                let mut without = user.clone();
                remove(&mut without, &leaf);
                let (other, _) = render_tree(&dir, &without).unwrap();
                if component_objects(&ms, key) != component_objects(&other, key) {
                    effective += 1;
                    continue;
                }
                // No effect here: then it sets what its absence means (a 0,
                // a false, as KEDA's minReplicaCount 0), or it has no effect
                // in chart mode either.
                let value = user.pointer(&format!("/{}", leaf.replace('.', "/")));
                let zero = matches!(value, Some(Value::Bool(false)) | Some(Value::Null))
                    || value.and_then(Value::as_i64) == Some(0)
                    || value.and_then(Value::as_str) == Some("");
                if zero {
                    inert += 1;
                    continue;
                }
                let chart = |tree: &Value| {
                    let loaded = wandb_values::load::from_user_tree(tree.clone(), base.additions())
                        .unwrap_or_else(|e| panic!("{}: {e:?}", case.name));
                    let ms = render(base, &loaded.values, &Release::new("wandb", "default"));
                    component_objects(&ms, key)
                };
                assert!(
                    chart(&user) == chart(&without),
                    "{}: {leaf} has no effect on {key}'s objects and no warning says so",
                    case.name
                );
                inert += 1;
            }
        }
    }
    say(&format!(
        "{} upstream cases on {}: {effective} application keys take effect, {warned} named in a warning, {inert} setting what their absence means or inert in chart mode too",
        cases.len(),
        VERSIONS[2]
    ));
}

/// What W&B's manifests read that no chart key gives (v2 resource fields,
/// source types) is named in docs/server-manifests.md, which says what
/// becomes of it.
#[test]
fn every_unbridged_field_of_w_and_b_s_manifests_is_named_in_the_docs() {
    let Some(dir) = manifests_or_skip() else {
        return;
    };
    let doc = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/server-manifests.md"
    );
    let doc = std::fs::read_to_string(doc).expect("docs/server-manifests.md");
    let base = Catalog::builtin().expect("the built-in document");
    let mut missing = BTreeSet::new();
    for version in VERSIONS {
        let manifest = wandb_render::manifest::read(&dir.join(version))
            .unwrap_or_else(|e| panic!("{version}: {e}"));
        let fields = wandb_render::manifest::unbridged(&manifest, base);
        say(&format!("{version}: {} unbridged", fields.len()));
        missing.extend(
            fields
                .into_iter()
                .filter(|f| !doc.contains(&format!("`{f}`"))),
        );
    }
    assert!(missing.is_empty(), "the docs do not name {missing:?}");
}
