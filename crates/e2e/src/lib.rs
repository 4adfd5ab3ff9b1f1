//! Helpers for the end-to-end tests (see tests/).
//!
//! The tests drive real tools as subprocesses: `hack/cluster` for a local
//! control plane (see hack/README.md), `kubectl` from its cache, and the
//! `wandb-operator` binary for renders. Every subprocess gets a timeout.
//!
//! - [`Cluster::up`] starts one cluster for a test and takes it down again
//!   when the guard is dropped, which also happens when the test panics; a
//!   watchdog process takes it down should the test process die without
//!   unwinding (SIGKILL, Ctrl-C).
//! - [`operator_binary`], [`render`] and [`reference_cases`] find and run
//!   the renderer and the upstream reference cases.
//! - [`run`] runs any command with a timeout and collects its output.
//! - [`Operator`] runs `wandb-operator run` against a cluster, logging to a
//!   file, and stops it when dropped (printing its log's tail if the test
//!   failed); [`Metrics`] reads its /metrics; [`wait_for`] polls a
//!   condition with a deadline.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

/// How long a plain kubectl call may take.
pub const KUBECTL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `hack/cluster up` may take. It runs `hack/cluster install`
/// first, which builds the control plane on a fresh machine (~5 min).
pub const CLUSTER_UP_TIMEOUT: Duration = Duration::from_secs(1200);
/// How long `hack/cluster down` may take (15 s of SIGTERM grace per process).
pub const CLUSTER_DOWN_TIMEOUT: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------- paths

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize()
        .unwrap_or_else(|e| panic!("repository root {}: {e}", root.display()))
}

/// A file under crates/e2e/fixtures/.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// hack/cluster's cache, as it computes it.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os("WANDB_OPERATOR_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => {
            let home = std::env::var_os("HOME").expect("HOME is not set");
            PathBuf::from(home).join(".cache/wandb-operator")
        }
    }
}

/// The `wandb-operator` binary: `$WANDB_OPERATOR_BIN` if set, else
/// target/release/wandb-operator, which `cargo build` brings up to date
/// first (once per test process; a no-op when nothing changed).
pub fn operator_binary() -> PathBuf {
    let bin = operator_binary_quiet();
    let age = std::fs::metadata(&bin)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .map(|d| format!(", built {} min ago", d.as_secs() / 60))
        .unwrap_or_default();
    eprintln!("[e2e] using {}{age}", bin.display());
    bin
}

fn locate_or_build_operator() -> PathBuf {
    if let Some(bin) = std::env::var_os("WANDB_OPERATOR_BIN") {
        let bin = PathBuf::from(bin);
        assert!(
            bin.is_file(),
            "WANDB_OPERATOR_BIN={} is not a file",
            bin.display()
        );
        return bin;
    }
    let root = repo_root();
    let bin = root.join("target/release/wandb-operator");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "-p", "wandb-operator"])
        .current_dir(&root);
    let out = run(cmd, None, Duration::from_secs(1800));
    assert!(
        out.success() && bin.is_file(),
        "building wandb-operator failed ({}):\n{}",
        out.describe_status(),
        out.stderr
    );
    bin
}

/// A values file to test with: one of the project's own fixtures
/// (`fixtures/values/NAME.yaml`) or an upstream reference case.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub values: PathBuf,
}

