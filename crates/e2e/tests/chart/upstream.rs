//! A release of the upstream chart, and the steps of a migration guide.

use super::*;

pub const UPSTREAM_VALUES: &[&str] = &[
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
pub fn guide_steps(guide: &str) -> Vec<String> {
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
pub fn upstream_chart(what: &str) -> Option<PathBuf> {
    wandb_contract::peer::chart_or_skip(&format!("{what} not tested"))
}

/// Installs release `wandb` of the upstream chart with in-cluster MySQL and
/// Redis, and waits until its StatefulSets are ready and its claims bound.
/// Returns how long that took.
pub fn install_upstream(h: Helm, work: &Path, cluster: &Cluster, ns: &str, chart: &Path) -> String {
    let chart = chart.to_string_lossy();
    let mut args = vec!["install", RELEASE, &chart, "-n", ns];
    args.extend(UPSTREAM_VALUES);
    let t = Instant::now();
    h.ok(work, Some(&cluster.kubeconfig), &args);
    wait_for(
        "the upstream StatefulSets ready",
        Duration::from_secs(120),
        POLL,
        || {
            let sts = items(&cluster.get_if_exists(&["-n", ns, "statefulsets"]).unwrap());
            let names: Vec<&str> = sts.iter().map(|s| text(s, "/metadata/name")).collect();
            let ready = sts.iter().all(|s| {
                int(s, "/status/readyReplicas")
                    == s.pointer("/spec/replicas")
                        .and_then(Value::as_i64)
                        .unwrap_or(1)
            });
            let claims_bound = items(
                &cluster
                    .get_if_exists(&["-n", ns, "persistentvolumeclaims"])
                    .unwrap(),
            )
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
pub struct Guide {
    pub path: String,
    pub cwd: PathBuf,
    pub work: PathBuf,
    pub kubeconfig: PathBuf,
}

impl Guide {
    pub fn new(h: Helm, work: &Path, cluster: &Cluster) -> Guide {
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
    pub fn run(&self, i: usize, step: &str) -> String {
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
