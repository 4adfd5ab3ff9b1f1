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
/// target/release/wandb-operator, built first if it is missing. An existing
/// binary is used as it is (not rebuilt): build it yourself after changes.
pub fn operator_binary() -> PathBuf {
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
    if !bin.is_file() {
        eprintln!(
            "[e2e] {} is missing; running `cargo build --release -p wandb-operator`",
            bin.display()
        );
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
    }
    let age = std::fs::metadata(&bin)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .map(|d| format!(", built {} min ago", d.as_secs() / 60))
        .unwrap_or_default();
    eprintln!("[e2e] using {}{age}", bin.display());
    bin
}

/// One upstream reference case: `<repo>/../shared/reference/upstream/NAME.values.yaml`.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub values: PathBuf,
}

/// Every reference case, sorted by name. Panics if there are none.
pub fn reference_cases() -> Vec<Case> {
    let dir = repo_root().join("../shared/reference/upstream");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reference cases in {}: {e}", dir.display()));
    let mut cases: Vec<Case> = entries
        .filter_map(|e| {
            let path = e.ok()?.path();
            let file = path.file_name()?.to_str()?;
            let name = file.strip_suffix(".values.yaml")?.to_string();
            Some(Case { name, values: path })
        })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(
        !cases.is_empty(),
        "no *.values.yaml reference cases in {}",
        dir.display()
    );
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
        all.extend(["-o", "json"]);
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
        let bin = operator_binary();
        std::fs::create_dir_all(log_dir)
            .unwrap_or_else(|e| panic!("creating {}: {e}", log_dir.display()));
        let log = log_dir.join(format!("{identity}.log"));
        let file = std::fs::File::create(&log)
            .unwrap_or_else(|e| panic!("creating {}: {e}", log.display()));
        let port = free_port();
        let mut cmd = Command::new(&bin);
        cmd.args([
            "run",
            "--namespace",
            namespace,
            "--lease-namespace",
            namespace,
        ])
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
        // Its own process group: Ctrl-C in the terminal goes to the test,
        // whose unwinding stops the operator in order.
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
            log,
            child: Some(child),
            watchdog,
            exit: None,
        }
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