/// The project's own values fixtures, and every upstream reference case
/// when the peer tier's material is beside the repository (else one
/// `skipped:` line says so); sorted by name.
pub fn reference_cases() -> Vec<Case> {
    let dir = repo_root().join("fixtures/values");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("values fixtures in {}: {e}", dir.display()));
    let mut cases: Vec<Case> = entries
        .filter_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_name()?.to_str()?.strip_suffix(".yaml")?;
            Some(Case {
                name: format!("fixture-{name}"),
                values: path,
            })
        })
        .collect();
    assert!(!cases.is_empty(), "no values fixtures in {}", dir.display());
    if let Some(shared) = wandb_contract::peer::Shared::or_skip("upstream cases not tested here") {
        cases.extend(shared.cases().into_iter().map(|c| Case {
            name: c.name,
            values: c.values,
        }));
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// The output of `wandb-operator render`.
pub struct Render {
    /// Multi-document YAML.
    pub yaml: String,
    /// What the renderer reported on stderr (warnings about values).
    pub stderr: String,
}

impl Render {
    /// The documents of the render (split at `---` lines), leaving out those
    /// that hold only comments.
    pub fn documents(&self) -> Vec<Document> {
        split_documents(&self.yaml)
    }
}

/// Runs `wandb-operator render ARGS...`; panics if it fails.
pub fn render(bin: &Path, args: &[&str]) -> Render {
    let mut cmd = Command::new(bin);
    cmd.arg("render").args(args);
    let out = run(cmd, None, Duration::from_secs(60));
    assert!(
        out.success(),
        "`wandb-operator render {}` failed ({}):\n{}",
        args.join(" "),
        out.describe_status(),
        out.stderr
    );
    Render {
        yaml: out.stdout,
        stderr: out.stderr,
    }
}

/// One YAML document of a render, with its kind and name read off its
/// top-level `kind:` and `metadata.name` lines (enough for rendered output,
/// which is block style with two-space indentation).
#[derive(Clone, Debug)]
pub struct Document {
    pub kind: String,
    pub name: String,
    pub yaml: String,
}

impl Document {
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

/// Splits multi-document YAML at lines that are exactly `---`.
pub fn split_documents(yaml: &str) -> Vec<Document> {
    let mut docs = Vec::new();
    let mut current = String::new();
    let mut flush = |text: &mut String| {
        let doc = std::mem::take(text);
        let has_content = doc
            .lines()
            .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
        if has_content {
            let kind = top_level(&doc, "kind").unwrap_or_default();
            let name = metadata_name(&doc).unwrap_or_default();
            docs.push(Document {
                kind,
                name,
                yaml: doc,
            });
        }
    };
    for line in yaml.lines() {
        if line.trim_end() == "---" {
            flush(&mut current);
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    flush(&mut current);
    docs
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches('"').trim_matches('\'').to_string()
}

fn top_level(doc: &str, key: &str) -> Option<String> {
    let prefix = format!("{key}:");
    doc.lines()
        .find_map(|l| l.strip_prefix(&prefix).map(unquote))
}

fn metadata_name(doc: &str) -> Option<String> {
    let mut in_metadata = false;
    for line in doc.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() && !line.starts_with('#') {
            in_metadata = line.trim_end() == "metadata:";
            continue;
        }
        if in_metadata && let Some(name) = line.strip_prefix("  name:") {
            return Some(unquote(name));
        }
    }
    None
}

// ---------------------------------------------------------------- processes

/// What a command did.
#[derive(Debug)]
pub struct Output {
    /// None if it was killed at its timeout.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// The command line, for messages.
    pub command: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    pub fn timed_out(&self) -> bool {
        self.status.is_none()
    }

    /// "exit status: 1", "timed out after 60 s", ...
    pub fn describe_status(&self) -> String {
        match self.status {
            Some(s) => format!("`{}`: {s}", self.command),
            None => format!(
                "`{}`: timed out after {:.0} s and was killed",
                self.command,
                self.elapsed.as_secs_f64()
            ),
        }
    }
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

type Buffer = Arc<Mutex<Vec<u8>>>;

fn reader(mut from: impl Read + Send + 'static) -> (Buffer, JoinHandle<()>) {
    let buf: Buffer = Arc::default();
    let sink = buf.clone();
    let handle = thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n) = from.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    (buf, handle)
}

fn take(buf: &Buffer) -> String {
    String::from_utf8_lossy(&std::mem::take(&mut *buf.lock().unwrap())).into_owned()
}

/// Runs `cmd` with `stdin` as its input, killing it after `timeout`.
pub fn run(cmd: Command, stdin: Option<&[u8]>, timeout: Duration) -> Output {
    spawn_and_wait(cmd, stdin, timeout, false)
}

/// Like [`run`], with stdout and stderr sent into one pipe so that their
/// lines keep the order in which the command wrote them; all of it is in
/// `stdout`, `stderr` is empty.
pub fn run_merged(cmd: Command, stdin: Option<&[u8]>, timeout: Duration) -> Output {
    spawn_and_wait(cmd, stdin, timeout, true)
}

fn spawn_and_wait(
    mut cmd: Command,
    stdin: Option<&[u8]>,
    timeout: Duration,
    merged: bool,
) -> Output {
    let command = describe(&cmd);
    let start = Instant::now();
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut merged_reader = None;
    if merged {
        let (r, w) = std::io::pipe().expect("pipe");
        cmd.stdout(w.try_clone().expect("pipe"));
        cmd.stderr(w);
        merged_reader = Some(r);
    } else {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{command}`: {e}"));
    // The Command holds the write end of the merged pipe: drop it, or the
    // reader never sees the end of the output.
    drop(cmd);
    let mut readers = Vec::new();
    let (out, err) = if let Some(r) = merged_reader {
        let (out, h) = reader(r);
        readers.push(h);
        (out, Arc::default())
    } else {
        let (out, h1) = reader(child.stdout.take().unwrap());
        let (err, h2) = reader(child.stderr.take().unwrap());
        readers.extend([h1, h2]);
        (out, err)
    };
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let input = input.to_vec();
        // A writer thread: the child may fill its output pipes before it
        // has read all its input. A child that exits early breaks the pipe,
        // which is fine.
        readers.push(thread::spawn(move || {
            let _ = pipe.write_all(&input);
        }));
    }
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for `{command}`: {e}"),
        }
    };
    // Give the readers a moment to drain the pipes, but do not hang on a
    // grandchild that keeps them open.
    let drain = Instant::now();
    while readers.iter().any(|h| !h.is_finished()) && drain.elapsed() < Duration::from_secs(5) {
        thread::sleep(Duration::from_millis(10));
    }
    for h in readers {
        if h.is_finished() {
            let _ = h.join();
        }
    }
    Output {
        status,
        stdout: take(&out),
        stderr: take(&err),
        elapsed: start.elapsed(),
        command,
    }
}

// ---------------------------------------------------------------- cluster

/// A cluster started with `hack/cluster up` for one test; dropping it runs
/// `hack/cluster down`.
pub struct Cluster {
    pub name: String,
    pub kubeconfig: PathBuf,
    kubectl: PathBuf,
    script: PathBuf,
    watchdog: Option<Child>,
}

impl Cluster {
    /// Starts cluster `<prefix>-<pid>` and waits until it is ready. The
    /// returned guard takes it down when dropped (also while a failing test
    /// unwinds). Panics if the cluster does not come up (after taking down
    /// what was started).
    pub fn up(prefix: &str) -> Cluster {
        let name = format!("{prefix}-{}", std::process::id());
        let script = repo_root().join("hack/cluster");
        let mut cluster = Cluster {
            kubeconfig: PathBuf::new(),
            kubectl: cache_dir().join("bin/kubectl"),
            watchdog: None,
            name,
            script,
        };
        cluster.watchdog = cluster.start_watchdog();
        eprintln!("[e2e] starting cluster '{}'", cluster.name);
        let mut cmd = Command::new(&cluster.script);
        cmd.args(["up", &cluster.name]);
        // From here on, a panic drops `cluster`, which runs `down`.
        let out = run(cmd, None, CLUSTER_UP_TIMEOUT);
        assert!(
            out.success(),
            "cluster '{}' did not come up ({}):\n{}",
            cluster.name,
            out.describe_status(),
            out.stderr
        );
        let kubeconfig = out.stdout.lines().last().unwrap_or_default().trim();
        cluster.kubeconfig = PathBuf::from(kubeconfig);
        assert!(
            cluster.kubeconfig.is_file(),
            "`hack/cluster up` printed no kubeconfig path as its last line:\n{}",
            out.stdout
        );
        assert!(
            cluster.kubectl.is_file(),
            "kubectl is not at {} after `hack/cluster up`",
            cluster.kubectl.display()
        );
        eprintln!(
            "[e2e] cluster '{}' is up in {:.1} s; KUBECONFIG={}",
            cluster.name,
            out.elapsed.as_secs_f64(),
            cluster.kubeconfig.display()
        );
        cluster
    }

    /// A process in its own process group (so Ctrl-C in the terminal does
    /// not reach it) that waits for this test process to end and then takes
    /// the cluster down: the safety net for when Drop does not run.
    fn start_watchdog(&self) -> Option<Child> {
        let script = r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" down "$3""#;
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script, "e2e-watchdog"])
            .arg(std::process::id().to_string())
            .arg(&self.script)
            .arg(&self.name)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        match cmd.spawn() {
            Ok(child) => Some(child),
            Err(e) => {
                eprintln!("[e2e] no watchdog for cluster '{}': {e}", self.name);
                None
            }
        }
    }

    /// Runs kubectl against this cluster with a timeout (also passed on as
    /// `--request-timeout`).
    pub fn kubectl(&self, args: &[&str], stdin: Option<&str>, timeout: Duration) -> Output {
        run(
            self.kubectl_cmd(args, timeout),
            stdin.map(str::as_bytes),
            timeout,
        )
    }

    /// [`Cluster::kubectl`] with stdout and stderr in one stream, in order.
    pub fn kubectl_merged(&self, args: &[&str], stdin: Option<&str>, timeout: Duration) -> Output {
        run_merged(
            self.kubectl_cmd(args, timeout),
            stdin.map(str::as_bytes),
            timeout,
        )
    }

    /// Runs kubectl and returns its stdout; panics with its stderr if it fails.
    pub fn kubectl_ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.kubectl(args, stdin, KUBECTL_TIMEOUT);
        assert!(
            out.success(),
            "{} failed:\n{}{}",
            out.describe_status(),
            out.stderr,
            out.stdout
        );
        out.stdout
    }

    /// `kubectl get ... -o json`, parsed.
    pub fn get_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend(["-o", "json", "--show-managed-fields"]);
        let out = self.kubectl_ok(&all, None);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("`kubectl {}` printed no JSON: {e}", all.join(" ")))
    }

    fn kubectl_cmd(&self, args: &[&str], timeout: Duration) -> Command {
        let mut cmd = Command::new(&self.kubectl);
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg(format!("--request-timeout={}s", timeout.as_secs().max(1)))
            .args(args);
        cmd
    }

    /// Installs the CRDs in a fixture file and waits until all are Established.
    pub fn install_crds(&self, file: &Path) {
        let yaml =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let names: Vec<String> = split_documents(&yaml)
            .into_iter()
            .filter(|d| d.kind == "CustomResourceDefinition")
            .map(|d| format!("crd/{}", d.name))
            .collect();
        self.kubectl_ok(&["apply", "--server-side", "-f", "-"], Some(&yaml));
        let mut args = vec!["wait", "--for=condition=Established", "--timeout=60s"];
        args.extend(names.iter().map(String::as_str));
        let out = self.kubectl(&args, None, Duration::from_secs(75));
        assert!(
            out.success(),
            "CRDs not Established ({}):\n{}{}",
            out.describe_status(),
            out.stdout,
            out.stderr
        );
        eprintln!("[e2e] CRDs Established: {}", names.join(", "));
    }

    /// Creates namespace `ns` with PodSecurity `restricted` enforced and
    /// warned about, and waits for its `default` ServiceAccount (the
    /// ServiceAccount admission plugin rejects pods until it exists).
    pub fn restricted_namespace(&self, ns: &str) {
        let manifest = format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels:\n    \
             pod-security.kubernetes.io/enforce: restricted\n    \
             pod-security.kubernetes.io/warn: restricted\n"
        );
        self.kubectl_ok(&["apply", "--server-side", "-f", "-"], Some(&manifest));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = self.kubectl(
                &["-n", ns, "get", "serviceaccount", "default", "-o", "name"],
                None,
                Duration::from_secs(10),
            );
            if out.success() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "namespace {ns}: ServiceAccount default not created within 60 s: {}",
                out.stderr
            );
            thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        eprintln!("[e2e] taking down cluster '{}'", self.name);
        let mut cmd = Command::new(&self.script);
        cmd.args(["down", &self.name]);
        let out = run(cmd, None, CLUSTER_DOWN_TIMEOUT);
        // No panic here: Drop may run while a failed test unwinds.
        if out.success() {
            eprintln!(
                "[e2e] cluster '{}' is down ({:.1} s)",
                self.name,
                out.elapsed.as_secs_f64()
            );
            if let Some(mut w) = self.watchdog.take() {
                let _ = w.kill();
                let _ = w.wait();
            }
        } else {
            // The watchdog stays and tries again once this process exits.
            eprintln!(
                "[e2e] ERROR: taking down cluster '{}' failed ({}):\n{}",
                self.name,
                out.describe_status(),
                out.stderr
            );
        }
    }
}

// ---------------------------------------------------------------- reports

/// Prints the lines of `text` indented, for failure output.
pub fn indent(text: &str, by: &str) -> String {
    text.lines()
        .map(|l| format!("{by}{l}\n"))
        .collect::<String>()
}

/// Counts of items by a key, for summaries.
pub fn tally<'a>(items: impl IntoIterator<Item = &'a str>) -> BTreeMap<&'a str, usize> {
    let mut m = BTreeMap::new();
    for i in items {
        *m.entry(i).or_insert(0) += 1;
    }
    m
}

// ---------------------------------------------------------------- waiting

/// Calls `check` every `every` until it returns `Ok`, and returns its value
/// and how long that took. Panics after `timeout` with the last `Err`,
/// which should say what was seen.
#[track_caller]
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> (T, Duration) {
    let start = Instant::now();
    loop {
        match check() {
            Ok(v) => return (v, start.elapsed()),
            Err(last) if start.elapsed() >= timeout => panic!(
                "{what}: not within {:.0} s; last seen: {last}",
                timeout.as_secs_f64()
            ),
            Err(_) => thread::sleep(every),
        }
    }
}

// ---------------------------------------------------------------- operator

/// A free TCP port on 127.0.0.1 (free when asked; good enough for tests).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// A plain HTTP/1.0 GET on 127.0.0.1: the status code and the body.
pub fn http_get(port: u16, path: &str) -> Result<(u16, String), String> {
    use std::net::{SocketAddr, TcpStream};
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("connecting to {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .and_then(|_| stream.set_write_timeout(Some(Duration::from_secs(10))))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    )
    .map_err(|e| format!("GET {path}: {e}"))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| format!("GET {path}: {e}"))?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("GET {path}: no HTTP response: {response:?}"))?;
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("GET {path}: bad status line in {head:?}"))?;
    Ok((code, body.to_string()))
}

/// Prometheus text exposition, as `/metrics` serves it.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    pub text: String,
}

impl Metrics {
    /// The samples of metric `name` (exactly) with their labels.
    pub fn samples(&self, name: &str) -> Vec<(BTreeMap<String, String>, f64)> {
        let mut out = Vec::new();
        for line in self.text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (series, value) = match line.rsplit_once(' ') {
                Some(p) => p,
                None => continue,
            };
            let (metric, labels) = match series.split_once('{') {
                Some((m, rest)) => (m, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            if metric != name {
                continue;
            }
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let labels = labels
                .split(',')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
                .collect();
            out.push((labels, value));
        }
        out
    }

    /// The sum of the samples of `name` whose labels include `labels`;
    /// `None` when there is no such sample.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let matching: Vec<f64> = self
            .samples(name)
            .into_iter()
            .filter(|(l, _)| {
                labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, v)| v)
            .collect();
        (!matching.is_empty()).then(|| matching.iter().sum())
    }

    /// Like [`Metrics::value`], 0 when absent.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels).unwrap_or(0.0)
    }
}

/// `wandb-operator run` as a subprocess against a test cluster, with its
/// log in a file. Dropping it stops it (SIGTERM, then SIGKILL), also while a
/// failing test unwinds, and then prints the tail of its log; a watchdog
/// kills it should the test process die without unwinding.
pub struct Operator {
    /// The leader-election identity (`POD_NAME`).
    pub identity: String,
    /// Port of /metrics, /healthz and /readyz on 127.0.0.1.
    pub port: u16,
    /// Its stdout and stderr.
    pub log: PathBuf,
    child: Option<Child>,
    watchdog: Option<Child>,
    exit: Option<ExitStatus>,
}

impl Operator {
    /// Starts `wandb-operator run --namespace NAMESPACE --lease-namespace
    /// NAMESPACE` with identity `identity`, logging (text, debug for the
    /// operator's own modules) to `<log_dir>/<identity>.log`.
    pub fn start(cluster: &Cluster, namespace: &str, identity: &str, log_dir: &Path) -> Operator {
        // Says which binary it runs (the first time it builds it).
        operator_binary();
        let log = log_dir.join(format!("{identity}.log"));
        let _ = std::fs::remove_file(&log);
        let scope = ["--namespace", namespace, "--lease-namespace", namespace];
        Operator::start_with(cluster, &scope, identity, &log)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process still runs (reaping it if it ended).
    pub fn running(&mut self) -> bool {
        let Some(child) = self.child.as_mut() else {
            return false;
        };
        match child.try_wait() {
            Ok(None) => true,
            Ok(Some(status)) => {
                self.exit = Some(status);
                self.child = None;
                false
            }
            Err(_) => false,
        }
    }

    /// Its exit status once it ended.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.running();
        self.exit
    }

    /// Scrapes /metrics.
    pub fn metrics(&self) -> Result<Metrics, String> {
        match http_get(self.port, "/metrics")? {
            (200, text) => Ok(Metrics { text }),
            (code, body) => Err(format!("/metrics answered {code}: {body}")),
        }
    }

    /// /readyz answers 200.
    pub fn ready(&self) -> bool {
        matches!(http_get(self.port, "/readyz"), Ok((200, _)))
    }

    /// `wandb_operator_leader` is 1.
    pub fn leading(&self) -> bool {
        self.metrics()
            .ok()
            .and_then(|m| m.value("wandb_operator_leader", &[]))
            == Some(1.0)
    }

    /// Waits until it leads; panics (with its log) if it does not within
    /// `timeout` or if it exits.
    pub fn wait_leading(&mut self, timeout: Duration) -> Duration {
        let start = Instant::now();
        loop {
            if self.leading() {
                return start.elapsed();
            }
            if !self.running() {
                panic!(
                    "operator '{}' exited ({:?}) before leading:\n{}",
                    self.identity,
                    self.exit,
                    self.log_tail(60)
                );
            }
            if start.elapsed() > timeout {
                panic!(
                    "operator '{}' did not lead within {:.0} s:\n{}",
                    self.identity,
                    timeout.as_secs_f64(),
                    self.log_tail(60)
                );
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends a signal (`TERM`, `KILL`, ...) with kill(1).
    pub fn signal(&mut self, signal: &str) {
        if !self.running() {
            return;
        }
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(pid.to_string())
                .status();
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited after `grace`. Returns
    /// its exit status and how long it took to exit.
    pub fn stop(&mut self, grace: Duration) -> (Option<ExitStatus>, Duration) {
        let start = Instant::now();
        self.signal("TERM");
        while self.running() && start.elapsed() < grace {
            thread::sleep(Duration::from_millis(50));
        }
        if self.running() {
            eprintln!(
                "[e2e] operator '{}' still runs {:.0} s after SIGTERM; killing it",
                self.identity,
                grace.as_secs_f64()
            );
            if let Some(child) = self.child.as_mut() {
                let _ = child.kill();
                self.exit = child.wait().ok();
            }
            self.child = None;
        }
        (self.exit, start.elapsed())
    }

    /// SIGKILL: a crash, with no chance to release the lease.
    pub fn kill(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            self.exit = child.wait().ok();
        }
        self.child = None;
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        let from = all.len().saturating_sub(lines);
        format!(
            "--- last {} lines of {} ---\n{}",
            all.len() - from,
            self.log.display(),
            indent(&all[from..].join("\n"), "  ")
        )
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        if self.running() {
            let (status, took) = self.stop(Duration::from_secs(15));
            eprintln!(
                "[e2e] operator '{}' stopped in {:.1} s ({})",
                self.identity,
                took.as_secs_f64(),
                status.map_or("killed".to_string(), |s| s.to_string())
            );
        }
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
        if thread::panicking() {
            eprintln!("{}", self.log_tail(80));
        }
    }
}

// ---------------------------------------------------------------- faults and load

/// Whether the long versions of the fault and load tests run
/// (`WANDB_E2E_FULL=1`); the short ones assert the same properties.
pub fn full_run() -> bool {
    matches!(
        std::env::var("WANDB_E2E_FULL").as_deref(),
        Ok("1" | "true" | "yes")
    )
}

/// A small random generator (xorshift64*) for fault timings: seeded from
/// `WANDB_E2E_SEED` if set, else from the clock, and the seed printed, so
/// that a run can be repeated.
pub struct Rng(u64);

impl Rng {
    pub fn seeded(what: &str) -> Rng {
        let seed = std::env::var("WANDB_E2E_SEED")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
                    ^ u64::from(std::process::id())
            });
        eprintln!("[e2e] {what}: random seed {seed} (WANDB_E2E_SEED={seed} repeats it)");
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..=max`, to the millisecond.
    pub fn duration(&mut self, max: Duration) -> Duration {
        let ms = max.as_millis() as u64;
        Duration::from_millis(self.next_u64() % (ms + 1))
    }
}

/// What /proc says of a process: resident memory now and at its peak, and
/// the CPU time it used (user + system).
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcUsage {
    pub rss_kib: u64,
    pub peak_rss_kib: u64,
    pub cpu_seconds: f64,
}

/// /proc/PID/status (VmRSS, VmHWM) and /proc/PID/stat (utime + stime);
/// `None` once the process is gone.
pub fn proc_usage(pid: u32) -> Option<ProcUsage> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ProcUsage {
        rss_kib: kib("VmRSS:"),
        peak_rss_kib: kib("VmHWM:"),
        cpu_seconds: ticks as f64 / clock_ticks() as f64,
    })
}

/// sysconf(_SC_CLK_TCK), by getconf(1); 100 if that fails.
fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|t| *t > 0)
            .unwrap_or(100)
    })
}

impl Operator {
    /// Like [`Operator::start`], with the scope arguments given (e.g.
    /// `--namespace NS --lease-namespace NS`, or `--all-namespaces
    /// --lease-namespace NS`), and its output appended to `log`, so that
    /// the logs of a restarted operator's earlier runs are kept.
    pub fn start_with(cluster: &Cluster, scope: &[&str], identity: &str, log: &Path) -> Operator {
        let bin = operator_binary_quiet();
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir)
                .unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("opening {}: {e}", log.display()));
        let port = free_port();
        let mut cmd = Command::new(&bin);
        cmd.arg("run")
            .args(scope)
            .arg("--metrics-addr")
            .arg(format!("127.0.0.1:{port}"))
            .args(["--log-format", "text"])
            .env("KUBECONFIG", &cluster.kubeconfig)
            .env("POD_NAME", identity)
            .env("NO_COLOR", "1")
            .env(
                "RUST_LOG",
                std::env::var("WANDB_E2E_OPERATOR_LOG")
                    .unwrap_or_else(|_| "info,kube=warn,wandb_operator_core=debug".into()),
            )
            .env_remove("WATCH_NAMESPACE")
            .env_remove("POD_NAMESPACE")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file"))
            .stderr(file);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        let pid = child.id();
        let watchdog = {
            let script = r#"while kill -0 "$1" 2>/dev/null; do kill -0 "$2" 2>/dev/null || exit 0; sleep 1; done; kill -9 "$2" 2>/dev/null"#;
            let mut w = Command::new("sh");
            w.args(["-c", script, "e2e-operator-watchdog"])
                .arg(std::process::id().to_string())
                .arg(pid.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            std::os::unix::process::CommandExt::process_group(&mut w, 0);
            w.spawn().ok()
        };
        eprintln!(
            "[e2e] started operator '{identity}' (pid {pid}, metrics 127.0.0.1:{port}, log {})",
            log.display()
        );
        Operator {
            identity: identity.into(),
            port,
            log: log.to_path_buf(),
            child: Some(child),
            watchdog,
            exit: None,
        }
    }

    /// Its memory and CPU time so far, from /proc (`None` once it exited).
    pub fn usage(&self) -> Option<ProcUsage> {
        self.pid().and_then(proc_usage)
    }
}

/// [`operator_binary`] without its line, for operators started over and over.
pub fn operator_binary_quiet() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(locate_or_build_operator).clone()
}

impl Cluster {
    /// hack/cluster's state directory of this cluster (logs, pids, ...).
    pub fn state_dir(&self) -> PathBuf {
        cache_dir().join("clusters").join(&self.name)
    }

    /// The pid of a component (`etcd`, `kube-apiserver`,
    /// `kube-controller-manager`, `kube-scheduler`, `kwok`).
    pub fn component_pid(&self, component: &str) -> Option<u32> {
        let file = self
            .state_dir()
            .join("pids")
            .join(format!("{component}.pid"));
        std::fs::read_to_string(file).ok()?.trim().parse().ok()
    }

    /// `hack/cluster restart NAME COMPONENT [--kill] --down SECONDS`: stops
    /// one component (SIGTERM, or SIGKILL with `kill`: a crash), keeps it
    /// down for `down`, starts it again with the same command line and
    /// waits until it is healthy.
    pub fn restart_component(&self, component: &str, kill: bool, down: Duration) -> Output {
        let mut cmd = Command::new(&self.script);
        cmd.args(["restart", &self.name, component]);
        if kill {
            cmd.arg("--kill");
        }
        cmd.arg("--down").arg(down.as_secs().to_string());
        run(cmd, None, down + Duration::from_secs(180))
    }

    /// `kubectl get --raw URL` of a watch, its lines read as they come.
    pub fn watch_raw(&self, url: &str, timeout: Duration) -> Lines {
        let mut cmd = self.kubectl_cmd(&["get", "--raw", url], timeout);
        cmd.stdin(Stdio::null());
        Lines::spawn(cmd)
    }
}

/// The stdout lines of a running command, each with when it was read.
/// Dropping it kills the command.
pub struct Lines {
    child: Child,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
    reader: Option<JoinHandle<()>>,
}

impl Lines {
    pub fn spawn(mut cmd: Command) -> Lines {
        use std::io::BufRead;
        let command = describe(&cmd);
        cmd.stdout(Stdio::piped()).stderr(Stdio::null());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `{command}`: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let lines: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
        let sink = lines.clone();
        let reader = thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push((Instant::now(), line));
            }
        });
        Lines {
            child,
            lines,
            reader: Some(reader),
        }
    }

    /// The lines so far.
    pub fn lines(&self) -> Vec<(Instant, String)> {
        self.lines.lock().unwrap().clone()
    }

    /// Stops the command; returns every line it printed.
    pub fn stop(mut self) -> Vec<(Instant, String)> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        self.lines()
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------- install checks

/// Label of every object the operator manages: the resource it belongs to.
pub const INSTANCE_LABEL: &str = "apps.wandb.com/instance";
/// Label of every object the operator manages: its component.
pub const COMPONENT_LABEL: &str = "apps.wandb.com/component";
/// Annotation of a Secret whose keys the operator generates once.
pub const GENERATED_KEYS: &str = "apps.wandb.com/generated-keys";

/// Every namespaced kind the operator manages, and the objects the
/// cluster's controllers make of them (ReplicaSets, Pods), for `kubectl get`.
const NAMESPACED_KINDS: &str = "secrets,configmaps,serviceaccounts,services,persistentvolumeclaims,\
    roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io,deployments.apps,\
    statefulsets.apps,daemonsets.apps,jobs.batch,cronjobs.batch,\
    horizontalpodautoscalers.autoscaling,poddisruptionbudgets.policy,\
    ingresses.networking.k8s.io,networkpolicies.networking.k8s.io,replicasets.apps,pods";
const CLUSTER_KINDS: &str =
    "clusterroles.rbac.authorization.k8s.io,clusterrolebindings.rbac.authorization.k8s.io";

fn str_at<'a>(v: &'a serde_json::Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
}

fn int_at(v: &serde_json::Value, pointer: &str) -> Option<i64> {
    v.pointer(pointer).and_then(serde_json::Value::as_i64)
}

fn label_of<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v.pointer("/metadata/labels")
        .and_then(|l| l.get(key))
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
}

