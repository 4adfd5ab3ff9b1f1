//! The upstream chart rendered by Helm, for the key-fidelity test: its
//! values, its renders of a base with keys changed (several at a time where
//! their effects can be told apart, see [`crate::batches`]), on every core,
//! and each result cached by what determines it (chart, base, the probe), so
//! that a second run on the same machine takes seconds. The cache is written
//! as the renders come in ([`crate::effects_cache`]) and only saves time:
//! without it everything is rendered again.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use crate::batches::{self, Key, scope_of};
use crate::docs::parse_objects;
use crate::effects_cache::{CachedEffects, EffectsCache};
use crate::fidelity::{Probe, changed, fingerprints};

/// Helm: `$HELM`, else the one `hack/cluster install` put in the cache, else
/// `helm` on PATH.
pub fn find_helm() -> Option<PathBuf> {
    if let Some(helm) = std::env::var_os("HELM").filter(|h| !h.is_empty()) {
        return Some(PathBuf::from(helm));
    }
    let cached = cache_root().join("bin/helm3");
    if cached.is_file() {
        return Some(cached);
    }
    let on_path = Command::new("helm").arg("version").output();
    on_path
        .is_ok_and(|o| o.status.success())
        .then(|| PathBuf::from("helm"))
}

fn cache_root() -> PathBuf {
    match std::env::var_os("WANDB_OPERATOR_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/wandb-operator"),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HelmError {
    #[error("running {0}: {1}")]
    Spawn(String, std::io::Error),
    #[error("reading {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0} failed: {1}")]
    Failed(String, String),
    #[error("{0}")]
    Output(String),
}

/// The upstream chart and the Helm that renders it.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub helm: PathBuf,
    pub chart: PathBuf,
}

/// What each key changes upstream: the objects, or `None` when Helm refuses
/// the changed value.
pub type Effects = BTreeMap<String, Option<BTreeSet<(String, String)>>>;

/// An upstream render: each object's fingerprint, and the subchart that
/// rendered it (`None`: the parent chart).
#[derive(Debug, Default)]
pub struct Render {
    pub objects: BTreeMap<Key, String>,
    pub scopes: BTreeMap<Key, Option<String>>,
}

