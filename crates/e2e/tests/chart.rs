//! The Helm chart `charts/operator-wandb`, end to end (issue 6). Every
//! scenario runs once with Helm 3 and once with Helm 4, each on a cluster of
//! its own (`hack/cluster`), and prints one `[chart] SUMMARY` line:
//!
//! 1. `helm lint --strict` is clean and `helm template` renders every
//!    upstream reference values file; the WeightsAndBiases resource it makes
//!    carries the values through unchanged (the operator renders the same
//!    bytes from it as from the file).
//! 2. The two install examples of the upstream README install as written and
//!    become Ready; `helm test` fails while the install is not Ready and
//!    passes once it is.
//! 3. install, upgrade (`app.replicaCount=3`, `weave.install=false`,
//!    `global.size=medium`), rollback, uninstall: the objects at each step,
//!    and the volumes and generated Secrets after the uninstall.
//! 4. `--set app.replicaCount=two` is refused by the values schema and
//!    nothing is installed.
//! 5. A release of the upstream chart moves to this chart by following
//!    docs/migrating-from-upstream.md to the letter, without losing a volume
//!    or a Secret.
//!
//! kwok runs nothing in pods, so two things that would run in the cluster
//! run here instead:
//!
//! - the operator: `wandb-operator run` on the host, authenticated with a
//!   token of the chart's ServiceAccount, so the chart's RBAC is all it has
//!   (any permission it is denied fails the test);
//! - the bare pods Helm waits for (the `helm test` pod and the pre-delete
//!   hook): the test acts as their kubelet. It runs the pod's command from
//!   the host, authenticated as the pod's ServiceAccount, and writes the
//!   exit code into the pod's status, from which Helm reads the outcome.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use wandb_e2e::{
    Cluster, HELMS, Helm, Output, WorkDir, cache_dir, indent, int, plain, reference_cases,
    repo_root, run, text,
};

const RELEASE: &str = "wandb";
const HOST: &str = "global.host=https://wandb.example.com";
const LICENSE: &str = "global.license=your-license-key";
/// How long an install may take to become Ready once the operator runs.
const READY_TIMEOUT: Duration = Duration::from_secs(240);
const POLL: Duration = Duration::from_millis(500);
/// Annotation of the Secrets whose keys the operator generates.
const GENERATED_KEYS: &str = "apps.wandb.com/generated-keys";
/// Label of every object the operator manages.
const INSTANCE_LABEL: &str = "apps.wandb.com/instance";

// ---------------------------------------------------------------- files and processes