fn annotation_of<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    v.pointer("/metadata/annotations")
        .and_then(|l| l.get(key))
        .and_then(serde_json::Value::as_str)
}

fn terminating(v: &serde_json::Value) -> bool {
    v.pointer("/metadata/deletionTimestamp").is_some()
}

fn owner_uids(v: &serde_json::Value) -> Vec<&str> {
    v.pointer("/metadata/ownerReferences")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .map(|o| str_at(o, "/uid"))
        .collect()
}

fn has_condition(v: &serde_json::Value, type_: &str) -> bool {
    v.pointer("/status/conditions")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == type_ && c["status"] == "True")
        })
}

/// `Kind/name`.
pub fn key_of(v: &serde_json::Value) -> String {
    format!("{}/{}", str_at(v, "/kind"), str_at(v, "/metadata/name"))
}

/// What a render of some values makes, as `Kind/name` (test pods left out).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expected {
    pub namespaced: std::collections::BTreeSet<String>,
    pub cluster: std::collections::BTreeSet<String>,
}

/// `wandb-operator render` of `values` (as the resource's `spec.values`)
/// for the resource `name` in `namespace`.
pub fn expected_objects(values: &serde_json::Value, name: &str, namespace: &str) -> Expected {
    static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let file =
        std::env::temp_dir().join(format!("wandb-e2e-values-{}-{n}.yaml", std::process::id()));
    // JSON is YAML.
    std::fs::write(&file, values.to_string())
        .unwrap_or_else(|e| panic!("writing {}: {e}", file.display()));
    let out = render(
        &operator_binary_quiet(),
        &[
            "-f",
            file.to_str().expect("a UTF-8 path"),
            "--skip-tests",
            "--name",
            name,
            "--namespace",
            namespace,
        ],
    );
    let _ = std::fs::remove_file(&file);
    let mut expected = Expected::default();
    for d in out.documents() {
        if matches!(d.kind.as_str(), "ClusterRole" | "ClusterRoleBinding") {
            expected.cluster.insert(d.id());
        } else {
            expected.namespaced.insert(d.id());
        }
    }
    expected
}

