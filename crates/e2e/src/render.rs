//! Renders of the operator binary, split into documents; the reference cases.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::*;

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