impl Upstream {
    fn run(&self, args: &[&str]) -> Result<String, HelmError> {
        let what = format!("helm {}", args.first().copied().unwrap_or(""));
        let out = Command::new(&self.helm)
            .args(args)
            .output()
            .map_err(|e| HelmError::Spawn(what.clone(), e))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(HelmError::Failed(
                what,
                err.lines().take(3).collect::<Vec<_>>().join(" "),
            ));
        }
        String::from_utf8(out.stdout).map_err(|e| HelmError::Output(e.to_string()))
    }

    /// The chart's own values.yaml.
    pub fn values(&self) -> Result<Value, HelmError> {
        let text = self.run(&["show", "values", &self.chart.to_string_lossy()])?;
        // Read as our loader reads a values file (and Helm does: `0755` is octal).
        wandb_values::load::parse_yaml("values.yaml", &text)
            .map_err(|e| HelmError::Output(e.to_string()))
    }

    /// The names (aliases) of the chart's subcharts, from its Chart.yaml.
    pub fn subcharts(&self) -> Result<BTreeSet<String>, HelmError> {
        let text = self.run(&["show", "chart", &self.chart.to_string_lossy()])?;
        let chart: Value =
            serde_saphyr::from_str(&text).map_err(|e| HelmError::Output(e.to_string()))?;
        let deps = chart["dependencies"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Ok(deps
            .iter()
            .filter_map(|d| d["alias"].as_str().or(d["name"].as_str()))
            .map(str::to_string)
            .collect())
    }

    /// `helm template wandb CHART -f BASE [--set-json FLAG]...`: the objects
    /// as fingerprints, and the subchart that rendered each.
    pub fn template(&self, base: &Path, set_json: &[String]) -> Result<Render, HelmError> {
        let chart = self.chart.to_string_lossy();
        let base = base.to_string_lossy();
        let mut args = vec!["template", "wandb", &chart, "-f", &base];
        for flag in set_json {
            args.extend(["--set-json", flag]);
        }
        let text = self.run(&args)?;
        let mut render = Render::default();
        for doc in text.split("\n---") {
            let source = doc
                .lines()
                .find_map(|l| l.strip_prefix("# Source: "))
                .unwrap_or("");
            let objects = parse_objects("helm template", doc)
                .map_err(|e| HelmError::Output(e.to_string()))?;
            for (key, fingerprint) in fingerprints(&objects) {
                render.scopes.insert(key.clone(), scope_of(source));
                render.objects.insert(key, fingerprint);
            }
        }
        Ok(render)
    }

    /// What every probe changes in the upstream render of `base`. Each
    /// probe's effect is cached by chart, base, Helm version and the probe's
    /// own `--set-json` flag, so a new or changed probe renders only itself.
    /// `progress` is told how many are done, now and then.
    pub fn effects(
        &self,
        base: &Path,
        probes: &[Probe],
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Effects, HelmError> {
        let mut cache = EffectsCache::open(self.cache_file(base)?);
        // Only the probes of this run are kept, so the file does not grow.
        let flags: BTreeSet<String> = probes.iter().map(Probe::set_json).collect();
        cache.retain(|flag| flags.contains(flag));
        let missing: Vec<&Probe> = probes
            .iter()
            .filter(|p| !cache.known().contains_key(&p.set_json()))
            .collect();
        let known = if missing.is_empty() {
            cache.known().clone()
        } else {
            let new = self.render_effects(base, &missing, progress, &cache)?;
            cache.finish(new)
        };
        Ok(probes
            .iter()
            .map(|p| (p.key(), known.get(&p.set_json()).cloned().flatten()))
            .collect())
    }

    /// `helm template` of `base` with the probes, several in a render where
    /// [`batches`](crate::batches) can tell their effects apart, on every
    /// core; what is done so far goes to `cache` now and then.
    fn render_effects(
        &self,
        base: &Path,
        probes: &[&Probe],
        progress: &(dyn Fn(usize, usize) + Sync),
        cache: &EffectsCache,
    ) -> Result<CachedEffects, HelmError> {
        // Generated passwords differ between two renders of the same values.
        let first = self.template(base, &[])?;
        let noise = changed(
            &first.objects,
            &self.template(base, &[])?.objects,
            &BTreeSet::new(),
        );
        let plan = batches::plan(probes, &self.subcharts()?);
        crate::peer::say(&format!(
            "  {} keys to render upstream, in {} renders to start with",
            probes.len(),
            plan.len()
        ));
        // A stack: the shared renders, and the halves they split into, come
        // off it first; the single probes last never split, so a worker that
        // finds it empty leaves no half behind for the other.
        let queue = Mutex::new(plan);
        let (done, renders) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let results = Mutex::new(CachedEffects::new());
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    while let Some(members) = queue.lock().ok().and_then(|mut q| q.pop()) {
                        let flags: Vec<String> =
                            members.iter().map(|&i| probes[i].set_json()).collect();
                        let render = self.template(base, &flags);
                        renders.fetch_add(1, Ordering::SeqCst);
                        let told = render.ok().and_then(|after| {
                            let moved = changed(&first.objects, &after.objects, &noise);
                            let scopes: BTreeMap<_, _> = first
                                .scopes
                                .iter()
                                .chain(&after.scopes)
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect();
                            let with: Vec<(usize, &Probe)> =
                                members.iter().map(|&i| (i, probes[i])).collect();
                            batches::attribute(&with, &moved, &scopes)
                        });
                        match (told, members.len()) {
                            (Some(told), _) => {
                                let n = told.len();
                                if let Ok(mut results) = results.lock() {
                                    for (i, effect) in told {
                                        results.insert(probes[i].set_json(), Some(effect));
                                    }
                                    cache.checkpoint(&results);
                                }
                                let before = done.fetch_add(n, Ordering::SeqCst);
                                if (before + n) / 100 > before / 100 {
                                    progress(before + n, probes.len());
                                }
                            }
                            // Alone and refused: Helm fails on this value.
                            (None, 1) => {
                                if let Ok(mut results) = results.lock() {
                                    results.insert(probes[members[0]].set_json(), None);
                                }
                                done.fetch_add(1, Ordering::SeqCst);
                            }
                            (None, n) => {
                                if let Ok(mut q) = queue.lock() {
                                    let (a, b) = members.split_at(n / 2);
                                    q.push(a.to_vec());
                                    q.push(b.to_vec());
                                }
                            }
                        }
                    }
                });
            }
        });
        crate::peer::say(&format!(
            "  upstream renders: {} for {} keys",
            renders.into_inner(),
            probes.len()
        ));
        Ok(results.into_inner().unwrap_or_default())
    }

    /// The cache file for a chart, base and Helm version.
    fn cache_file(&self, base: &Path) -> Result<PathBuf, HelmError> {
        let read =
            |p: &Path| std::fs::read(p).map_err(|e| HelmError::Read(p.display().to_string(), e));
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        read(&self.chart)?.hash(&mut hasher);
        read(base)?.hash(&mut hasher);
        let helm_version = self.run(&["version", "--short"]).unwrap_or_default();
        helm_version.hash(&mut hasher);
        Ok(cache_root().join(format!("key-fidelity/{:016x}.json", hasher.finish())))
    }
}
