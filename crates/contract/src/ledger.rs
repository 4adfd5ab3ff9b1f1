//! The compatibility ledger: `docs/compatibility.md`, every place where we
//! render differently from the upstream chart on purpose, in a form the
//! contract tests match.
//!
//! Each entry is a `### ` heading followed by lines the tests read and prose
//! they require (the reason):
//!
//! ```text
//! ### The console reads Secrets through a Role
//! checks: `[rbac] ClusterRole/*-console rules`, `[objects] ClusterRoleBinding/*-console present`
//! keys: `console.clusterRole.*`
//! cases: `default`, `seed-minimal`
//!
//! Why ... What a user sees ...
//! ```
//!
//! `checks:` patterns match a failed check's label (`[category] what`),
//! `keys:` patterns match a values key whose upstream effect we do not
//! reproduce; `*` matches any text. Without `cases:` an entry holds for
//! every case.

use std::path::PathBuf;

use crate::peer::repo_root;

/// One deliberate difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub title: String,
    /// 1-based line of the heading in the ledger.
    pub line: usize,
    pub checks: Vec<String>,
    pub keys: Vec<String>,
    /// The cases it holds for; `None` is every case.
    pub cases: Option<Vec<String>>,
    pub reason: String,
}

#[derive(Debug, Clone, Default)]
pub struct Ledger {
    pub entries: Vec<Entry>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LedgerError {
    #[error("docs/compatibility.md:{line}: entry {title:?} has no `checks:` or `keys:` pattern")]
    NoPattern { line: usize, title: String },
    #[error("docs/compatibility.md:{line}: entry {title:?} gives no reason")]
    NoReason { line: usize, title: String },
    #[error("docs/compatibility.md:{line}: `{field}` without an entry heading before it")]
    Orphan { line: usize, field: String },
    #[error("docs/compatibility.md: {0}")]
    Read(String),
}

/// Where the ledger lives.
pub fn path() -> PathBuf {
    repo_root().join("docs/compatibility.md")
}

impl Ledger {
    /// The repository's ledger.
    pub fn read() -> Result<Ledger, Vec<LedgerError>> {
        let text =
            std::fs::read_to_string(path()).map_err(|e| vec![LedgerError::Read(e.to_string())])?;
        Self::parse(&text)
    }

    /// The entries of a ledger's text; every malformed entry is an error.
    pub fn parse(text: &str) -> Result<Ledger, Vec<LedgerError>> {
        let mut entries: Vec<Entry> = Vec::new();
        let mut errors = Vec::new();
        // The entry being read; a heading of a higher level ends it.
        let mut open = false;
        for (i, line) in text.lines().enumerate() {
            if let Some(title) = line.strip_prefix("### ") {
                entries.push(Entry {
                    title: title.trim().to_string(),
                    line: i + 1,
                    checks: Vec::new(),
                    keys: Vec::new(),
                    cases: None,
                    reason: String::new(),
                });
                open = true;
                continue;
            }
            if line.starts_with("## ") || line.starts_with("# ") {
                open = false;
                continue;
            }
            let field = ["checks:", "keys:", "cases:"]
                .into_iter()
                .find(|f| line.starts_with(f));
            let entry = match entries.last_mut() {
                Some(entry) if open => entry,
                _ => {
                    if let Some(field) = field {
                        errors.push(LedgerError::Orphan {
                            line: i + 1,
                            field: field.to_string(),
                        });
                    }
                    continue;
                }
            };
            match field {
                Some("checks:") => entry.checks.extend(quoted(line)),
                Some("keys:") => entry.keys.extend(quoted(line)),
                Some(_) => entry.cases.get_or_insert_default().extend(quoted(line)),
                None if line.trim().is_empty() => {}
                None => {
                    if !entry.reason.is_empty() {
                        entry.reason.push(' ');
                    }
                    entry.reason.push_str(line.trim());
                }
            }
        }
        for e in &entries {
            if e.checks.is_empty() && e.keys.is_empty() {
                errors.push(LedgerError::NoPattern {
                    line: e.line,
                    title: e.title.clone(),
                });
            }
            if e.reason.is_empty() {
                errors.push(LedgerError::NoReason {
                    line: e.line,
                    title: e.title.clone(),
                });
            }
        }
        if errors.is_empty() {
            Ok(Ledger { entries })
        } else {
            Err(errors)
        }
    }