/// sha256 of a Secret's data (`key=base64value` lines, sorted), by sha256sum(1).
pub fn sha256_of_data(data: &BTreeMap<String, String>) -> String {
    let input: String = data.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    let out = run(
        Command::new("sha256sum"),
        Some(input.as_bytes()),
        Duration::from_secs(10),
    );
    assert!(out.success(), "sha256sum: {}", out.describe_status());
    out.stdout
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string()
}

/// A generated Secret as it was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretPrint {
    pub uid: String,
    pub sha256: String,
    /// Generated keys (per the annotation) without a value.
    pub empty_keys: Vec<String>,
}

/// A volume claim as it was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PvcPrint {
    pub uid: String,
    pub phase: String,
    pub volume: String,
}

/// The data of an install: its generated Secrets and its volume claims.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Data {
    pub secrets: BTreeMap<String, SecretPrint>,
    pub pvcs: BTreeMap<String, PvcPrint>,
}

impl Data {
    /// What is wrong in itself: a generated key without a value, a volume
    /// claim not Bound.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (n, s) in &self.secrets {
            if !s.empty_keys.is_empty() {
                out.push(format!(
                    "Secret/{n}: generated keys without a value: {:?}",
                    s.empty_keys
                ));
            }
        }
        for (n, p) in &self.pvcs {
            if p.phase != "Bound" {
                out.push(format!("PersistentVolumeClaim/{n} is {}", p.phase));
            }
        }
        out
    }

    /// What changed since `before`: every generated Secret and volume claim
    /// of `before` must still be there with the same uid (and the same data).
    /// New ones are fine (a component turned on).
    pub fn changes_since(&self, before: &Data) -> Vec<String> {
        let mut out = Vec::new();
        for (n, b) in &before.secrets {
            match self.secrets.get(n) {
                None => out.push(format!("Secret/{n} (generated) is gone")),
                Some(a) if a.uid != b.uid => out.push(format!(
                    "Secret/{n} (generated) was recreated: uid {} -> {}",
                    b.uid, a.uid
                )),
                Some(a) if a.sha256 != b.sha256 => out.push(format!(
                    "Secret/{n} (generated) has other data: sha256 {} -> {}",
                    &b.sha256[..12.min(b.sha256.len())],
                    &a.sha256[..12.min(a.sha256.len())]
                )),
                _ => {}
            }
        }
        for (n, b) in &before.pvcs {
            match self.pvcs.get(n) {
                None => out.push(format!("PersistentVolumeClaim/{n} is gone")),
                Some(a) if a.uid != b.uid => out.push(format!(
                    "PersistentVolumeClaim/{n} was recreated: uid {} -> {}",
                    b.uid, a.uid
                )),
                Some(a) if !b.volume.is_empty() && a.volume != b.volume => out.push(format!(
                    "PersistentVolumeClaim/{n} has another volume: {} -> {}",
                    b.volume, a.volume
                )),
                _ => {}
            }
        }
        out
    }

    /// Adds what `now` has that this has not yet; returns what changed of
    /// what this had (see [`Data::changes_since`]). For following the data
    /// through a series of faults during an install, as it appears.
    pub fn follow(&mut self, now: &Data) -> Vec<String> {
        let changed = now.changes_since(self);
        for (n, s) in &now.secrets {
            if s.empty_keys.is_empty() {
                self.secrets.entry(n.clone()).or_insert_with(|| s.clone());
            }
        }
        for (n, p) in &now.pvcs {
            if p.phase == "Bound" {
                self.pvcs.entry(n.clone()).or_insert_with(|| p.clone());
            }
        }
        changed
    }

    /// `name sha256:0123456789ab` of each Secret, for logs.
    pub fn describe(&self) -> String {
        let secrets: Vec<String> = self
            .secrets
            .iter()
            .map(|(n, s)| format!("{n} sha256:{}", &s.sha256[..12.min(s.sha256.len())]))
            .collect();
        format!(
            "{} generated secrets ({}), {} volume claims",
            self.secrets.len(),
            secrets.join(", "),
            self.pvcs.len()
        )
    }
}

