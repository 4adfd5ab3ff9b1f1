//! The peer tier's material: the upstream chart, its test values and its
//! renders, kept beside the repository in `../shared` (or where
//! `WANDB_SHARED` points), never inside it.
//!
//! A fresh clone has none of it: every test that needs it asks [`Shared::find`]
//! and, given `None`, prints one `skipped:` line and passes.

use std::path::{Path, PathBuf};

/// The repository's root, as this crate was built from it.
pub fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// The folder of upstream material: `$WANDB_SHARED`, else `../shared` beside
/// the repository.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("WANDB_SHARED") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => match repo_root().parent() {
            Some(parent) => parent.join("shared"),
            None => PathBuf::from("../shared"),
        },
    }
}

/// The upstream chart's version this project is measured against.
pub const UPSTREAM_CHART: &str = "operator-wandb-0.43.8.tgz";

/// Upstream material that is present.
#[derive(Debug, Clone)]
pub struct Shared {
    pub dir: PathBuf,
}

/// One upstream test case: a values file and what the upstream chart
/// rendered for it (`helm template wandb`, namespace `default`).
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub values: PathBuf,
    pub upstream: PathBuf,
}

impl Shared {
    /// The material, when its reference cases are there.
    pub fn find() -> Option<Shared> {
        let dir = shared_dir();
        dir.join("reference/upstream")
            .is_dir()
            .then_some(Shared { dir })
    }

    /// The material, or the one line that says what is skipped: for tests,
    /// `let Some(shared) = Shared::or_skip("parity not measured") else { return };`
    pub fn or_skip(consequence: &str) -> Option<Shared> {
        let found = Self::find();
        if found.is_none() {
            skip(
                "upstream reference",
                &shared_dir().join("reference"),
                consequence,
            );
        }
        found
    }

    /// Every reference case with both files, sorted by name.
    pub fn cases(&self) -> Vec<Case> {
        let dir = self.dir.join("reference/upstream");
        let mut cases: Vec<Case> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .filter_map(|entry| {
                let values = entry.ok()?.path();
                let name = values
                    .file_name()?
                    .to_str()?
                    .strip_suffix(".values.yaml")?
                    .to_string();
                let upstream = dir.join(format!("{name}.upstream.yaml"));
                upstream.is_file().then_some(Case {
                    name,
                    values,
                    upstream,
                })
            })
            .collect();
        cases.sort_by(|a, b| a.name.cmp(&b.name));
        cases
    }
}

/// The packaged upstream chart, or the one line that says what is skipped.
pub fn chart_or_skip(consequence: &str) -> Option<PathBuf> {
    let path = shared_dir().join("peers").join(UPSTREAM_CHART);
    if path.is_file() {
        return Some(path);
    }
    skip("upstream chart", &path, consequence);
    None
}

/// One line, the same for every skipped peer test:
/// `skipped: upstream reference not found at ...; parity not measured`.
pub fn skip(what: &str, path: &Path, consequence: &str) {
    say(&format!(
        "skipped: {what} not found at {}; {consequence}",
        path.display()
    ));
}

/// A line on stderr that the test harness shows even for a passing test:
/// written to the stream itself, which libtest's capture does not intercept.
pub fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}