    /// The entry that excuses a failed check of a case, if any.
    pub fn excusing_check(&self, case: &str, label: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.holds_for(case) && e.checks.iter().any(|pattern| glob(pattern, label)))
    }

    /// The entry that excuses a values key, if any.
    pub fn excusing_key(&self, key: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.keys.iter().any(|pattern| glob(pattern, key)))
    }
}

impl Entry {
    fn holds_for(&self, case: &str) -> bool {
        self.cases
            .as_ref()
            .is_none_or(|cases| cases.iter().any(|c| c == case))
    }
}

/// The `backticked` items of a line.
fn quoted(line: &str) -> Vec<String> {
    line.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// `*` matches any text, everything else itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = match parts.split_first() {
        Some(split) => split,
        None => return text.is_empty(),
    };
    let Some(mut left) = text.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return left.is_empty();
    };
    for part in middle {
        match left.find(part) {
            Some(at) => left = &left[at + part.len()..],
            None => return false,
        }
    }
    left.len() >= last.len() && left.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_any_text_at_their_stars() {
        assert!(glob(
            "[rbac] ClusterRole/*-console rules",
            "[rbac] ClusterRole/wandb-console rules"
        ));
        assert!(glob("a*", "a"));
        assert!(glob("*b", "ab"));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(!glob("a*b*c", "aXcYb"));
        assert!(!glob("ab*ba", "aba"), "the ends do not overlap");
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exactly"));
    }

    const LEDGER: &str = "# Compatibility\n\nIntro.\n\n## Ledger\n\n\
        ### Console Role\nchecks: `[rbac] ClusterRole/*-console rules`, `[objects] X present`\n\
        cases: `default`\n\nThe console needs Secrets of its namespace only.\n\n\
        ### Redis password\nkeys: `redis.password`\n\nWe generate one.\n\n## After\n\nMore prose.\n";

    #[test]
    fn entries_are_read_with_their_patterns_cases_and_reason() {
        let ledger = Ledger::parse(LEDGER).unwrap();
        assert_eq!(ledger.entries.len(), 2);
        let console = &ledger.entries[0];
        assert_eq!(console.checks.len(), 2);
        assert_eq!(console.cases.as_deref(), Some(&["default".to_string()][..]));
        assert_eq!(
            console.reason,
            "The console needs Secrets of its namespace only."
        );
        assert_eq!(
            ledger.entries[1].reason, "We generate one.",
            "the next section is not a reason"
        );
        assert!(
            ledger
                .excusing_check("default", "[rbac] ClusterRole/wandb-console rules")
                .is_some()
        );
        assert!(
            ledger
                .excusing_check("other", "[rbac] ClusterRole/wandb-console rules")
                .is_none()
        );
        assert!(ledger.excusing_key("redis.password").is_some());
        assert!(ledger.excusing_key("redis.image").is_none());
    }

    #[test]
    fn an_entry_without_a_pattern_or_a_reason_is_an_error() {
        let errors = Ledger::parse("### Nothing\n\n### Bare\nchecks: `x`\n").unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(matches!(errors[0], LedgerError::NoPattern { line: 1, .. }));
        assert!(matches!(errors[2], LedgerError::NoReason { line: 3, .. }));
    }

    #[test]
    fn the_repository_ledger_is_well_formed() {
        let ledger = Ledger::read().unwrap_or_else(|e| panic!("{e:#?}"));
        assert!(!ledger.entries.is_empty());
    }
}
