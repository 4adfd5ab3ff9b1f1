//! W&B Server versions from W&B's server manifests, pulled as OCI
//! artifacts from a registry on loopback (hack/registry): an install, an
//! upgrade whose migrations run before the applications roll, and a
//! reference that cannot be pulled, which changes nothing that runs.
//!
//! The manifests are W&B's 0.83.0 and 0.84.0 from the peer tier's material
//! (`../shared/reference/server-manifests/`); without it, the repository's
//! synthetic manifest stands in for both (the second with its image tags
//! bumped), and one `skipped:` line says so.

use std::path::Path;
use std::process::Command;

use super::*;
use wandb_e2e::{
    Lines, Registry, WorkDir, build_go_tools, crane, operator_binary_quiet, repo_root, run,
};

const REPOSITORY_PATH: &str = "wandb/server-manifest";

/// A manifest pushed as `<registry>/wandb/server-manifest:<tag>`.
struct Pushed {
    /// The tag it is pushed under (`serverManifest.version`).
    tag: &'static str,
    /// The image tag of its applications (what `status.version` shows).
    app_tag: String,
    /// Its folder (`manifest.yaml`, `sizing.yaml`).
    dir: PathBuf,
    /// The digest of its OCI manifest in the registry.
    digest: String,
}

/// The folders of the two versions: W&B's, or the synthetic one twice.
fn manifest_dirs(work: &Path) -> [(&'static str, PathBuf); 2] {
    let shared = wandb_contract::peer::shared_dir().join("reference/server-manifests");
    let old = shared.join("0.83.0-clickhouse-keeper.2");
    let new = shared.join("0.84.0-notifications-security-flags.0");
    if old.is_dir() && new.is_dir() {
        return [("0.83.0", old), ("0.84.0", new)];
    }
    wandb_contract::peer::skip(
        "W&B server manifests",
        &shared,
        "the synthetic manifest (crates/render/tests/manifests/synthetic) stands in for 0.83.0 and 0.84.0",
    );
    let synthetic = repo_root().join("crates/render/tests/manifests/synthetic");
    let bumped = work.join("synthetic-bumped");
    std::fs::create_dir_all(&bumped).expect("a folder");
    let text = std::fs::read_to_string(synthetic.join("manifest.yaml")).expect("manifest.yaml");
    assert!(text.contains("tag: 9.9.0"), "the synthetic tag changed");
    std::fs::write(
        bumped.join("manifest.yaml"),
        text.replace("tag: 9.9.0", "tag: 9.9.1"),
    )
    .expect("manifest.yaml written");
    std::fs::copy(synthetic.join("sizing.yaml"), bumped.join("sizing.yaml"))
        .expect("sizing.yaml copied");
    [("0.83.0", synthetic), ("0.84.0", bumped)]
}

/// The image tag most of a manifest's applications carry.
fn app_tag(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("manifest.yaml")).expect("manifest.yaml");
    let manifest: Value = serde_saphyr::from_str(&text).expect("manifest.yaml is YAML");
    let tags = manifest["applications"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, app)| app.pointer("/image/tag").and_then(Value::as_str));
    wandb_e2e::tally(tags)
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(tag, _)| tag.to_string())
        .expect("an application with an image tag")
}

/// Pushes a manifest's folder as a one-layer OCI artifact: a tar holding
/// manifest.yaml and sizing.yaml (crane gzips it).
fn push(
    crane_bin: &Path,
    work: &Path,
    repository: &str,
    tag: &'static str,
    dir: PathBuf,
) -> Pushed {
    let layer = work.join(format!("{tag}.tar"));
    let mut tar = Command::new("tar");
    tar.arg("-cf")
        .arg(&layer)
        .arg("-C")
        .arg(&dir)
        .args(["manifest.yaml", "sizing.yaml"]);
    let out = run(tar, None, Duration::from_secs(60));
    assert!(out.success(), "tar: {}", out.stderr);
    let reference = format!("{repository}:{tag}");
    crane(
        crane_bin,
        &[
            "append",
            "--oci-empty-base",
            "-f",
            &layer.to_string_lossy(),
            "-t",
            &reference,
        ],
    );
    let digest = crane(crane_bin, &["digest", &reference]).trim().to_string();
    Pushed {
        tag,
        app_tag: app_tag(&dir),
        dir,
        digest,
    }
}