/// Workloads of an install, as the cluster's controllers run them.
#[derive(Clone, Debug, Default)]
pub struct Workloads {
    pub deployments: usize,
    pub replica_sets: usize,
    pub statefulsets: usize,
    pub jobs: usize,
    pub pods: usize,
    /// `deployment.kubernetes.io/revision` of each Deployment.
    pub revisions: BTreeMap<String, i64>,
    /// How many ReplicaSets each Deployment has.
    pub sets: BTreeMap<String, usize>,
}

impl Workloads {
    /// Rollouts since the Deployments were created: the sum of (revision - 1).
    pub fn rollouts(&self) -> i64 {
        self.revisions.values().map(|r| r - 1).sum()
    }

    pub fn describe(&self) -> String {
        format!(
            "{} Deployments with {} ReplicaSets ({} rollouts), {} StatefulSets, {} Jobs, {} pods",
            self.deployments,
            self.replica_sets,
            self.rollouts(),
            self.statefulsets,
            self.jobs,
            self.pods
        )
    }
}

/// The resources, the objects of their namespaces and the cluster-scoped
/// objects the operator manages, read in three kubectl calls.
pub struct Snapshot {
    pub resources: Vec<serde_json::Value>,
    pub objects: Vec<serde_json::Value>,
    pub cluster_objects: Vec<serde_json::Value>,
}

