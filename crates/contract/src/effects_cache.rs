//! The key-fidelity cache on disk: what each probe changes upstream, by its
//! `--set-json` flag. It is written as the renders come in, so that a run
//! stopped half way (a CI time-out, Ctrl-C) keeps the renders it made.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::upstream::Effects;

/// How often the renders made so far are written.
const EVERY: Duration = Duration::from_secs(15);

/// Effects by `--set-json` flag (the key and its value), as cached.
pub type CachedEffects = Effects;

/// The cache file of one chart, base and Helm version, and what it held.
pub struct EffectsCache {
    file: PathBuf,
    known: CachedEffects,
    every: Duration,
    last_write: Mutex<Instant>,
}

impl EffectsCache {
    /// The file's entries; none when it is missing or unreadable.
    pub fn open(file: PathBuf) -> EffectsCache {
        let known = std::fs::read_to_string(&file)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        EffectsCache {
            file,
            known,
            every: EVERY,
            last_write: Mutex::new(Instant::now()),
        }
    }

    pub fn known(&self) -> &CachedEffects {
        &self.known
    }

    /// Keeps only the entries of these flags, so that the file does not grow
    /// with probes that no longer exist.
    pub fn retain(&mut self, flags: impl Fn(&str) -> bool) {
        self.known.retain(|flag, _| flags(flag));
    }

    /// Writes the entries known with `new` ones, at most every [`EVERY`].
    pub fn checkpoint(&self, new: &CachedEffects) {
        let Ok(mut last) = self.last_write.lock() else {
            return;
        };
        if last.elapsed() >= self.every {
            self.write(new);
            *last = Instant::now();
        }
    }

    /// Adds `new` to the entries and writes them all.
    pub fn finish(mut self, new: CachedEffects) -> CachedEffects {
        self.known.extend(new);
        write_atomically(&self.file, &self.known);
        self.known
    }

    fn write(&self, new: &CachedEffects) {
        let mut all: BTreeMap<_, _> = self.known.clone();
        all.extend(new.iter().map(|(k, v)| (k.clone(), v.clone())));
        write_atomically(&self.file, &all);
    }
}

/// Through a temporary file and a rename: a write cut short leaves the last
/// whole file, never half of one (which would read as an empty cache).
fn write_atomically(file: &Path, effects: &CachedEffects) {
    let Ok(text) = serde_json::to_string(effects) else {
        return;
    };
    if let Some(dir) = file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let tmp = file.with_extension(format!("{}.tmp", std::process::id()));
    if std::fs::write(&tmp, text).is_ok() {
        let _ = std::fs::rename(&tmp, file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn effect(kind: &str) -> Option<BTreeSet<(String, String)>> {
        Some(BTreeSet::from([(kind.to_string(), "wandb".to_string())]))
    }

    fn temp_file(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("effects-cache-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join(name)
    }

    #[test]
    fn a_run_cut_short_keeps_what_it_rendered() {
        let file = temp_file("a.json");
        let mut cache = EffectsCache::open(file.clone());
        assert!(cache.known().is_empty());
        cache.every = Duration::ZERO;
        let new = CachedEffects::from([("a=1".to_string(), effect("Deployment"))]);
        cache.checkpoint(&new);
        // The run stops here: nothing calls finish.
        drop(cache);
        let again = EffectsCache::open(file.clone());
        assert_eq!(again.known(), &new);

        let more = CachedEffects::from([("b=2".to_string(), None)]);
        let all = again.finish(more);
        assert_eq!(all.len(), 2);
        assert_eq!(EffectsCache::open(file.clone()).known(), &all);
        let _ = std::fs::remove_dir_all(file.parent().expect("a folder"));
    }

    #[test]
    fn entries_of_probes_gone_are_dropped() {
        let mut cache = EffectsCache::open(temp_file("b.json"));
        cache.known = CachedEffects::from([
            ("kept=1".to_string(), effect("Service")),
            ("gone=1".to_string(), None),
        ]);
        cache.retain(|flag| flag.starts_with("kept"));
        assert_eq!(cache.known().keys().collect::<Vec<_>>(), ["kept=1"]);
    }
}