/// The values that run `version` from `repository`.
fn manifest_values(repository: &str, version: &str) -> Value {
    let mut values = base_values();
    values["serverManifest"] = json!({"version": version, "repository": repository});
    values
}

/// The Deployments (of `deployment_images`) with an image tagged `tag`.
fn deployments_at_tag<'a>(
    images: &'a BTreeMap<String, Vec<String>>,
    tag: &str,
) -> BTreeSet<&'a String> {
    let suffix = format!(":{tag}");
    images
        .iter()
        .filter(|(_, images)| images.iter().any(|i| i.ends_with(&suffix)))
        .map(|(name, _)| name)
        .collect()
}

/// The install's Deployments: name -> the images of their pod templates.
fn deployment_images(cluster: &Tenant) -> BTreeMap<String, Vec<String>> {
    let list = cluster.get_json(&["-n", cluster.ns(), "deployments", "-l", INSTANCE_LABEL]);
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let images = d["spec"]["template"]["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| text(c, "/image").to_string())
                .collect();
            (text(d, "/metadata/name").to_string(), images)
        })
        .collect()
}

/// What `render --manifest` makes of the folder with the test's values:
/// Deployment name -> images.
fn rendered_deployment_images(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let host = format!("global.host={HOST}");
    let license = format!("global.license={LICENSE}");
    let rendered = render(
        &operator_binary_quiet(),
        &[
            "--manifest",
            &dir.to_string_lossy(),
            "--set",
            &host,
            "--set",
            &license,
        ],
    );
    rendered
        .documents()
        .into_iter()
        .filter(|d| d.kind == "Deployment")
        .map(|d| {
            let doc: Value = serde_saphyr::from_str(&d.yaml).expect("a rendered Deployment");
            let images = doc["spec"]["template"]["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| text(c, "/image").to_string())
                .collect();
            (d.name, images)
        })
        .collect()
}

/// Deployment name -> (generation, pod template), to tell them untouched.
fn deployment_specs(cluster: &Tenant) -> BTreeMap<String, (i64, Value)> {
    let list = cluster.get_json(&["-n", cluster.ns(), "deployments", "-l", INSTANCE_LABEL]);
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            (
                text(d, "/metadata/name").to_string(),
                (
                    int(d, "/metadata/generation"),
                    d["spec"]["template"].clone(),
                ),
            )
        })
        .collect()
}

fn replica_sets(cluster: &Tenant) -> Vec<Value> {
    let sets = cluster.get_json(&["-n", cluster.ns(), "replicasets"]);
    sets["items"].as_array().cloned().unwrap_or_default()
}

/// Seconds since the epoch of an RFC 3339 UTC time as the API writes
/// them (`2025-01-02T03:04:05Z`).
fn epoch_secs(time: &str) -> i64 {
    let field = |range: std::ops::Range<usize>| -> i64 {
        time.get(range)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an API time: {time:?}"))
    };
    let (y, m, d) = (field(0..4), field(5..7), field(8..10));
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + field(11..13) * 3600 + field(14..16) * 60 + field(17..19)
}

/// A watch of `plural` in the test's namespace, from now on.
fn watch_from_now(cluster: &Tenant, api: &str, plural: &str) -> Lines {
    let path = format!("{api}/namespaces/{}/{plural}", cluster.ns());
    let list: Value = serde_json::from_str(&cluster.kubectl_ok(&["get", "--raw", &path], None))
        .expect("a list in JSON");
    let from = text(&list, "/metadata/resourceVersion");
    cluster.watch_raw(
        &format!("{path}?watch=1&resourceVersion={from}"),
        READY_TIMEOUT + Duration::from_secs(120),
    )
}

/// A watch's events so far: (type, object).
fn watch_events(watch: &Lines) -> Vec<(String, Value)> {
    watch
        .lines()
        .into_iter()
        .filter_map(|(_, line)| serde_json::from_str::<Value>(&line).ok())
        .map(|e| (text(&e, "/type").to_string(), e["object"].clone()))
        .collect()
}

/// An object's resourceVersion as a number: the etcd revision of the
/// write, in the order the cluster made them (opaque to clients in
/// general; this cluster's API server stores in etcd).
fn revision(object: &Value) -> u64 {
    let rv = text(object, "/metadata/resourceVersion");
    rv.parse()
        .unwrap_or_else(|_| panic!("resourceVersion {rv:?} is not a number"))
}