fn kubectl_bin() -> PathBuf {
    cache_dir().join("bin/kubectl")
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// Polls `check` until it gives a value; panics with the last message after `timeout`.
fn wait_until<T>(
    what: &str,
    timeout: Duration,
    check: impl FnMut() -> Result<T, String>,
) -> (T, Duration) {
    try_wait_until(timeout, check).unwrap_or_else(|last| {
        panic!(
            "{what}: not within {} s; last seen: {last}",
            timeout.as_secs()
        )
    })
}

/// Polls `check` until it gives a value, or gives its last message after `timeout`.
fn try_wait_until<T>(
    timeout: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> Result<(T, Duration), String> {
    let start = Instant::now();
    loop {
        match check() {
            Ok(v) => return Ok((v, start.elapsed())),
            Err(last) if start.elapsed() >= timeout => return Err(last),
            Err(_) => thread::sleep(POLL),
        }
    }
}

/// The garbage collector's complaints, from the cluster's controller-manager log.
fn gc_log(cluster: &Cluster) -> String {
    let log = cache_dir()
        .join("clusters")
        .join(&cluster.name)
        .join("logs/kube-controller-manager.log");
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("garbage")).collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

// ---------------------------------------------------------------- cluster access

fn kubectl(cluster: &Cluster, args: &[&str]) -> Output {
    cluster.kubectl(args, None, Duration::from_secs(60))
}

/// `kubectl get ARGS -o json`; `None` when the object does not exist.
fn get(cluster: &Cluster, args: &[&str]) -> Option<Value> {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend(["-o", "json"]);
    let out = kubectl(cluster, &all);
    if !out.success() {
        assert!(
            out.stderr.contains("NotFound") || out.stderr.contains("not found"),
            "{}:\n{}",
            out.describe_status(),
            out.stderr
        );
        return None;
    }
    Some(serde_json::from_str(&out.stdout).expect("kubectl printed JSON"))
}

fn items(list: &Value) -> Vec<Value> {
    list["items"].as_array().cloned().unwrap_or_default()
}

/// A kubeconfig for ServiceAccount `sa` of `ns`: the cluster's address and
/// CA from the admin kubeconfig, and a token of the ServiceAccount.
fn sa_kubeconfig(cluster: &Cluster, ns: &str, sa: &str, dir: &Path) -> PathBuf {
    let token = cluster.kubectl_ok(&["-n", ns, "create", "token", sa, "--duration=2h"], None);
    let view = |path: &str| {
        cluster.kubectl_ok(
            &[
                "config",
                "view",
                "--raw",
                "-o",
                &format!("jsonpath={{{path}}}"),
            ],
            None,
        )
    };
    let server = view(".clusters[0].cluster.server");
    let ca = view(".clusters[0].cluster.certificate-authority-data");
    let file = dir.join(format!("{ns}-{sa}.kubeconfig"));
    let config = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    \
         certificate-authority-data: {ca}\nusers:\n- name: {sa}\n  user:\n    token: {}\n\
         contexts:\n- name: c\n  context:\n    cluster: c\n    user: {sa}\n    namespace: {ns}\n\
         current-context: c\n",
        token.trim()
    );
    std::fs::write(&file, config).unwrap();
    file
}

// ---------------------------------------------------------------- the operator

/// `wandb-operator run` on the host, as the chart's ServiceAccount.
struct OperatorRun {
    child: Option<Child>,
    watchdog: Option<Child>,
    log: PathBuf,
    sa: String,
}

impl OperatorRun {
    /// Starts the operator for namespace `ns` with a token of the chart's
    /// ServiceAccount `<release>-operator`.
    fn start(cluster: &Cluster, ns: &str, work: &Path) -> OperatorRun {
        OperatorRun::start_as(cluster, ns, work, &format!("{RELEASE}-operator"))
    }

    /// The same with the ServiceAccount `sa` (of another release's name).
    fn start_as(cluster: &Cluster, ns: &str, work: &Path, sa: &str) -> OperatorRun {
        let kubeconfig = sa_kubeconfig(cluster, ns, sa, work);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = work.join(format!("operator-{ns}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(wandb_e2e::operator_binary_quiet());
        cmd.args(["run", "--namespace", ns, "--lease-namespace", ns])
            .args(["--metrics-addr", &format!("127.0.0.1:{port}")])
            .args(["--log-format", "text"])
            .env("KUBECONFIG", &kubeconfig)
            .env("POD_NAME", format!("e2e-chart-{}", std::process::id()))
            .env_remove("POD_NAMESPACE")
            .env_remove("WATCH_NAMESPACE")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().expect("starting wandb-operator");
        // Should this test process die without unwinding, stop the operator.
        let script = r#"while kill -0 "$1" 2>/dev/null; do kill -0 "$2" 2>/dev/null || exit 0; sleep 1; done; kill -TERM "$2""#;
        let mut wd = Command::new("sh");
        wd.args(["-c", script, "e2e-operator-watchdog"])
            .arg(std::process::id().to_string())
            .arg(child.id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut wd, 0);
        eprintln!(
            "[chart] operator started (pid {}, as ServiceAccount {ns}/{sa}, metrics on 127.0.0.1:{port})",
            child.id()
        );
        OperatorRun {
            child: Some(child),
            watchdog: wd.spawn().ok(),
            log,
            sa: format!("{ns}/{sa}"),
        }
    }

    fn log_text(&self) -> String {
        plain(&std::fs::read_to_string(&self.log).unwrap_or_default())
    }

    /// Log lines where the API server refused the operator something.
    fn denied(&self, log: &str) -> Vec<String> {
        // Not "Forbidden" alone: the API server says it of an immutable
        // field too, when the operator replaces a StatefulSet.
        log.lines()
            .filter(|l| {
                l.contains("Unauthorized")
                    || ((l.contains("forbidden") || l.contains("Forbidden"))
                        && !l.contains("replacing"))
            })
            .map(|l| l.chars().take(600).collect())
            .collect()
    }

    /// Fails the test if the operator was denied anything so far.
    fn assert_not_denied(&self) -> usize {
        let denied = self.denied(&self.log_text());
        assert!(
            denied.is_empty(),
            "the chart's RBAC is not enough: the operator (ServiceAccount {}) was denied:\n{}",
            self.sa,
            denied.join("\n")
        );
        denied.len()
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(15) {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                thread::sleep(Duration::from_millis(100));
            }
            if let Ok(None) = child.try_wait() {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
        if let Some(mut wd) = self.watchdog.take() {
            let _ = wd.kill();
            let _ = wd.wait();
        }
    }
}

impl Drop for OperatorRun {
    fn drop(&mut self) {
        self.stop();
        if thread::panicking() {
            eprintln!(
                "[chart] last lines of the operator's log ({}):\n{}",
                self.log.display(),
                indent(&last_lines(&self.log_text(), 40), "  ")
            );
        }
    }
}

// ---------------------------------------------------------------- readiness

/// Waits until WeightsAndBiases `name` is Ready for its current generation.
fn wait_ready(cluster: &Cluster, ns: &str) -> (i64, Duration) {
    wait_until(
        &format!("WeightsAndBiases {ns}/{RELEASE} Ready"),
        READY_TIMEOUT,
        || {
            let w = get(cluster, &["-n", ns, "weightsandbiases", RELEASE])
                .ok_or("the resource does not exist")?;
            let generation = int(&w, "/metadata/generation");
            let ready = w
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
                .cloned()
                .unwrap_or(Value::Null);
            let fresh = int(&w, "/status/observedGeneration") == generation
                && int(&ready, "/observedGeneration") == generation;
            if fresh && ready["status"] == "True" {
                Ok(generation)
            } else {
                Err(format!(
                    "generation {generation}, observed {}, Ready={} ({})",
                    int(&w, "/status/observedGeneration"),
                    text(&ready, "/status"),
                    text(&ready, "/message")
                ))
            }
        },
    )
}

/// Whether the resource has a Ready=True condition (any generation).
fn is_ready(cluster: &Cluster, ns: &str) -> bool {
    get(cluster, &["-n", ns, "weightsandbiases", RELEASE]).is_some_and(|w| {
        w.pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
    })
}

/// Every workload and claim of the namespace, checked as `kubectl rollout
/// status` would: "Deployment 7/7, StatefulSet 6/6, ..." and the ones that
/// are not ready.
fn workloads(cluster: &Cluster, ns: &str) -> (String, Vec<String>) {
    let list = get(
        cluster,
        &[
            "-n",
            ns,
            "deployments,statefulsets,daemonsets,jobs,persistentvolumeclaims",
        ],
    )
    .unwrap();
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut not_ready = Vec::new();
    for item in items(&list) {
        let kind = text(&item, "/kind").to_string();
        let name = text(&item, "/metadata/name");
        let observed =
            int(&item, "/status/observedGeneration") >= int(&item, "/metadata/generation");
        let ok = match kind.as_str() {
            "Deployment" => {
                let want = item
                    .pointer("/spec/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                observed
                    && int(&item, "/status/updatedReplicas") == want
                    && int(&item, "/status/availableReplicas") == want
                    && int(&item, "/status/replicas") == want
            }
            "StatefulSet" => {
                let want = item
                    .pointer("/spec/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                observed
                    && int(&item, "/status/readyReplicas") == want
                    && int(&item, "/status/updatedReplicas") == want
            }
            "DaemonSet" => {
                observed
                    && int(&item, "/status/numberReady")
                        == int(&item, "/status/desiredNumberScheduled")
                    && int(&item, "/status/desiredNumberScheduled") > 0
            }
            "Job" => item
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c["type"] == "Complete" && c["status"] == "True")
                }),
            "PersistentVolumeClaim" => text(&item, "/status/phase") == "Bound",
            _ => true,
        };
        let e = counts.entry(kind.clone()).or_default();
        e.1 += 1;
        if ok {
            e.0 += 1;
        } else {
            not_ready.push(format!("{kind}/{name}"));
        }
    }
    let summary = counts
        .iter()
        .map(|(k, (ok, all))| format!("{k} {ok}/{all}"))
        .collect::<Vec<_>>()
        .join(", ");
    (summary, not_ready)
}

/// [`workloads`] once all are ready. The resource can be Ready a moment
/// before an autoscaler raises a Deployment to its minimum replicas (the
/// render leaves replicas to it), so this waits a little for that.
fn settled_workloads(cluster: &Cluster, ns: &str) -> String {
    let (summary, took) = wait_until(
        &format!("every workload of {ns} ready"),
        Duration::from_secs(60),
        || match workloads(cluster, ns) {
            (summary, not_ready) if not_ready.is_empty() => Ok(summary),
            (_, not_ready) => Err(format!("not ready: {not_ready:?}")),
        },
    );
    if took > Duration::from_secs(1) {
        format!("{summary} (settled {} after Ready)", secs(took))
    } else {
        summary
    }
}

/// What a kubelet would refuse to start a pod for and kwok does not check:
/// a Secret, ConfigMap or claim a pod of the namespace needs that does not
/// exist, or a key it needs that the Secret or ConfigMap lacks.
fn missing_references(cluster: &Cluster, ns: &str) -> (usize, Vec<String>) {
    let pods = items(&get(cluster, &["-n", ns, "pods"]).unwrap());
    let secrets: BTreeMap<String, Value> = items(&get(cluster, &["-n", ns, "secrets"]).unwrap())
        .into_iter()
        .map(|s| (text(&s, "/metadata/name").to_string(), s))
        .collect();
    let config_maps: BTreeMap<String, Value> =
        items(&get(cluster, &["-n", ns, "configmaps"]).unwrap())
            .into_iter()
            .map(|s| (text(&s, "/metadata/name").to_string(), s))
            .collect();
    let claims: BTreeSet<String> =
        items(&get(cluster, &["-n", ns, "persistentvolumeclaims"]).unwrap())
            .iter()
            .map(|s| text(s, "/metadata/name").to_string())
            .collect();
    let mut checked = 0;
    let mut missing = BTreeSet::new();
    let has_key = |obj: &Value, key: &str| {
        obj.pointer(&format!("/data/{key}")).is_some()
            || obj.pointer(&format!("/binaryData/{key}")).is_some()
    };
    for pod in &pods {
        if text(pod, "/status/phase") == "Succeeded" {
            continue;
        }
        let pod_name = text(pod, "/metadata/name");
        let mut need = |what: &str, name: &str, key: Option<&str>, optional: bool| {
            if optional || name.is_empty() {
                return;
            }
            checked += 1;
            if what == "PersistentVolumeClaim" {
                if !claims.contains(name) {
                    missing.insert(format!("{what} {name} (pod {pod_name})"));
                }
                return;
            }
            let store = if what == "Secret" {
                &secrets
            } else {
                &config_maps
            };
            match store.get(name) {
                None => {
                    missing.insert(format!("{what} {name} (pod {pod_name})"));
                }
                Some(obj) => {
                    if let Some(key) = key
                        && !has_key(obj, key)
                    {
                        missing.insert(format!("{what} {name} key {key} (pod {pod_name})"));
                    }
                }
            }
        };
        let spec = &pod["spec"];
        let containers = ["containers", "initContainers"]
            .iter()
            .flat_map(|k| spec[*k].as_array().cloned().unwrap_or_default());
        for c in containers {
            for e in c["env"].as_array().cloned().unwrap_or_default() {
                for (what, field) in [("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")]
                {
                    let r = &e["valueFrom"][field];
                    if r.is_object() {
                        need(
                            what,
                            text(r, "/name"),
                            Some(text(r, "/key")),
                            r["optional"] == true,
                        );
                    }
                }
            }
            for e in c["envFrom"].as_array().cloned().unwrap_or_default() {
                for (what, field) in [("Secret", "secretRef"), ("ConfigMap", "configMapRef")] {
                    let r = &e[field];
                    if r.is_object() {
                        need(what, text(r, "/name"), None, r["optional"] == true);
                    }
                }
            }
        }
        for v in spec["volumes"].as_array().cloned().unwrap_or_default() {
            if v["secret"].is_object() {
                need(
                    "Secret",
                    text(&v, "/secret/secretName"),
                    None,
                    v["secret"]["optional"] == true,
                );
            }
            if v["configMap"].is_object() {
                need(
                    "ConfigMap",
                    text(&v, "/configMap/name"),
                    None,
                    v["configMap"]["optional"] == true,
                );
            }
            for s in v["projected"]["sources"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                if s["secret"].is_object() {
                    need(
                        "Secret",
                        text(&s, "/secret/name"),
                        None,
                        s["secret"]["optional"] == true,
                    );
                }
                if s["configMap"].is_object() {
                    need(
                        "ConfigMap",
                        text(&s, "/configMap/name"),
                        None,
                        s["configMap"]["optional"] == true,
                    );
                }
            }
            need(
                "PersistentVolumeClaim",
                text(&v, "/persistentVolumeClaim/claimName"),
                None,
                false,
            );
        }
    }
    (checked, missing.into_iter().collect())
}

// ---------------------------------------------------------------- playing the kubelet

/// What the test did as the kubelet of one bare pod.
struct PodRun {
    command: Vec<String>,
    exit: i32,
    output: String,
    took: Duration,
}

/// Waits for pod `name` (a new one, if `not_uid` names the last) to be
/// Running, runs its container's command from the host as the pod's
/// ServiceAccount (`kubectl` is the cluster's), and records the outcome in
/// the pod's status as a kubelet would: phase Succeeded or Failed, the
/// container terminated with the command's exit code.
fn play_kubelet(
    cluster: &Cluster,
    ns: &str,
    name: &str,
    not_uid: Option<&str>,
    work: &Path,
) -> PodRun {
    let (pod, _) = wait_until(
        &format!("pod {ns}/{name} Running"),
        Duration::from_secs(90),
        || {
            let pod = get(cluster, &["-n", ns, "pod", name]).ok_or("not created")?;
            let uid = text(&pod, "/metadata/uid");
            if Some(uid) == not_uid || pod["metadata"]["deletionTimestamp"].is_string() {
                return Err("the previous pod is still there".into());
            }
            match text(&pod, "/status/phase") {
                "Running" => Ok(pod),
                phase => Err(format!("phase {phase}")),
            }
        },
    );
    let containers = pod["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(containers.len(), 1, "pod {name}: one container expected");
    let container = &containers[0];
    let command: Vec<String> = ["command", "args"]
        .iter()
        .flat_map(|k| container[*k].as_array().cloned().unwrap_or_default())
        .map(|a| a.as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        command.first().map(String::as_str),
        Some("kubectl"),
        "pod {name}: only kubectl commands can be run from the host: {command:?}"
    );
    let sa = text(&pod, "/spec/serviceAccountName");
    let kubeconfig = sa_kubeconfig(cluster, ns, sa, work);
    let mut cmd = Command::new(kubectl_bin());
    cmd.args(&command[1..]).env("KUBECONFIG", &kubeconfig);
    let started = now_rfc3339();
    let out = run(cmd, None, Duration::from_secs(240));
    let exit = out.status.and_then(|s| s.code()).unwrap_or(137);
    let output = format!("{}{}", out.stdout, out.stderr).trim().to_string();
    let status = json!({
        "status": {
            "phase": if exit == 0 { "Succeeded" } else { "Failed" },
            "containerStatuses": [{
                "name": container["name"],
                "image": container["image"],
                "imageID": "",
                "ready": false,
                "started": false,
                "restartCount": 0,
                "state": {"terminated": {
                    "exitCode": exit,
                    "reason": if exit == 0 { "Completed" } else { "Error" },
                    "message": output.chars().take(1000).collect::<String>(),
                    "startedAt": started,
                    "finishedAt": now_rfc3339(),
                }},
            }],
        }
    });
    cluster.kubectl_ok(
        &[
            "-n",
            ns,
            "patch",
            "pod",
            name,
            "--subresource=status",
            "--type=merge",
            "-p",
            &status.to_string(),
        ],
        None,
    );
    eprintln!(
        "[chart] ran pod {ns}/{name} as ServiceAccount {sa}: `{}` -> exit {exit} in {}: {}",
        command.join(" "),
        secs(out.elapsed),
        output.lines().last().unwrap_or("")
    );
    PodRun {
        command,
        exit,
        output,
        took: out.elapsed,
    }
}

fn now_rfc3339() -> String {
    let s = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (days, rem) = (s.div_euclid(86400), s.rem_euclid(86400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `helm test` with the test pod run by [`play_kubelet`].
fn helm_test(h: Helm, cluster: &Cluster, ns: &str, work: &Path) -> (Output, PodRun) {
    let pod = format!("{RELEASE}-test-ready");
    let old = get(cluster, &["-n", ns, "pod", &pod]).map(|p| text(&p, "/metadata/uid").to_string());
    let helm = h.spawn(
        work,
        &cluster.kubeconfig,
        &["test", RELEASE, "-n", ns, "--timeout", "3m"],
    );
    let ran = play_kubelet(cluster, ns, &pod, old.as_deref(), work);
    (helm.join().unwrap(), ran)
}

// ---------------------------------------------------------------- data

/// A PVC or Secret as recorded before a step and compared after it.
#[derive(Clone, Debug, PartialEq)]
struct Held {
    kind: String,
    name: String,
    uid: String,
    /// Secret: its data (key -> base64); PVC: {"volume": volumeName}.
    data: BTreeMap<String, String>,
    owners: usize,
}

impl Held {
    fn sha(&self) -> String {
        sha256_hex(serde_json::to_string(&self.data).unwrap().as_bytes())[..16].to_string()
    }
}

/// The namespace's PVCs and Secrets (all of them, or only the generated
/// ones), Helm's release records left out.
fn held(cluster: &Cluster, ns: &str, generated_only: bool) -> BTreeMap<String, Held> {
    let list = get(cluster, &["-n", ns, "secrets,persistentvolumeclaims"]).unwrap();
    let mut out = BTreeMap::new();
    for item in items(&list) {
        let kind = text(&item, "/kind").to_string();
        let name = text(&item, "/metadata/name").to_string();
        if text(&item, "/type") == "helm.sh/release.v1" {
            continue;
        }
        let generated = item["metadata"]["annotations"][GENERATED_KEYS].is_string();
        if generated_only && kind == "Secret" && !generated {
            continue;
        }
        let data = if kind == "Secret" {
            item["data"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                        .collect()
                })
                .unwrap_or_default()
        } else {
            BTreeMap::from([(
                "volume".to_string(),
                text(&item, "/spec/volumeName").to_string(),
            )])
        };
        out.insert(
            format!("{kind}/{name}"),
            Held {
                uid: text(&item, "/metadata/uid").to_string(),
                owners: item["metadata"]["ownerReferences"]
                    .as_array()
                    .map_or(0, Vec::len),
                kind,
                name,
                data,
            },
        );
    }
    out
}

/// Prints what is held, one line per object with its uid and data's hash.
fn print_held(what: &str, held: &BTreeMap<String, Held>) {
    eprintln!("[chart] {what}:");
    for d in held.values() {
        eprintln!(
            "    {:<50} uid {} sha256 {}",
            format!("{}/{}", d.kind, d.name),
            d.uid,
            d.sha()
        );
    }
}

/// Compares what was held before with what is there now: every object
/// still there with its uid and its data. `fill_empty` allows keys that
/// were empty or absent before to have gained a value. Returns the
/// problems and the keys that were filled.
fn compare_held(
    before: &BTreeMap<String, Held>,
    now: &BTreeMap<String, Held>,
    fill_empty: bool,
) -> (Vec<String>, Vec<String>) {
    let mut problems = Vec::new();
    let mut filled = Vec::new();
    for (key, b) in before {
        let Some(n) = now.get(key) else {
            problems.push(format!("{key} was deleted"));
            continue;
        };
        if n.uid != b.uid {
            problems.push(format!("{key} was recreated (uid {} -> {})", b.uid, n.uid));
        }
        for (k, v) in &b.data {
            match n.data.get(k) {
                None => problems.push(format!("{key}: {k} was removed")),
                Some(nv) if nv == v => {}
                Some(_) if fill_empty && v.is_empty() => filled.push(format!("{key}: {k}")),
                Some(_) => problems.push(format!("{key}: {k} changed")),
            }
        }
        for k in n.data.keys().filter(|k| !b.data.contains_key(*k)) {
            if fill_empty {
                filled.push(format!("{key}: {k} (new)"));
            } else {
                problems.push(format!("{key}: {k} was added"));
            }
        }
    }
    (problems, filled)
}

/// Asserts [`compare_held`] finds no problem after `what`; returns the keys
/// that were filled.
fn assert_kept(
    what: &str,
    before: &BTreeMap<String, Held>,
    now: &BTreeMap<String, Held>,
    fill_empty: bool,
) -> Vec<String> {
    let (problems, filled) = compare_held(before, now, fill_empty);
    assert!(
        problems.is_empty(),
        "{what} lost or changed data:\n{}",
        problems.join("\n")
    );
    filled
}

/// SHA-256 (FIPS 180-4), for the record of data hashes.
fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes(chunk[4 * i..4 * i + 4].try_into().unwrap());
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

// ---------------------------------------------------------------- renders

/// The (kind, name) of every object `wandb-operator render ARGS` prints,
/// test pods left out: what the operator applies.
fn rendered(args: &[&str], ns: &str) -> BTreeMap<String, wandb_e2e::Document> {
    let mut all = args.to_vec();
    all.extend(["--namespace", ns, "--skip-tests"]);
    wandb_e2e::render(&wandb_e2e::operator_binary_quiet(), &all)
        .documents()
        .into_iter()
        .map(|d| (d.id(), d))
        .collect()
}

/// The live objects the operator manages for the release, by `Kind/name`.
fn managed(cluster: &Cluster, ns: &str, kinds: &BTreeSet<String>) -> BTreeMap<String, Value> {
    let kinds: Vec<&str> = kinds.iter().map(String::as_str).collect();
    let list = get(
        cluster,
        &[
            "-n",
            ns,
            &kinds.join(","),
            "-l",
            &format!("{INSTANCE_LABEL}={RELEASE}"),
        ],
    )
    .unwrap();
    items(&list)
        .into_iter()
        .map(|i| {
            (
                format!("{}/{}", text(&i, "/kind"), text(&i, "/metadata/name")),
                i,
            )
        })
        .collect()
}

/// A rendered object as JSON (kubectl converts it).
fn as_json(cluster: &Cluster, doc: &wandb_e2e::Document) -> Value {
    let out = cluster.kubectl_ok(
        &["create", "--dry-run=client", "-o", "json", "-f", "-"],
        Some(&doc.yaml),
    );
    serde_json::from_str(&out).unwrap()
}

fn resources(deployment: &Value) -> Vec<(String, Value)> {
    deployment
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| (text(c, "/name").to_string(), c["resources"].clone()))
        .collect()
}

fn summary(line: String) {
    eprintln!("[chart] SUMMARY {line}");
}

// ================================================================ 1. lint and template

#[test]
fn s1_lint_is_clean_and_every_reference_case_templates() {
    let work = WorkDir::new("chart-lint");
    let bin = wandb_e2e::operator_binary_quiet();
    let cases = reference_cases();
    // Helm's warnings about our chart are compared with upstream's when its
    // chart is beside the repository; without it, there must be none.
    let upstream =
        wandb_contract::peer::chart_or_skip("Helm's warnings not compared with upstream's");
    for h in HELMS {
        let t0 = Instant::now();
        let lint = h.ok(
            &work.0,
            None,
            &["lint", "--strict", "charts/operator-wandb"],
        );
        let all = format!("{}{}", lint.stdout, lint.stderr);
        assert!(
            all.contains("1 chart(s) linted, 0 chart(s) failed")
                && !all.contains("[WARNING]")
                && !all.contains("[ERROR]")
                && !all.contains("[INFO]"),
            "{} lint --strict is not clean:\n{all}",
            h.name()
        );
        let mut objects = 0;
        let mut helm_warnings = 0;
        for case in &cases {
            let values = case.values.to_string_lossy();
            let out = h.ok(
                &work.0,
                None,
                &["template", RELEASE, "charts/operator-wandb", "-f", &values],
            );
            let docs = wandb_e2e::split_documents(&out.stdout);
            objects += docs.len();
            let cr: Vec<_> = docs
                .iter()
                .filter(|d| d.kind == "WeightsAndBiases")
                .collect();
            assert_eq!(
                cr.len(),
                1,
                "{}: {}: one WeightsAndBiases expected",
                h.name(),
                case.name
            );
            // Helm's own warnings (type clashes while merging values) must be
            // ones it prints for the upstream chart too.
            let warnings: BTreeSet<String> = out
                .stderr
                .lines()
                .map(str::to_string)
                .filter(|l| !l.trim().is_empty())
                .collect();
            if !warnings.is_empty() {
                let up: BTreeSet<String> = match &upstream {
                    Some(chart) => h
                        .ok(
                            &work.0,
                            None,
                            &["template", RELEASE, &chart.to_string_lossy(), "-f", &values],
                        )
                        .stderr
                        .lines()
                        .map(str::to_string)
                        .collect(),
                    None => BTreeSet::new(),
                };
                let ours_only: Vec<&String> = warnings.difference(&up).collect();
                assert!(
                    ours_only.is_empty(),
                    "{}: {}: Helm warns about our chart but not about upstream's:\n{}",
                    h.name(),
                    case.name,
                    ours_only
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join("\n")
                );
                helm_warnings += warnings.len();
            }
            // spec.values of the resource (the template indents it by 4)
            // gives the operator what the values file gives it.
            let values_yaml: String = cr[0]
                .yaml
                .split_once("\n  values:\n")
                .expect("spec.values")
                .1
                .lines()
                .map(|l| l.strip_prefix("    ").unwrap_or(l))
                .map(|l| format!("{l}\n"))
                .collect();
            let file = work.0.join(format!("{}-{}.yaml", h.name(), case.name));
            std::fs::write(&file, values_yaml).unwrap();
            let direct = wandb_e2e::render(&bin, &["-f", &values]);
            let via_chart = wandb_e2e::render(&bin, &["-f", &file.to_string_lossy()]);
            assert!(
                direct.yaml == via_chart.yaml && direct.stderr == via_chart.stderr,
                "{}: {}: the chart's WeightsAndBiases does not carry the values through: \
                 the operator renders something else from its spec.values ({}) than from the file",
                h.name(),
                case.name,
                file.display()
            );
        }
        summary(format!(
            "1 lint+template {}: lint --strict clean; {} reference cases templated ({objects} objects), \
             each WeightsAndBiases' spec.values renders byte-identical to its values file; \
             {helm_warnings} Helm merge warnings, all also printed for the upstream chart; {}",
            h.name(),
            cases.len(),
            secs(t0.elapsed())
        ));
    }
}

/// The operator's RBAC as the chart renders it: no wildcard anywhere, and
/// Secrets only in a Role of the release namespace unless the operator
/// watches every namespace.
#[test]
fn s1_rbac_has_no_wildcard_and_keeps_secrets_namespaced() {
    let work = WorkDir::new("chart-rbac");
    let h = Helm::V3;
    for watch_all in [false, true] {
        let flag = format!("operator.watchAllNamespaces={watch_all}");
        let out = h.ok(
            &work.0,
            None,
            &["template", RELEASE, "charts/operator-wandb", "--set", &flag],
        );
        let docs = wandb_e2e::split_documents(&out.stdout);
        let rules = |kind: &str| -> Vec<&wandb_e2e::Document> {
            docs.iter().filter(|d| d.kind == kind).collect()
        };
        for d in rules("Role").into_iter().chain(rules("ClusterRole")) {
            for line in d.yaml.lines() {
                let item = line.trim().trim_start_matches('-').trim();
                assert!(
                    !matches!(item, "'*'" | "\"*\"" | "*") && !item.contains("[\"*\"]"),
                    "{flag}: {} {} has a wildcard: {line}",
                    d.kind,
                    d.name
                );
            }
        }
        let grants_secrets =
            |d: &&wandb_e2e::Document| d.yaml.lines().any(|l| l.trim() == "- secrets");
        let cluster_secrets = rules("ClusterRole").iter().any(grants_secrets);
        let role_secrets = rules("Role").iter().any(grants_secrets);
        assert_eq!(
            (cluster_secrets, role_secrets),
            (watch_all, !watch_all),
            "{flag}: Secrets cluster-wide {cluster_secrets}, in a Role {role_secrets}"
        );
    }
    summary(
        "1 rbac helm3: no wildcard; Secrets in a Role by default, cluster-wide only with \
             operator.watchAllNamespaces=true"
            .into(),
    );
}

// ================================================================ 2. README examples

struct Example {
    id: &'static str,
    args: &'static [&'static str],
    /// Also show that `helm test` fails before the install is Ready.
    test_before_ready: bool,
}

const EXAMPLES: [Example; 2] = [
    Example {
        id: "poc",
        args: &["--set", HOST, "--set", LICENSE],
        test_before_ready: true,
    },
    Example {
        id: "prod",
        args: &[
            "--set",
            HOST,
            "--set",
            LICENSE,
            "--set",
            "global.mysql.host=mysql.example.com",
            "--set",
            "global.mysql.user=wandb",
            "--set",
            "global.mysql.passwordSecret.name=mysql-secret",
            "--set",
            "redis.install=false",
            "--set",
            "global.redis.host=redis.example.com",
        ],
        test_before_ready: false,
    },
];

#[test]
fn s2_readme_examples_install_as_written_and_become_ready() {
    for example in &EXAMPLES {
        for h in HELMS {
            readme_example(h, example);
        }
    }
}

fn readme_example(h: Helm, example: &Example) {
    let t0 = Instant::now();
    let work = WorkDir::new(&format!("chart-{}-{}", example.id, h.name()));
    let cluster = Cluster::up_with_hook_pods_played_by_the_test(&format!(
        "chart-{}-{}",
        example.id,
        h.name()
    ));
    // The commands have no --namespace: they install into the kubeconfig's
    // namespace, `default`, which enforces PodSecurity `restricted` here.
    let ns = "default";
    cluster.kubectl_ok(
        &[
            "label",
            "namespace",
            ns,
            "--overwrite",
            "pod-security.kubernetes.io/enforce=restricted",
            "pod-security.kubernetes.io/warn=restricted",
        ],
        None,
    );
    if example
        .args
        .contains(&"global.mysql.passwordSecret.name=mysql-secret")
    {
        // The Secret the production example names: the render reads
        // MYSQL_PASSWORD from it (passwordSecret.passwordKey), and the
        // upstream convention also keeps MYSQL_ROOT_PASSWORD there.
        cluster.kubectl_ok(
            &[
                "-n",
                ns,
                "create",
                "secret",
                "generic",
                "mysql-secret",
                "--from-literal=MYSQL_PASSWORD=e2e-mysql-password",
                "--from-literal=MYSQL_ROOT_PASSWORD=e2e-mysql-root-password",
            ],
            None,
        );
    }

    let mut args = vec!["install", RELEASE, "./charts/operator-wandb"];
    args.extend(example.args);
    let (install, install_note) = h.install(&work.0, &cluster.kubeconfig, &args);
    assert!(
        install.stdout.contains("STATUS: deployed"),
        "{}",
        install.stdout
    );
    let warnings: Vec<&str> = install
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(
        warnings.is_empty(),
        "helm install warned:\n{}",
        warnings.join("\n")
    );
    // Every object of the release is there.
    let manifest = h
        .ok(
            &work.0,
            Some(&cluster.kubeconfig),
            &["get", "manifest", RELEASE],
        )
        .stdout;
    let release_objects =
        cluster.kubectl_ok(&["get", "-n", ns, "-f", "-", "-o", "name"], Some(&manifest));
    let release_objects: Vec<&str> = release_objects.lines().collect();
    assert!(!is_ready(&cluster, ns), "Ready before the operator ran");

    let mut before = String::new();
    if example.test_before_ready {
        let (helm, pod) = helm_test(h, &cluster, ns, &work.0);
        assert!(
            !helm.success() && pod.exit != 0 && pod.output.contains("timed out"),
            "helm test should fail while the install is not Ready:\n{}\n{}{}",
            pod.output,
            helm.stdout,
            helm.stderr
        );
        before = format!(
            "helm test failed while not Ready (`{}` exit {} after {}), ",
            pod.command.join(" "),
            pod.exit,
            secs(pod.took)
        );
    }

    let mut operator = OperatorRun::start(&cluster, ns, &work.0);
    let (generation, took) = wait_ready(&cluster, ns);
    let workloads = settled_workloads(&cluster, ns);
    let (refs, missing) = missing_references(&cluster, ns);
    assert!(
        missing.is_empty(),
        "pods need what is not there:\n{}",
        missing.join("\n")
    );

    let (helm, pod) = helm_test(h, &cluster, ns, &work.0);
    assert!(
        helm.success() && pod.exit == 0 && helm.stdout.contains("Phase:          Succeeded"),
        "helm test should pass once the install is Ready:\n{}\n{}{}",
        pod.output,
        helm.stdout,
        helm.stderr
    );
    // One block: only the pod is a test hook (its RBAC is the release's).
    assert_eq!(
        helm.stdout.matches("TEST SUITE:").count(),
        1,
        "helm test should report one test:\n{}",
        helm.stdout
    );
    operator.assert_not_denied();
    operator.stop();
    summary(format!(
        "2 readme-{} {}: installed as written ({} release objects, namespace PodSecurity restricted) in {}; \
         {before}operator as ServiceAccount {} (0 denied) made it Ready (generation {generation}) in {}: \
         {workloads}; {refs} Secret/ConfigMap/claim references of the pods all present; \
         helm test passed (`{}` exit 0 in {}); total {}{}",
        example.id,
        h.name(),
        release_objects.len(),
        secs(install.elapsed),
        operator.sa,
        secs(took),
        pod.command.join(" "),
        secs(pod.took),
        secs(t0.elapsed()),
        install_note
            .map(|n| format!("; NOTE: {n}"))
            .unwrap_or_default()
    ));
}

// ================================================================ 3. lifecycle

const UPGRADE: &[&str] = &[
    "--set",
    "app.replicaCount=3",
    "--set",
    "weave.install=false",
    "--set",
    "global.size=medium",
];

#[test]
fn s3_install_upgrade_rollback_uninstall() {
    for h in HELMS {
        lifecycle(h);
    }
}

/// Checks that the operator's objects are exactly the render's: each
/// rendered object exists, none is left that the render does not have.
fn assert_matches_render(
    cluster: &Cluster,
    ns: &str,
    render: &BTreeMap<String, wandb_e2e::Document>,
    kinds: &BTreeSet<String>,
    step: &str,
) -> BTreeMap<String, Value> {
    let (live, _) = wait_until(
        &format!("{step}: the objects of the render"),
        Duration::from_secs(60),
        || {
            let live = managed(cluster, ns, kinds);
            let missing: Vec<&String> = render.keys().filter(|k| !live.contains_key(*k)).collect();
            let stale: Vec<&String> = live.keys().filter(|k| !render.contains_key(*k)).collect();
            if missing.is_empty() && stale.is_empty() {
                Ok(live)
            } else {
                Err(format!("missing {missing:?}, not pruned {stale:?}"))
            }
        },
    );
    live
}

fn lifecycle(h: Helm) {
    let t0 = Instant::now();
    let ns = "wandb";
    let work = WorkDir::new(&format!("chart-lifecycle-{}", h.name()));
    let cluster =
        Cluster::up_with_hook_pods_played_by_the_test(&format!("chart-life-{}", h.name()));
    let kc = Some(cluster.kubeconfig.as_path());
    cluster.restricted_namespace(ns);
    let base = ["--set", HOST, "--set", LICENSE];
    let mut upgraded = base.to_vec();
    upgraded.extend(UPGRADE);
    let render_base = rendered(&base, ns);
    let render_up = rendered(&upgraded, ns);
    let kinds: BTreeSet<String> = render_base
        .values()
        .chain(render_up.values())
        .map(|d| d.kind.clone())
        .collect();
    let dropped: Vec<&String> = render_base
        .keys()
        .filter(|k| !render_up.contains_key(*k))
        .collect();
    let added: Vec<&String> = render_up
        .keys()
        .filter(|k| !render_base.contains_key(*k))
        .collect();
    assert!(
        dropped
            .iter()
            .any(|k| k.as_str() == "Deployment/wandb-weave-bc"),
        "weave.install=false should drop the weave Deployment: {dropped:?}"
    );
    let app = "Deployment/wandb-app-bc";
    let app_small = resources(&as_json(&cluster, &render_base[app]));
    let app_medium = resources(&as_json(&cluster, &render_up[app]));
    assert_ne!(
        app_small, app_medium,
        "global.size=medium should change the app's resources"
    );

    // Install.
    let mut args = vec!["install", RELEASE, "./charts/operator-wandb", "-n", ns];
    args.extend(base);
    let t = Instant::now();
    let (_, install_note) = h.install(&work.0, &cluster.kubeconfig, &args);
    let installed_in = secs(t.elapsed());
    let t = Instant::now();
    let operator = OperatorRun::start(&cluster, ns, &work.0);
    let (g1, _) = wait_ready(&cluster, ns);
    let live = assert_matches_render(&cluster, ns, &render_base, &kinds, "install");
    let installed = secs(t.elapsed());
    let replicas = |live: &BTreeMap<String, Value>| int(&live[app], "/spec/replicas");
    assert_eq!(replicas(&live), 1);
    assert_eq!(resources(&live[app]), app_small);
    let dropped_uids: BTreeMap<&String, String> = dropped
        .iter()
        .map(|k| (*k, text(&live[*k], "/metadata/uid").to_string()))
        .collect();
    let data = held(&cluster, ns, true);
    let generated = data.values().filter(|d| d.kind == "Secret").count();
    let pvcs = data
        .values()
        .filter(|d| d.kind == "PersistentVolumeClaim")
        .count();
    assert!(
        generated > 0 && pvcs > 0,
        "no generated Secrets or PVCs: {data:?}"
    );
    for d in data.values().filter(|d| d.kind == "Secret") {
        assert!(
            d.data.values().all(|v| !v.is_empty()),
            "{}: a generated key is empty",
            d.name
        );
    }

    // Upgrade.
    let mut args = vec!["upgrade", RELEASE, "./charts/operator-wandb", "-n", ns];
    args.extend(&upgraded);
    let t = Instant::now();
    h.ok(&work.0, kc, &args);
    let (g2, _) = wait_ready(&cluster, ns);
    assert!(g2 > g1, "the upgrade did not change the resource");
    let live = assert_matches_render(&cluster, ns, &render_up, &kinds, "upgrade");
    assert_eq!(replicas(&live), 3, "app.replicaCount=3");
    assert_eq!(int(&live[app], "/status/readyReplicas"), 3);
    assert_eq!(
        resources(&live[app]),
        app_medium,
        "the app's resources at size medium"
    );
    for k in &dropped {
        let (kind, name) = k.split_once('/').unwrap();
        assert!(
            get(&cluster, &["-n", ns, kind, name]).is_none(),
            "{k} is still there after the upgrade"
        );
    }
    let (problems, _) = compare_held(&data, &held(&cluster, ns, true), false);
    assert!(
        problems.is_empty(),
        "after the upgrade:\n{}",
        problems.join("\n")
    );
    let upgraded_in = secs(t.elapsed());

    // Rollback to the install.
    let t = Instant::now();
    h.ok(&work.0, kc, &["rollback", RELEASE, "1", "-n", ns]);
    let (g3, _) = wait_ready(&cluster, ns);
    assert!(g3 > g2, "the rollback did not change the resource");
    let live = assert_matches_render(&cluster, ns, &render_base, &kinds, "rollback");
    assert_eq!(replicas(&live), 1);
    assert_eq!(int(&live[app], "/status/readyReplicas"), 1);
    assert_eq!(resources(&live[app]), app_small);
    for (k, uid) in &dropped_uids {
        assert_ne!(
            &text(&live[*k], "/metadata/uid"),
            uid,
            "{k} should be a new object"
        );
    }
    let (problems, _) = compare_held(&data, &held(&cluster, ns, true), false);
    assert!(
        problems.is_empty(),
        "after the rollback:\n{}",
        problems.join("\n")
    );
    let rolled_back = secs(t.elapsed());
    operator.assert_not_denied();

    // Uninstall: the pre-delete hook deletes the resource while the
    // operator still runs; Helm then deletes the operator and its RBAC.
    let t = Instant::now();
    let helm = h.spawn(
        &work.0,
        &cluster.kubeconfig,
        &["uninstall", RELEASE, "-n", ns, "--timeout", "3m"],
    );
    let hook = play_kubelet(
        &cluster,
        ns,
        &format!("{RELEASE}-pre-delete"),
        None,
        &work.0,
    );
    let out = helm.join().unwrap();
    assert!(
        out.success() && hook.exit == 0,
        "helm uninstall failed ({}), the hook said: {}\n{}{}",
        out.describe_status(),
        hook.output,
        out.stdout,
        out.stderr
    );
    assert!(
        get(&cluster, &["-n", ns, "weightsandbiases", RELEASE]).is_none(),
        "the resource is still there"
    );
    let list = h.ok(&work.0, kc, &["list", "-n", ns, "-q"]).stdout;
    assert!(list.trim().is_empty(), "helm still lists a release: {list}");
    // The operator's finalizer and the garbage collector take what the
    // resource owned; data stays.
    let kept: BTreeSet<String> = data.keys().cloned().collect();
    let namespaced: BTreeSet<String> = kinds
        .iter()
        .filter(|k| !k.starts_with("Cluster"))
        .cloned()
        .collect();
    let gc = try_wait_until(Duration::from_secs(120), || {
        let left: Vec<String> = managed(&cluster, ns, &namespaced)
            .into_keys()
            .filter(|k| !kept.contains(k))
            .collect();
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("{} left: {left:?}", left.len()))
        }
    });
    let cleanup = match gc {
        Ok((_, took)) => took,
        Err(last) => {
            let example = last
                .split('"')
                .nth(1)
                .unwrap_or_default()
                .replacen('/', " ", 1);
            let owners = cluster
                .kubectl(
                    &[
                        "-n",
                        ns,
                        "get",
                        &example.replace(' ', "/"),
                        "-o",
                        "jsonpath={.metadata.ownerReferences}",
                    ],
                    None,
                    Duration::from_secs(30),
                )
                .stdout;
            panic!(
                "the install was not removed within 120 s: {last}\n\
                 owners of {example}: {owners}\ngarbage collector log:\n{}",
                gc_log(&cluster)
            );
        }
    };
    for what in [
        format!("deployment/{RELEASE}-operator"),
        format!("serviceaccount/{RELEASE}-operator"),
        format!("role/{RELEASE}-operator"),
        format!("rolebinding/{RELEASE}-operator"),
        format!("serviceaccount/{RELEASE}-pre-delete"),
        format!("serviceaccount/{RELEASE}-test-ready"),
        format!("role/{RELEASE}-test-ready"),
        format!("pod/{RELEASE}-pre-delete"),
        format!("clusterrole/{RELEASE}-operator-{ns}"),
        format!("clusterrolebinding/{RELEASE}-operator-{ns}"),
    ] {
        assert!(
            get(&cluster, &["-n", ns, &what]).is_none(),
            "{what} is still there"
        );
    }
    let after = held(&cluster, ns, true);
    let (problems, _) = compare_held(&data, &after, false);
    assert!(
        problems.is_empty(),
        "after the uninstall:\n{}",
        problems.join("\n")
    );
    let owned: Vec<&String> = data.keys().filter(|k| after[*k].owners > 0).collect();
    assert!(
        owned.is_empty(),
        "still owned (the garbage collector may take them): {owned:?}"
    );
    // Cluster-wide objects of the install go too (the finalizer deletes
    // them: the garbage collector ignores namespaced owners).
    let cluster_kinds: BTreeSet<String> = kinds
        .iter()
        .filter(|k| k.starts_with("Cluster"))
        .cloned()
        .collect();
    let leftovers: Vec<String> = if cluster_kinds.is_empty() {
        Vec::new()
    } else {
        managed(&cluster, ns, &cluster_kinds).into_keys().collect()
    };
    assert!(
        leftovers.is_empty(),
        "cluster-scoped objects of the install outlive `helm uninstall`: {}",
        leftovers.join(", ")
    );
    let cluster_kinds_count = render_base
        .values()
        .filter(|d| d.kind.starts_with("Cluster"))
        .count();
    let uninstalled = secs(t.elapsed());
    drop(operator);

    summary(format!(
        "3 lifecycle {}: installed in {installed_in}, Ready in {installed} ({} objects = render); upgrade in {upgraded_in}: \
         {app} 3/3 replicas, resources {} (size medium), {} objects pruned ({} weave), {} added; \
         rollback in {rolled_back}: 1 replica, resources {}, the {} pruned objects back as new objects; \
         uninstall in {uninstalled} (pre-delete hook `{}` exit 0, all objects gone {} later): resource, operator, \
         its RBAC and every object of the install gone ({} cluster-scoped), {pvcs} PVCs and {generated} generated \
         Secrets kept with the same uids and data, no owner; operator denied nothing; total {}{}",
        h.name(),
        render_base.len(),
        serde_json::to_string(&app_medium[0].1).unwrap(),
        dropped.len(),
        dropped.iter().filter(|k| k.contains("weave")).count(),
        added.len(),
        serde_json::to_string(&app_small[0].1).unwrap(),
        dropped.len(),
        hook.command.join(" "),
        secs(cleanup),
        cluster_kinds_count,
        secs(t0.elapsed()),
        install_note
            .map(|n| format!("; NOTE: {n}"))
            .unwrap_or_default()
    ));
}

// ================================================================ 4. schema

#[test]
fn s4_schema_refuses_a_string_replica_count_and_nothing_is_created() {
    for h in HELMS {
        let t0 = Instant::now();
        let work = WorkDir::new(&format!("chart-schema-{}", h.name()));
        let cluster =
            Cluster::up_with_hook_pods_played_by_the_test(&format!("chart-schema-{}", h.name()));
        let ns = "wandb";
        cluster.restricted_namespace(ns);
        let names = |args: &[&str]| -> BTreeSet<String> {
            cluster
                .kubectl_ok(args, None)
                .lines()
                .map(str::to_string)
                .collect()
        };
        let namespaced = [
            "-n",
            ns,
            "get",
            "all,configmaps,secrets,serviceaccounts,roles,rolebindings,persistentvolumeclaims",
            "-o",
            "name",
        ];
        let cluster_wide = [
            "get",
            "customresourcedefinitions,clusterroles,clusterrolebindings",
            "-o",
            "name",
        ];
        let (ns_before, cluster_before) = (names(&namespaced), names(&cluster_wide));

        let out = h.run(
            &work.0,
            Some(&cluster.kubeconfig),
            &[
                "install",
                RELEASE,
                "./charts/operator-wandb",
                "-n",
                ns,
                "--set",
                HOST,
                "--set",
                LICENSE,
                "--set",
                "app.replicaCount=two",
            ],
        );
        let error = out.stderr.trim().to_string();
        assert!(
            !out.success(),
            "{} install accepted app.replicaCount=two",
            h.name()
        );
        assert!(
            error.contains("values don't meet the specifications of the schema")
                && (error.contains("app.replicaCount") || error.contains("/app/replicaCount")),
            "{}: the error should be the schema's and name app.replicaCount:\n{error}",
            h.name()
        );
        let line = error
            .lines()
            .find(|l| l.contains("replicaCount"))
            .unwrap()
            .trim()
            .to_string();

        let ns_after = names(&namespaced);
        assert_eq!(ns_before, ns_after, "objects appeared in namespace {ns}");
        let list = h
            .ok(
                &work.0,
                Some(&cluster.kubeconfig),
                &[
                    "list",
                    "-n",
                    ns,
                    "-q",
                    "--deployed",
                    "--failed",
                    "--pending",
                    "--superseded",
                    "--uninstalling",
                ],
            )
            .stdout;
        assert!(list.trim().is_empty(), "a release was recorded: {list}");
        let new: Vec<String> = names(&cluster_wide)
            .difference(&cluster_before)
            .cloned()
            .collect();
        // Helm installs a chart's crds/ before it validates the values
        // (both versions): the CRD may appear, nothing else may.
        let crd = "customresourcedefinition.apiextensions.k8s.io/weightsandbiases.apps.wandb.com";
        assert!(
            new.iter().all(|n| n == crd),
            "cluster-wide objects appeared: {new:?}"
        );
        summary(format!(
            "4 schema {}: install refused in {}: \"{line}\"; namespace unchanged ({} objects), no release recorded, \
             no cluster-wide object {}; total {}",
            h.name(),
            secs(out.elapsed),
            ns_after.len(),
            if new.is_empty() {
                "at all".to_string()
            } else {
                "but the chart's CRD, which Helm installs from crds/ before it validates values"
                    .to_string()
            },
            secs(t0.elapsed())
        ));
    }
}

// ================================================================ 5. migration

const UPSTREAM_VALUES: &[&str] = &[
    "--set",
    "mysql.install=true",
    "--set",
    "redis.install=true",
    "--set",
    HOST,
    "--set",
    LICENSE,
];

/// The shell blocks of a guide under docs/, in order.
fn guide_steps(guide: &str) -> Vec<String> {
    let doc = std::fs::read_to_string(repo_root().join("docs").join(guide))
        .unwrap_or_else(|e| panic!("docs/{guide}: {e}"));
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap()),
            (Some(block), l) => {
                block.push_str(l);
                block.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

/// The upstream chart, or `None` (with one line saying what is not
/// tested) when it is not beside the repository: a peer-tier test passes
/// without it.
fn upstream_chart(what: &str) -> Option<PathBuf> {
    wandb_contract::peer::chart_or_skip(&format!("{what} not tested"))
}

/// Installs release `wandb` of the upstream chart with in-cluster MySQL and
/// Redis, and waits until its StatefulSets are ready and its claims bound.
/// Returns how long that took.
fn install_upstream(h: Helm, work: &Path, cluster: &Cluster, ns: &str, chart: &Path) -> String {
    let chart = chart.to_string_lossy();
    let mut args = vec!["install", RELEASE, &chart, "-n", ns];
    args.extend(UPSTREAM_VALUES);
    let t = Instant::now();
    h.ok(work, Some(&cluster.kubeconfig), &args);
    wait_until(
        "the upstream StatefulSets ready",
        Duration::from_secs(120),
        || {
            let sts = items(&get(cluster, &["-n", ns, "statefulsets"]).unwrap());
            let names: Vec<&str> = sts.iter().map(|s| text(s, "/metadata/name")).collect();
            let ready = sts.iter().all(|s| {
                int(s, "/status/readyReplicas")
                    == s.pointer("/spec/replicas")
                        .and_then(Value::as_i64)
                        .unwrap_or(1)
            });
            let claims_bound = items(&get(cluster, &["-n", ns, "persistentvolumeclaims"]).unwrap())
                .iter()
                .all(|c| text(c, "/status/phase") == "Bound");
            if names.contains(&"wandb-mysql")
                && names.contains(&"wandb-redis-master")
                && ready
                && claims_bound
            {
                Ok(())
            } else {
                Err(format!(
                    "StatefulSets {names:?}, all ready: {ready}, claims bound: {claims_bound}"
                ))
            }
        },
    );
    secs(t.elapsed())
}

/// Runs the shell blocks of a guide as a user would: `helm` is this Helm,
/// `kubectl` the cluster's, this chart at `./charts/operator-wandb`.
struct Guide {
    path: String,
    cwd: PathBuf,
    work: PathBuf,
    kubeconfig: PathBuf,
}

impl Guide {
    fn new(h: Helm, work: &Path, cluster: &Cluster) -> Guide {
        let shims = work.join("bin");
        std::fs::create_dir_all(&shims).unwrap();
        std::os::unix::fs::symlink(h.bin(), shims.join("helm")).unwrap();
        std::os::unix::fs::symlink(kubectl_bin(), shims.join("kubectl")).unwrap();
        let cwd = work.join("cwd");
        std::fs::create_dir_all(&cwd).unwrap();
        std::os::unix::fs::symlink(repo_root().join("charts"), cwd.join("charts")).unwrap();
        let path = format!(
            "{}:{}",
            shims.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Guide {
            path,
            cwd,
            work: work.to_path_buf(),
            kubeconfig: cluster.kubeconfig.clone(),
        }
    }

    /// Runs step `i` (from 0), asserting success; returns how long it took.
    fn run(&self, i: usize, step: &str) -> String {
        let mut cmd = Command::new("bash");
        cmd.args(["-euo", "pipefail", "-c", step])
            .current_dir(&self.cwd)
            .env("PATH", &self.path)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HELM_CONFIG_HOME", self.work.join("helm/config"))
            .env("HELM_CACHE_HOME", self.work.join("helm/cache"))
            .env("HELM_DATA_HOME", self.work.join("helm/data"));
        let out = run(cmd, None, Duration::from_secs(300));
        eprintln!(
            "[chart] step {} ({}):\n{}{}",
            i + 1,
            secs(out.elapsed),
            indent(step.trim_end(), "  $ "),
            indent(
                &last_lines(&format!("{}{}", out.stdout, out.stderr), 12),
                "    "
            )
        );
        assert!(
            out.success(),
            "step {} of the guide failed: {}",
            i + 1,
            out.describe_status()
        );
        secs(out.elapsed)
    }
}

#[test]
fn s5_a_release_of_the_upstream_chart_moves_to_this_chart_as_documented() {
    let steps = guide_steps("migrating-from-upstream.md");
    assert!(
        steps.iter().any(|s| s.contains("helm upgrade"))
            && steps.last().is_some_and(|s| s.contains("kubectl wait")),
        "docs/migrating-from-upstream.md: expected ```sh blocks with a `helm upgrade` and a final `kubectl wait`"
    );
    let Some(upstream) = upstream_chart("the move from the upstream chart") else {
        return;
    };
    for h in HELMS {
        migrate(h, &steps, &upstream);
    }
}

fn migrate(h: Helm, steps: &[String], upstream: &Path) {
    let t0 = Instant::now();
    let ns = "wandb";
    let work = WorkDir::new(&format!("chart-migrate-{}", h.name()));
    let cluster =
        Cluster::up_with_hook_pods_played_by_the_test(&format!("chart-migrate-{}", h.name()));
    let kc = Some(cluster.kubeconfig.as_path());
    cluster.kubectl_ok(&["create", "namespace", ns], None);
    let upstream_ready = install_upstream(h, &work.0, &cluster, ns, upstream);
    let before = held(&cluster, ns, false);
    let old_sts: BTreeMap<String, String> =
        items(&get(&cluster, &["-n", ns, "statefulsets"]).unwrap())
            .iter()
            .map(|s| {
                (
                    text(s, "/metadata/name").to_string(),
                    text(s, "/metadata/uid").to_string(),
                )
            })
            .collect();
    print_held(&format!("{} recorded before the move", h.name()), &before);

    // The documented steps, verbatim, with `helm` being this Helm. The
    // operator, which the chart runs as a Deployment, runs from the host
    // as soon as the release is switched.
    let guide = Guide::new(h, &work.0, &cluster);
    let mut operator = None;
    let mut step_times = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        step_times.push(guide.run(i, step));
        if step.contains("helm upgrade") {
            operator = Some(OperatorRun::start(&cluster, ns, &work.0));
        }
    }
    let operator = operator.expect("no step switched the release");
    let (generation, _) = wait_ready(&cluster, ns);

    // Nothing lost.
    let after = held(&cluster, ns, false);
    let (problems, filled) = compare_held(&before, &after, true);
    assert!(
        problems.is_empty(),
        "the move lost or changed data:\n{}",
        problems.join("\n")
    );
    let identical = before
        .iter()
        .filter(|(k, b)| after[*k].data == b.data)
        .count();
    let secrets = before.values().filter(|d| d.kind == "Secret").count();
    let claims = before
        .values()
        .filter(|d| d.kind == "PersistentVolumeClaim")
        .count();
    let new_claims: Vec<&String> = after
        .keys()
        .filter(|k| k.starts_with("Persistent") && !before.contains_key(*k))
        .collect();

    // Our StatefulSets are new objects and claim the same volumes.
    let sts = |name: &str| get(&cluster, &["-n", ns, "statefulset", name]).unwrap();
    let mysql = sts("wandb-mysql");
    let redis = sts("wandb-redis-master");
    for s in [&mysql, &redis] {
        let name = text(s, "/metadata/name");
        assert_ne!(
            text(s, "/metadata/uid"),
            old_sts[name],
            "{name} is still the upstream chart's"
        );
        assert_eq!(
            text(s, "/metadata/labels/apps.wandb.com~1instance"),
            RELEASE,
            "{name} is not the operator's"
        );
    }
    let claim_names = |pod: &Value| -> Vec<String> {
        pod["spec"]["volumes"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|v| text(v, "/persistentVolumeClaim/claimName").to_string())
            .filter(|c| !c.is_empty())
            .collect()
    };
    assert!(
        claim_names(&mysql["spec"]["template"]).contains(&"wandb-mysql-data".to_string()),
        "wandb-mysql does not use the PVC wandb-mysql-data"
    );
    let templates: Vec<&str> = redis["spec"]["volumeClaimTemplates"]
        .as_array()
        .map(|a| a.iter().map(|t| text(t, "/metadata/name")).collect())
        .unwrap_or_default();
    assert!(
        templates.contains(&"redis-data"),
        "wandb-redis-master has no claim template redis-data: {templates:?}"
    );
    for (pod, claim) in [
        ("wandb-mysql-0", "wandb-mysql-data"),
        ("wandb-redis-master-0", "redis-data-wandb-redis-master-0"),
    ] {
        let p = get(&cluster, &["-n", ns, "pod", pod])
            .unwrap_or_else(|| panic!("pod {pod} is missing"));
        assert!(
            claim_names(&p).contains(&claim.to_string()),
            "{pod} does not mount {claim}"
        );
        let key = format!("PersistentVolumeClaim/{claim}");
        assert_eq!(after[&key].uid, before[&key].uid);
    }
    let workloads = settled_workloads(&cluster, ns);
    let (refs, missing) = missing_references(&cluster, ns);
    assert!(
        missing.is_empty(),
        "pods need what is not there:\n{}",
        missing.join("\n")
    );
    let history = h.ok(&work.0, kc, &["history", RELEASE, "-n", ns]).stdout;
    assert!(
        history
            .lines()
            .last()
            .is_some_and(|l| l.contains("deployed") && l.contains("operator-wandb-0.1.0")),
        "the release is not on this chart:\n{history}"
    );
    operator.assert_not_denied();
    drop(operator);

    summary(format!(
        "5 migration {}: upstream 0.43.8 StatefulSets ready in {upstream_ready}; {} guide steps ({}); \
         Ready (generation {generation}): {workloads}; all {claims} PVCs and {secrets} Secrets kept with \
         their uids, {identical} of {} byte-identical (sha256), the rest only gained values where upstream \
         had none ({}); wandb-mysql mounts wandb-mysql-data and wandb-redis-master-0 mounts \
         redis-data-wandb-redis-master-0, same uids, StatefulSets recreated by the operator; {} new PVCs for \
         stores upstream did not run; {refs} pod references present; operator denied nothing; total {}",
        h.name(),
        steps.len(),
        step_times.join(", "),
        before.len(),
        if filled.is_empty() {
            "none".to_string()
        } else {
            filled.join(", ")
        },
        new_claims.len(),
        secs(t0.elapsed())
    ));
}

// ================================================================ 6. W&B's Go operator v1

/// The finalizer W&B's Go operator v1 keeps on the resource.
const V1_FINALIZER: &str = "finalizer.app.wandb.com";

/// The state W&B's Go operator v1.22 leaves, made as it makes it: its CRD,
/// the upstream chart installed with Helm as a release named after the
/// resource, the resource with `spec.chart`, v1's finalizer and
/// `status.phase`, and v1's two copies of the spec. One Secret of the
/// install, `wandb-mysql`, is made by hand instead, without our labels and
/// without its root password. Then docs/migrating-from-w-and-b-operator.md,
/// step by step.
#[test]
fn s6_an_install_of_w_and_b_s_go_operator_is_taken_over_as_documented() {
    let Some(upstream) = upstream_chart("v1 takeover") else {
        return;
    };
    let steps = guide_steps("migrating-from-w-and-b-operator.md");
    assert!(
        steps.len() == 3
            && steps[0].contains("createResource=false")
            && steps[1].contains("kubectl wait")
            && steps[2].contains("remove-v1-leftovers"),
        "docs/migrating-from-w-and-b-operator.md: expected ```sh blocks for the CRD and operator, \
         the wait, the leftovers: {steps:?}"
    );
    let t0 = Instant::now();
    // v1 embeds Helm 3.
    let h = Helm::V3;
    let ns = "wandb";
    let work = WorkDir::new("chart-v1-takeover");
    let cluster = Cluster::up_with_hook_pods_played_by_the_test("chart-v1-takeover");
    cluster.kubectl_ok(&["create", "namespace", ns], None);
    let v1_crd = wandb_e2e::fixture("v1-crd.yaml");
    cluster.kubectl_ok(&["create", "-f", &v1_crd.to_string_lossy()], None);
    cluster.wait_established("crd/weightsandbiases.apps.wandb.com");
    let upstream_ready = install_upstream(h, &work.0, &cluster, ns, &upstream);

    // A Secret of the install made by hand: a password of one's own, no
    // root password, no labels.
    let own_password = "aGFuZC1tYWRlLXBhc3N3b3Jk";
    kubectl(&cluster, &["-n", ns, "delete", "secret", "wandb-mysql"]);
    let hand_made = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "wandb-mysql", "namespace": ns},
        "data": {"MYSQL_PASSWORD": own_password},
    });
    cluster.kubectl_ok(&["create", "-f", "-"], Some(&hand_made.to_string()));

    // The resource as v1 keeps it, and v1's copies of its spec.
    let values = json!({
        "global": {"host": "https://wandb.example.com", "license": "your-license-key"},
        "mysql": {"install": true},
        "redis": {"install": true},
    });
    let resource = json!({
        "apiVersion": "apps.wandb.com/v1", "kind": "WeightsAndBiases",
        "metadata": {"name": RELEASE, "namespace": ns, "finalizers": [V1_FINALIZER]},
        "spec": {
            "chart": {"url": "https://charts.wandb.ai", "name": "operator-wandb", "version": "0.43.8"},
            "values": values,
        },
    });
    cluster.kubectl_ok(&["create", "-f", "-"], Some(&resource.to_string()));
    for copy in ["spec-active", "spec-user"] {
        let secret = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": format!("{RELEASE}-{copy}"), "namespace": ns},
            "stringData": {"spec": json!({"values": values}).to_string()},
        });
        cluster.kubectl_ok(&["create", "-f", "-"], Some(&secret.to_string()));
    }
    cluster.kubectl_ok(
        &[
            "-n",
            ns,
            "patch",
            "weightsandbiases",
            RELEASE,
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"phase":"Completed"}}"#,
        ],
        None,
    );
    let release_record = format!("sh.helm.release.v1.{RELEASE}.v1");
    assert!(get(&cluster, &["-n", ns, "secret", &release_record]).is_some());
    let before = held(&cluster, ns, false);
    print_held("recorded before the takeover", &before);

    // Our CRD over v1's and our operator (the chart's Deployment runs from
    // the host, as the chart's ServiceAccount), then Ready.
    let guide = Guide::new(h, &work.0, &cluster);
    let mut step_times = vec![guide.run(0, &steps[0])];
    let w = get(&cluster, &["-n", ns, "weightsandbiases", RELEASE]).unwrap();
    assert_eq!(
        text(&w, "/status/phase"),
        "Completed",
        "our CRD dropped v1's status.phase"
    );
    assert_eq!(
        text(&w, "/spec/chart/version"),
        "0.43.8",
        "our CRD dropped spec.chart"
    );
    let operator = OperatorRun::start_as(&cluster, ns, &work.0, "wandb-operator-operator");
    step_times.push(guide.run(1, &steps[1]));
    let (generation, _) = wait_ready(&cluster, ns);

    // v1's finalizer is gone, and an Event says why.
    let w = get(&cluster, &["-n", ns, "weightsandbiases", RELEASE]).unwrap();
    let finalizers: Vec<&str> = w["metadata"]["finalizers"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(finalizers, ["apps.wandb.com/retention"]);
    let events = wandb_e2e::resource_events(&cluster, ns);
    let notes = |reason: &str| -> Vec<String> {
        events
            .iter()
            .filter(|(_, r, _, _)| r == reason)
            .map(|(_, _, note, _)| note.clone())
            .collect()
    };
    assert!(
        notes("TookOverFromV1")
            .iter()
            .any(|n| n.contains(V1_FINALIZER)),
        "no TookOverFromV1 event naming the finalizer: {events:?}"
    );
    let warnings = w
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["type"] == "ValuesWarnings"))
        .map(|c| text(c, "/message").to_string())
        .unwrap_or_default();
    assert!(
        warnings.contains("spec.chart"),
        "spec.chart not warned of: {warnings}"
    );

    // Every Secret and PVC kept with its uid and every value it had; only
    // keys that had none were added, each told by a Warning Event.
    let after = held(&cluster, ns, false);
    let filled = assert_kept("the takeover", &before, &after, true);
    let told: BTreeSet<String> = notes("SecretKeyGenerated")
        .iter()
        .filter_map(|n| n.split(" had no value").next())
        .map(str::to_string)
        .collect();
    assert!(
        told.contains("Secret/wandb-mysql: MYSQL_ROOT_PASSWORD"),
        "the key added to the hand-made Secret was not told: {told:?}"
    );
    for t in &told {
        assert!(
            filled.iter().any(|f| f.starts_with(t.as_str())),
            "{t} was told but not added: filled {filled:?}"
        );
    }
    assert_eq!(
        after["Secret/wandb-mysql"]
            .data
            .get("MYSQL_PASSWORD")
            .map(String::as_str),
        Some(own_password),
        "the hand-made password was replaced"
    );
    let identical = before
        .iter()
        .filter(|(k, b)| after[*k].data == b.data)
        .count();
    let replaced = notes("Replacing")
        .iter()
        .filter_map(|n| n.split(':').next().map(str::to_string))
        .collect::<BTreeSet<_>>();
    let workloads = settled_workloads(&cluster, ns);
    operator.assert_not_denied();

    // v1's leftovers, when asked; nothing else.
    step_times.push(guide.run(2, &steps[2]));
    let (_, cleaned_in) = wait_until("v1's leftovers removed", Duration::from_secs(60), || {
        let w = get(&cluster, &["-n", ns, "weightsandbiases", RELEASE]).unwrap();
        let left: Vec<String> = [
            release_record.clone(),
            format!("{RELEASE}-spec-active"),
            format!("{RELEASE}-spec-user"),
        ]
        .into_iter()
        .filter(|s| get(&cluster, &["-n", ns, "secret", s]).is_some())
        .chain(
            w.pointer("/status/phase")
                .map(|_| "status.phase".to_string()),
        )
        .collect();
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("still there: {left:?}"))
        }
    });
    let cleaned = held(&cluster, ns, false);
    let leftovers: Vec<&String> = before.keys().filter(|k| k.contains("-spec-")).collect();
    let mut expected_after = after.clone();
    for k in &leftovers {
        expected_after.remove(*k);
    }
    assert_kept("removing the leftovers", &expected_after, &cleaned, false);
    assert!(is_ready(&cluster, ns), "not Ready after the leftovers went");

    // Deleting the resource completes; the data stays, as the retention
    // policy says by default.
    let kept = held(&cluster, ns, true);
    let t = Instant::now();
    let out = kubectl(
        &cluster,
        &[
            "-n",
            ns,
            "delete",
            "weightsandbiases",
            RELEASE,
            "--wait",
            "--timeout=120s",
        ],
    );
    assert!(
        out.success(),
        "deleting the resource: {}\n{}",
        out.describe_status(),
        out.stderr
    );
    let deleted_in = secs(t.elapsed());
    assert!(get(&cluster, &["-n", ns, "weightsandbiases", RELEASE]).is_none());
    assert_kept(
        "deleting the resource",
        &kept,
        &held(&cluster, ns, true),
        false,
    );
    operator.assert_not_denied();
    drop(operator);

    let secrets = before.values().filter(|d| d.kind == "Secret").count();
    let claims = before.len() - secrets;
    summary(format!(
        "6 v1 takeover helm3: upstream 0.43.8 ready in {upstream_ready}; guide steps ({}); Ready \
         (generation {generation}): {workloads}; all {claims} PVCs and {secrets} Secrets kept with their \
         uids, {identical} of {} byte-identical, the rest only gained keys that had no value ({}); \
         SecretKeyGenerated for {}; recreated: {}; v1's finalizer removed; leftovers removed in {}; \
         deleted in {deleted_in}, {} PVCs and generated Secrets kept; operator denied nothing; total {}",
        step_times.join(", "),
        before.len(),
        filled.join(", "),
        told.iter().cloned().collect::<Vec<_>>().join(", "),
        replaced.iter().cloned().collect::<Vec<_>>().join(", "),
        secs(cleaned_in),
        kept.len(),
        secs(t0.elapsed())
    ));
}