impl Snapshot {
    /// Of one namespace, or of all (`None`).
    pub fn take(cluster: &Cluster, namespace: Option<&str>) -> Snapshot {
        let scope: Vec<&str> = match namespace {
            Some(ns) => vec!["-n", ns],
            None => vec!["-A"],
        };
        let items = |mut args: Vec<&str>| -> Vec<serde_json::Value> {
            args.extend(["-o", "json", "--show-managed-fields"]);
            let mut all = vec!["get"];
            all.extend(args);
            let out = cluster.kubectl(&all, None, Duration::from_secs(120));
            assert!(
                out.success(),
                "{} failed:\n{}",
                out.describe_status(),
                out.stderr
            );
            let list: serde_json::Value = serde_json::from_str(&out.stdout)
                .unwrap_or_else(|e| panic!("`kubectl {}`: no JSON: {e}", all.join(" ")));
            list["items"].as_array().cloned().unwrap_or_default()
        };
        let mut args = vec!["weightsandbiases.apps.wandb.com"];
        args.extend(&scope);
        let resources = items(args);
        let mut args = vec![NAMESPACED_KINDS];
        args.extend(&scope);
        let objects = items(args);
        let cluster_objects = items(vec![CLUSTER_KINDS, "-l", INSTANCE_LABEL]);
        Snapshot {
            resources,
            objects,
            cluster_objects,
        }
    }