/// Waits until the status describes the current spec and Ready is False
/// with `reason`; returns its message.
fn wait_not_ready(cluster: &Tenant, reason: &str, timeout: Duration) -> (String, Duration) {
    wait_for(
        &format!("Ready=False with reason {reason}"),
        timeout,
        Duration::from_millis(250),
        || {
            let res = resource(cluster);
            match condition(&res, "Ready") {
                Some(c) if observed(&res) && c["status"] == "False" && c["reason"] == reason => {
                    Ok(text(&c, "/message").to_string())
                }
                _ => Err(summary(&res)),
            }
        },
    )
}

/// 1. An install from a manifest pulled from the registry reaches Ready,
///    runs the manifest's applications at its images and keeps what it
///    pulled in a ConfigMap.
/// 2. Upgraded to the next version, every migration Job of the new version
///    completes before any Deployment's new ReplicaSet is created.
/// 3. A version the registry does not have: Ready=False (InvalidCatalog)
///    naming the reference, no Deployment changed; set back, Ready again.
/// 4. A restarted operator reads the version it kept and changes nothing.
///
/// Each version is pulled once, however often the install is reconciled.
#[test]
fn a_server_manifest_from_a_registry_installs_and_upgrades() {
    let _serial = serial();
    let work = WorkDir::new("server-manifest");
    let tools = build_go_tools(
        &PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("oci-tools"),
        &[".", "github.com/google/go-containerregistry/cmd/crane"],
    );
    let crane_bin = tools.join("crane");
    let registry = Registry::start(&tools.join("registry"), Some(&work.0.join("registry.log")));
    let repository = format!("{}/{REPOSITORY_PATH}", registry.address);
    let [(old_tag, old_dir), (new_tag, new_dir)] = manifest_dirs(&work.0);
    let old = push(&crane_bin, &work.0, &repository, old_tag, old_dir);
    let new = push(&crane_bin, &work.0, &repository, new_tag, new_dir);
    assert_ne!(
        old.app_tag, new.app_tag,
        "the two versions run the same images"
    );

    let cluster = cluster("server-manifest");
    let op = operator(&cluster, "server-manifest", "e2e-operator");

    // 1. The install.
    let start = Instant::now();
    apply(&cluster, &manifest_values(&repository, old.tag));
    wait_reconciled_ready(&cluster, "Ready from the 0.83.0 manifest", READY_TIMEOUT);
    let install_took = start.elapsed();
    let res = resource(&cluster);
    assert_eq!(
        text(&res, "/status/version"),
        old.app_tag,
        "{}",
        summary(&res)
    );
    let live = deployment_images(&cluster);
    assert_eq!(
        live,
        rendered_deployment_images(&old.dir),
        "the Deployments are not the manifest's as `render --manifest` makes them"
    );
    let at_tag = deployments_at_tag(&live, &old.app_tag);
    assert!(
        !at_tag.is_empty(),
        "no Deployment runs an image tagged {}: {live:?}",
        old.app_tag
    );
    let kept = cluster.get_json(&[
        "-n",
        cluster.ns(),
        "configmap",
        &format!("{NAME}-server-manifest-{}", old.tag),
    ]);
    assert_eq!(
        text(
            &kept,
            "/metadata/annotations/apps.wandb.com~1server-manifest-reference"
        ),
        format!("{repository}:{}", old.tag)
    );
    assert_eq!(
        text(
            &kept,
            "/metadata/annotations/apps.wandb.com~1server-manifest-digest"
        ),
        old.digest
    );
    let manifest_text = std::fs::read_to_string(old.dir.join("manifest.yaml")).expect("read");
    assert_eq!(text(&kept, "/data/manifest.yaml"), manifest_text);

    // 2. The upgrade.
    let before_sets: BTreeSet<String> = replica_sets(&cluster)
        .iter()
        .map(|rs| text(rs, "/metadata/name").to_string())
        .collect();
    // What happens in which order: the cluster's own (etcd's revisions),
    // finer than the API's timestamps, which have seconds.
    let job_watch = watch_from_now(&cluster, "/apis/batch/v1", "jobs");
    let set_watch = watch_from_now(&cluster, "/apis/apps/v1", "replicasets");
    let start = Instant::now();
    patch_spec(
        &cluster,
        json!({"values": {"serverManifest": {"version": new.tag}}}),
    );
    wait_for(
        "Ready at the new version",
        READY_TIMEOUT,
        Duration::from_millis(250),
        || {
            let res = resource(&cluster);
            if observed(&res)
                && condition_status(&res, "Ready") == "True"
                && text(&res, "/status/version") == new.app_tag
            {
                Ok(())
            } else {
                Err(format!(
                    "version {:?}; {}",
                    text(&res, "/status/version"),
                    summary(&res)
                ))
            }
        },
    );
    let upgrade_took = start.elapsed();
    let res = resource(&cluster);
    assert_eq!(text(&res, "/status/migratedVersion"), new.app_tag);
    let upgraded = deployment_images(&cluster);
    assert_eq!(
        upgraded,
        rendered_deployment_images(&new.dir),
        "the Deployments are not the new manifest's"
    );

    // The new version's migration Jobs, each with its completion.
    let jobs = cluster.get_json(&["-n", cluster.ns(), "jobs", "-l", INSTANCE_LABEL]);
    let migrations: Vec<(String, String)> = jobs["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|j| {
            j["spec"]["template"]["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| text(c, "/image").ends_with(&format!(":{}", new.app_tag)))
        })
        .map(|j| {
            (
                text(j, "/metadata/name").to_string(),
                text(j, "/status/completionTime").to_string(),
            )
        })
        .collect();
    assert!(
        !migrations.is_empty(),
        "no migration Job at {}",
        new.app_tag
    );
    let unfinished: Vec<&String> = migrations
        .iter()
        .filter(|(_, done)| done.is_empty())
        .map(|(name, _)| name)
        .collect();
    assert!(
        unfinished.is_empty(),
        "migration Jobs not complete: {unfinished:?}"
    );
    let (last_job, last_done) = migrations
        .iter()
        .max_by_key(|(_, done)| done.clone())
        .cloned()
        .expect("a migration Job");
    // The applications: the Deployments at the new version's tag.
    let deployments = deployments_at_tag(&upgraded, &new.app_tag);
    assert!(
        !deployments.is_empty(),
        "no application at {}: {upgraded:?}",
        new.app_tag
    );
    let new_sets: Vec<(String, String)> = replica_sets(&cluster)
        .iter()
        .filter(|rs| {
            let owner = text(rs, "/metadata/ownerReferences/0/name").to_string();
            deployments.contains(&owner) && !before_sets.contains(text(rs, "/metadata/name"))
        })
        .map(|rs| {
            (
                text(rs, "/metadata/name").to_string(),
                text(rs, "/metadata/creationTimestamp").to_string(),
            )
        })
        .collect();
    let (first_set, first_created) = new_sets
        .iter()
        .min_by_key(|(_, created)| created.clone())
        .cloned()
        .expect("a new ReplicaSet of an application");
    // Every new migration Job completed before the first new ReplicaSet
    // of an application was made.
    let tagged = |o: &Value| {
        o["spec"]["template"]["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| text(c, "/image").ends_with(&format!(":{}", new.app_tag)))
    };
    let job_names: BTreeSet<&String> = migrations.iter().map(|(name, _)| name).collect();
    let set_names: BTreeSet<&String> = new_sets.iter().map(|(name, _)| name).collect();
    // The watches have seen it all once the last of it shows in them.
    let (completed, created) = wait_for(
        "the watches to show every Job's completion and every new ReplicaSet",
        Duration::from_secs(20),
        Duration::from_millis(200),
        || {
            // Job -> the revision at which it was first seen complete.
            let mut completed: BTreeMap<String, u64> = BTreeMap::new();
            for (_, job) in watch_events(&job_watch) {
                let name = text(&job, "/metadata/name").to_string();
                if job_names.contains(&name)
                    && tagged(&job)
                    && !text(&job, "/status/completionTime").is_empty()
                {
                    let at = revision(&job);
                    completed
                        .entry(name)
                        .and_modify(|r| *r = (*r).min(at))
                        .or_insert(at);
                }
            }
            let created: BTreeMap<String, u64> = watch_events(&set_watch)
                .into_iter()
                .filter(|(kind, rs)| {
                    kind == "ADDED" && set_names.contains(&text(rs, "/metadata/name").to_string())
                })
                .map(|(_, rs)| (text(&rs, "/metadata/name").to_string(), revision(&rs)))
                .collect();
            if completed.len() == job_names.len() && created.len() == set_names.len() {
                Ok((completed, created))
            } else {
                Err(format!(
                    "Jobs seen complete: {completed:?}; ReplicaSets seen made: {created:?}"
                ))
            }
        },
    )
    .0;
    let (last_job_at, last_rev) = completed
        .iter()
        .max_by_key(|(_, r)| **r)
        .map(|(n, r)| (n.clone(), *r))
        .expect("a completed Job");
    let (first_set_at, first_rev) = created
        .iter()
        .min_by_key(|(_, r)| **r)
        .map(|(n, r)| (n.clone(), *r))
        .expect("a new ReplicaSet");
    assert!(
        last_rev < first_rev,
        "ReplicaSet {first_set_at} was made (revision {first_rev}) before migration Job \
         {last_job_at} completed (revision {last_rev}); Jobs: {completed:?}; ReplicaSets: {created:?}"
    );
    // The same by the API's timestamps (seconds), for the report.
    assert!(
        epoch_secs(&last_done) <= epoch_secs(&first_created),
        "ReplicaSet {first_set} was created at {first_created}, before migration Job {last_job} \
         completed at {last_done}; migrations: {migrations:?}"
    );

    // 3. A version the registry does not have.
    let held = deployment_specs(&cluster);
    let missing = "0.99.0";
    patch_spec(
        &cluster,
        json!({"values": {"serverManifest": {"version": missing}}}),
    );
    let (message, failed_took) = wait_not_ready(&cluster, "InvalidCatalog", CHANGE_TIMEOUT);
    assert!(
        message.contains(&format!("{repository}:{missing}")),
        "the message does not name the reference: {message}"
    );
    assert!(
        message.contains("spec.values.serverManifest.version"),
        "the message does not name the key: {message}"
    );
    // Some time for a wrong change to show.
    thread::sleep(Duration::from_secs(5));
    assert_eq!(
        deployment_specs(&cluster),
        held,
        "a Deployment changed while the manifest could not be pulled"
    );
    let res = resource(&cluster);
    assert_eq!(text(&res, "/status/version"), new.app_tag);

    // Set back: Ready again, nothing rolled.
    patch_spec(
        &cluster,
        json!({"values": {"serverManifest": {"version": new.tag}}}),
    );
    let recovered_took = wait_reconciled_ready(&cluster, "Ready once set back", CHANGE_TIMEOUT);
    assert_eq!(
        deployment_specs(&cluster),
        held,
        "a Deployment changed on going back to the version it ran"
    );

    // 4. A restarted operator reads what it kept (the ConfigMap), and
    // pulls nothing again: its first reconcile changes nothing.
    drop(op);
    let op = operator(&cluster, "server-manifest", "e2e-operator-restarted");
    wait_for(
        "a reconcile by the restarted operator",
        CHANGE_TIMEOUT,
        Duration::from_millis(250),
        || match counters(&op).0 {
            n if n >= 1.0 => Ok(()),
            n => Err(format!("{n} reconciles")),
        },
    );
    let res = resource(&cluster);
    assert_eq!(condition_status(&res, "Ready"), "True", "{}", summary(&res));
    assert_eq!(
        deployment_specs(&cluster),
        held,
        "a Deployment changed when the operator restarted"
    );

    // Pulled once each: the registry served each manifest one GET.
    let manifest_gets = |tag: &str| {
        registry
            .requests(&format!("GET /v2/{REPOSITORY_PATH}/manifests/{tag}"))
            .len()
    };
    assert_eq!(manifest_gets(old.tag), 1, "{old_tag} pulled more than once");
    assert_eq!(manifest_gets(new.tag), 1, "{new_tag} pulled more than once");
    let missing_gets = manifest_gets(missing);

    let gap = epoch_secs(&first_created) - epoch_secs(&last_done);
    report(format!(
        "server-manifest: {} installed from {repository}:{} Ready in {}; upgraded to {} Ready in {} \
         (last of {} migration Jobs to complete: {last_job_at} at revision {last_rev}, {last_job} \
         at {last_done}; first of {} new ReplicaSets: {first_set_at} at revision {first_rev}, \
         {first_set} at {first_created}, {gap} s later); {missing} not pullable: InvalidCatalog in {} \
         ({missing_gets} GETs of it), back to {} Ready in {}; each version pulled once (also \
         across an operator restart)",
        old.app_tag,
        old.tag,
        secs(install_took),
        new.app_tag,
        secs(upgrade_took),
        migrations.len(),
        new_sets.len(),
        secs(failed_took),
        new.tag,
        secs(recovered_took),
    ));
}