// ================================================================ helpers' own tests

#[test]
fn helpers_work() {
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        sha256_hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        sha256_hex(&[b'a'; 1000]),
        "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
    );
    assert_eq!(
        plain("\u{1b}[2m2026\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m x"),
        "2026  INFO x"
    );
    let ts = now_rfc3339();
    assert_eq!(ts.len(), 20, "{ts}");
    let h = |data: &[(&str, &str)], uid: &str| Held {
        kind: "Secret".into(),
        name: "s".into(),
        uid: uid.into(),
        data: data
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        owners: 0,
    };
    let before = BTreeMap::from([("Secret/s".to_string(), h(&[("A", "eA=="), ("B", "")], "1"))]);
    let filled = BTreeMap::from([(
        "Secret/s".to_string(),
        h(&[("A", "eA=="), ("B", "eQ=="), ("C", "eg==")], "1"),
    )]);
    assert_eq!(compare_held(&before, &before, false), (vec![], vec![]));
    let (p, f) = compare_held(&before, &filled, true);
    assert!(p.is_empty());
    assert_eq!(f, ["Secret/s: B", "Secret/s: C (new)"]);
    let (p, _) = compare_held(&before, &filled, false);
    assert_eq!(p.len(), 2);
    let changed = BTreeMap::from([("Secret/s".to_string(), h(&[("A", "eQ=="), ("B", "")], "2"))]);
    let (p, _) = compare_held(&before, &changed, true);
    assert_eq!(
        p,
        ["Secret/s was recreated (uid 1 -> 2)", "Secret/s: A changed"]
    );
    assert!(compare_held(&before, &BTreeMap::new(), true).0[0].contains("deleted"));
}