    fn in_ns<'a>(&'a self, ns: &'a str) -> impl Iterator<Item = &'a serde_json::Value> + 'a {
        self.objects
            .iter()
            .filter(move |o| str_at(o, "/metadata/namespace") == ns)
    }

    fn of_kind<'a>(
        &'a self,
        ns: &'a str,
        kind: &'a str,
    ) -> impl Iterator<Item = &'a serde_json::Value> + 'a {
        self.in_ns(ns).filter(move |o| str_at(o, "/kind") == kind)
    }

    pub fn resource(&self, ns: &str, name: &str) -> Option<&serde_json::Value> {
        self.resources
            .iter()
            .find(|r| str_at(r, "/metadata/namespace") == ns && str_at(r, "/metadata/name") == name)
    }

    /// The resource's status describes its spec (observedGeneration ==
    /// generation), Ready and every `<Component>Ready` condition are True,
    /// and there is one such condition per component with a workload.
    pub fn converged(&self, ns: &str, name: &str) -> Result<(), String> {
        let res = self
            .resource(ns, name)
            .ok_or_else(|| format!("WeightsAndBiases {ns}/{name} does not exist"))?;
        let generation = int_at(res, "/metadata/generation").unwrap_or(0);
        let observed = int_at(res, "/status/observedGeneration");
        let mut problems = Vec::new();
        if observed != Some(generation) {
            problems.push(format!(
                "observedGeneration {observed:?}, generation {generation}"
            ));
        }
        let conditions = res
            .pointer("/status/conditions")
            .and_then(serde_json::Value::as_array)
            .cloned()
            .unwrap_or_default();
        if !conditions
            .iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
        {
            let c = conditions.iter().find(|c| c["type"] == "Ready");
            problems.push(format!(
                "Ready is {}",
                c.map_or("absent".to_string(), |c| format!(
                    "{} ({})",
                    str_at(c, "/status"),
                    str_at(c, "/message")
                ))
            ));
        }
        let mut types = std::collections::BTreeSet::new();
        for c in &conditions {
            let t = str_at(c, "/type");
            if t.ends_with("Ready") {
                if t != "Ready" {
                    types.insert(t.to_string());
                }
                if c["status"] != "True" {
                    problems.push(format!(
                        "{t}={} ({})",
                        str_at(c, "/status"),
                        str_at(c, "/message")
                    ));
                }
                if int_at(c, "/observedGeneration") != Some(generation) {
                    problems.push(format!(
                        "{t} has observedGeneration {:?}",
                        int_at(c, "/observedGeneration")
                    ));
                }
            }
        }
        let components: std::collections::BTreeSet<String> = self
            .in_ns(ns)
            .filter(|o| {
                matches!(
                    str_at(o, "/kind"),
                    "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "CronJob"
                ) && label_of(o, INSTANCE_LABEL) == name
                    && !terminating(o)
            })
            .map(|o| condition_type_of(label_of(o, COMPONENT_LABEL)))
            .collect();
        if components != types {
            problems.push(format!(
                "component conditions {:?} but workloads of components {:?}",
                types.difference(&components).collect::<Vec<_>>(),
                components.difference(&types).collect::<Vec<_>>()
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("{ns}/{name}: {}", problems.join("; ")))
        }
    }

    /// The generated Secrets and the volume claims of a namespace.
    pub fn data(&self, ns: &str) -> Data {
        let mut data = Data::default();
        for s in self.of_kind(ns, "Secret") {
            let Some(keys) = annotation_of(s, GENERATED_KEYS) else {
                continue;
            };
            let values: BTreeMap<String, String> = s["data"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                        .collect()
                })
                .unwrap_or_default();
            let empty_keys = keys
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty() && values.get(*k).is_none_or(String::is_empty))
                .map(String::from)
                .collect();
            data.secrets.insert(
                str_at(s, "/metadata/name").to_string(),
                SecretPrint {
                    uid: str_at(s, "/metadata/uid").to_string(),
                    sha256: sha256_of_data(&values),
                    empty_keys,
                },
            );
        }
        for p in self.of_kind(ns, "PersistentVolumeClaim") {
            data.pvcs.insert(
                str_at(p, "/metadata/name").to_string(),
                PvcPrint {
                    uid: str_at(p, "/metadata/uid").to_string(),
                    phase: str_at(p, "/status/phase").to_string(),
                    volume: str_at(p, "/spec/volumeName").to_string(),
                },
            );
        }
        data
    }

    /// Exactly the objects of the render: none missing, none extra but data
    /// kept from earlier specs (volume claims, generated Secrets), no Secret
    /// the render does not make. Cluster-scoped objects: those of the render
    /// exist (with `strict_cluster`, no other carries the instance label).
    /// Returns how many managed objects there are.
    pub fn duplicates(
        &self,
        ns: &str,
        name: &str,
        expected: &Expected,
        strict_cluster: bool,
    ) -> Result<usize, String> {
        let mut problems = Vec::new();
        let mut live = std::collections::BTreeSet::new();
        for o in self.in_ns(ns) {
            let kind = str_at(o, "/kind");
            if matches!(kind, "Pod" | "ReplicaSet") || terminating(o) {
                continue;
            }
            let key = key_of(o);
            let labelled = label_of(o, INSTANCE_LABEL) == name;
            let data = kind == "PersistentVolumeClaim"
                || (kind == "Secret" && annotation_of(o, GENERATED_KEYS).is_some());
            if labelled {
                if !expected.namespaced.contains(&key) && !data {
                    problems.push(format!("{key} is not in the render"));
                }
                live.insert(key);
            } else if kind == "Secret" {
                problems.push(format!("{key} is a Secret without the instance label"));
            }
        }
        for k in expected.namespaced.difference(&live) {
            problems.push(format!("{k} is missing"));
        }
        let cluster: std::collections::BTreeSet<String> = self
            .cluster_objects
            .iter()
            .filter(|o| label_of(o, INSTANCE_LABEL) == name && !terminating(o))
            .map(key_of)
            .collect();
        for k in expected.cluster.difference(&cluster) {
            problems.push(format!("{k} (cluster-scoped) is missing"));
        }
        if strict_cluster {
            for k in cluster.difference(&expected.cluster) {
                problems.push(format!("{k} (cluster-scoped) is not in the render"));
            }
        }
        if problems.is_empty() {
            Ok(live.len() + expected.cluster.len())
        } else {
            Err(format!("{ns}: {}", problems.join("; ")))
        }
    }

    /// The workloads run as asked, once: each Deployment has one
    /// ReplicaSet with replicas and exactly its replicas in pods, all Ready
    /// (older ReplicaSets at 0); each StatefulSet its replicas in pods;
    /// each Job one pod, Succeeded; no ReplicaSet or pod whose owner is gone.
    pub fn workloads(&self, ns: &str, name: &str) -> Result<Workloads, String> {
        let mut problems = Vec::new();
        let mut w = Workloads::default();
        let live = |o: &&serde_json::Value| !terminating(o);
        let pods: Vec<&serde_json::Value> = self.of_kind(ns, "Pod").filter(live).collect();
        let sets: Vec<&serde_json::Value> = self.of_kind(ns, "ReplicaSet").collect();
        let pod_ready = |p: &serde_json::Value| has_condition(p, "Ready");
        let owned = |uid: &str| -> Vec<&serde_json::Value> {
            pods.iter()
                .copied()
                .filter(|p| owner_uids(p).contains(&uid))
                .collect()
        };
        let mut owners = std::collections::BTreeSet::new();
        for d in self
            .of_kind(ns, "Deployment")
            .filter(|d| label_of(d, INSTANCE_LABEL) == name)
            .filter(live)
        {
            let dname = str_at(d, "/metadata/name");
            let uid = str_at(d, "/metadata/uid");
            owners.insert(uid.to_string());
            w.deployments += 1;
            let desired = int_at(d, "/spec/replicas").unwrap_or(1);
            let revision = annotation_of(d, "deployment.kubernetes.io/revision")
                .and_then(|r| r.parse::<i64>().ok())
                .unwrap_or(0);
            w.revisions.insert(dname.to_string(), revision);
            let mine: Vec<&serde_json::Value> = sets
                .iter()
                .copied()
                .filter(|rs| owner_uids(rs).contains(&uid))
                .collect();
            w.replica_sets += mine.len();
            w.sets.insert(dname.to_string(), mine.len());
            let active: Vec<&serde_json::Value> = mine
                .iter()
                .copied()
                .filter(|rs| {
                    int_at(rs, "/spec/replicas").unwrap_or(0) > 0
                        || int_at(rs, "/status/replicas").unwrap_or(0) > 0
                })
                .collect();
            let want_active = usize::from(desired > 0);
            if active.len() != want_active {
                problems.push(format!(
                    "Deployment/{dname}: {} ReplicaSets with replicas ({}), expected {want_active}",
                    active.len(),
                    active
                        .iter()
                        .map(|rs| str_at(rs, "/metadata/name"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            for rs in &active {
                let rev = annotation_of(rs, "deployment.kubernetes.io/revision")
                    .and_then(|r| r.parse::<i64>().ok())
                    .unwrap_or(0);
                if rev != revision {
                    problems.push(format!(
                        "Deployment/{dname} at revision {revision} runs ReplicaSet/{} of revision {rev}",
                        str_at(rs, "/metadata/name")
                    ));
                }
            }
            let mut running = 0;
            for rs in &mine {
                let rs_pods = owned(str_at(rs, "/metadata/uid"));
                running += rs_pods.len();
                if let Some(p) = rs_pods.iter().find(|p| !pod_ready(p)) {
                    problems.push(format!(
                        "pod {} of Deployment/{dname} is not Ready",
                        str_at(p, "/metadata/name")
                    ));
                }
            }
            w.pods += running;
            if running as i64 != desired {
                problems.push(format!(
                    "Deployment/{dname}: {running} pods, replicas {desired}"
                ));
            }
        }
        for rs in &sets {
            let owners_of: Vec<&str> = owner_uids(rs);
            if !owners_of.iter().any(|u| owners.contains(*u)) {
                // ReplicaSets of another install (same namespace) are its business.
                if label_of(rs, INSTANCE_LABEL) == name {
                    problems.push(format!(
                        "ReplicaSet/{} has no live Deployment (owners {owners_of:?})",
                        str_at(rs, "/metadata/name")
                    ));
                }
            }
        }
        let mut pod_owners: std::collections::BTreeSet<String> = sets
            .iter()
            .map(|rs| str_at(rs, "/metadata/uid").to_string())
            .collect();
        for s in self
            .of_kind(ns, "StatefulSet")
            .filter(|s| label_of(s, INSTANCE_LABEL) == name)
            .filter(live)
        {
            w.statefulsets += 1;
            let uid = str_at(s, "/metadata/uid");
            pod_owners.insert(uid.to_string());
            let desired = int_at(s, "/spec/replicas").unwrap_or(1);
            let mine = owned(uid);
            w.pods += mine.len();
            let sname = str_at(s, "/metadata/name");
            if mine.len() as i64 != desired {
                problems.push(format!(
                    "StatefulSet/{sname}: {} pods, replicas {desired}",
                    mine.len()
                ));
            }
            if let Some(p) = mine.iter().find(|p| !pod_ready(p)) {
                problems.push(format!(
                    "pod {} of StatefulSet/{sname} is not Ready",
                    str_at(p, "/metadata/name")
                ));
            }
        }
        for j in self
            .of_kind(ns, "Job")
            .filter(|j| label_of(j, INSTANCE_LABEL) == name)
            .filter(live)
        {
            w.jobs += 1;
            let uid = str_at(j, "/metadata/uid");
            pod_owners.insert(uid.to_string());
            let mine = owned(uid);
            w.pods += mine.len();
            let jname = str_at(j, "/metadata/name");
            let succeeded = mine
                .iter()
                .filter(|p| str_at(p, "/status/phase") == "Succeeded")
                .count();
            if mine.len() != 1 || succeeded != 1 || !has_condition(j, "Complete") {
                problems.push(format!(
                    "Job/{jname}: {} pods, {succeeded} Succeeded, Complete {}",
                    mine.len(),
                    has_condition(j, "Complete")
                ));
            }
        }
        for p in &pods {
            if label_of(p, INSTANCE_LABEL) != name {
                continue;
            }
            let owners_of = owner_uids(p);
            if !owners_of.iter().any(|u| pod_owners.contains(*u)) {
                problems.push(format!(
                    "pod {} has no live owner (owners {owners_of:?})",
                    str_at(p, "/metadata/name")
                ));
            }
        }
        if problems.is_empty() {
            Ok(w)
        } else {
            Err(format!("{ns}: {}", problems.join("; ")))
        }
    }

    /// Managers of the managed objects of an install (and of the resource),
    /// by operation: `Apply wandb-operator`, `Update kube-controller-manager
    /// (status)`, ... with how many objects each is on.
    pub fn managers(&self, ns: &str, name: &str) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        let objects = self
            .in_ns(ns)
            .filter(|o| {
                !matches!(str_at(o, "/kind"), "Pod" | "ReplicaSet")
                    && label_of(o, INSTANCE_LABEL) == name
            })
            .chain(
                self.cluster_objects
                    .iter()
                    .filter(|o| label_of(o, INSTANCE_LABEL) == name),
            );
        for o in objects {
            let mut seen = std::collections::BTreeSet::new();
            for f in o
                .pointer("/metadata/managedFields")
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
            {
                let sub = match str_at(f, "/subresource") {
                    "" => String::new(),
                    s => format!(" ({s})"),
                };
                seen.insert(format!(
                    "{} {}{sub}",
                    str_at(f, "/operation"),
                    str_at(f, "/manager")
                ));
            }
            for m in seen {
                *out.entry(m).or_insert(0) += 1;
            }
        }
        out
    }
}

/// `flat-run-fields-updater` -> `FlatRunFieldsUpdaterReady`, as the operator names conditions.
pub fn condition_type_of(component: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in component.chars() {
        if matches!(c, '-' | '_' | '.') {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out + "Ready"
}

/// One line about a resource's status: generations and what is not True.
pub fn status_line(res: &serde_json::Value) -> String {
    let mut s = format!(
        "generation {}, observedGeneration {}",
        int_at(res, "/metadata/generation").unwrap_or(0),
        int_at(res, "/status/observedGeneration").map_or("-".into(), |g| g.to_string())
    );
    for c in res
        .pointer("/status/conditions")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
    {
        if c["status"] != "True" && c["type"] != "ValuesWarnings" {
            s += &format!(
                "; {}={} ({})",
                str_at(c, "/type"),
                str_at(c, "/status"),
                str_at(c, "/message")
            );
        }
    }
    s
}

// ---------------------------------------------------------------- small helpers of the suites

/// The host and license of the tests' installs.
pub const HOST: &str = "https://wandb.example.com";
pub const LICENSE: &str = "e2e-license";

/// The values of a default install: a host and a license.
pub fn base_values() -> serde_json::Value {
    serde_json::json!({"global": {"host": HOST, "license": LICENSE}})
}

/// One test of a suite at a time (each starts its own cluster and the
/// machine may have two cores); a failed test does not poison the others.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A measurement, on a line of its own that starts with `[e2e] REPORT`.
pub fn report(line: String) {
    eprintln!("[e2e] REPORT {line}");
}

/// `1.23 s`.
pub fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// The string at a JSON pointer, or "".
pub fn text<'a>(v: &'a serde_json::Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
}

/// Events about the WeightsAndBiases resources of `ns`: (type, reason,
/// note, count).
pub fn resource_events(cluster: &Cluster, ns: &str) -> Vec<(String, String, String, i64)> {
    let list = cluster.get_json(&["-n", ns, "events.events.k8s.io"]);
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| text(e, "/regarding/kind") == "WeightsAndBiases")
        .map(|e| {
            (
                text(e, "/type").to_string(),
                text(e, "/reason").to_string(),
                text(e, "/note").to_string(),
                e.pointer("/series/count")
                    .and_then(serde_json::Value::as_i64)
                    .unwrap_or(1),
            )
        })
        .collect()
}

/// The integer at a JSON pointer, or 0.
pub fn int(v: &serde_json::Value, pointer: &str) -> i64 {
    v.pointer(pointer)
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0)
}
