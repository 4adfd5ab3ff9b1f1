//! The contract's score: per case and per category, with every failed check
//! either excused by a ledger entry or reported.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use crate::checks::{Category, Check};
use crate::ledger::Ledger;

/// One case's checks, sorted into passed, excused and failed.
#[derive(Debug, Clone, Default)]
pub struct CaseScore {
    pub name: String,
    pub passed: usize,
    pub excused: usize,
    pub failed: Vec<Check>,
    /// The render itself failed.
    pub error: Option<String>,
}

impl CaseScore {
    pub fn total(&self) -> usize {
        self.passed + self.excused + self.failed.len()
    }
}

#[derive(Debug, Default)]
pub struct Report {
    pub cases: Vec<CaseScore>,
    /// Passed and total checks per category.
    pub categories: BTreeMap<Category, (usize, usize)>,
    /// Titles of the ledger entries that excused a check.
    pub used: BTreeSet<String>,
}

impl Report {
    /// Scores one case's checks against the ledger.
    pub fn add(&mut self, case: &str, checks: Vec<Check>, ledger: &Ledger) {
        let mut score = CaseScore {
            name: case.to_string(),
            ..Default::default()
        };
        for check in checks {
            let tally = self.categories.entry(check.category).or_default();
            tally.1 += 1;
            if check.ok {
                tally.0 += 1;
                score.passed += 1;
            } else if let Some(entry) = ledger.excusing_check(case, &check.label()) {
                score.excused += 1;
                self.used.insert(entry.title.clone());
            } else {
                score.failed.push(check);
            }
        }
        self.cases.push(score);
    }

    /// A case whose render failed.
    pub fn add_error(&mut self, case: &str, error: String) {
        self.cases.push(CaseScore {
            name: case.to_string(),
            error: Some(error),
            ..Default::default()
        });
    }

    /// Ledger entries with check patterns that excused nothing: stale.
    pub fn unused<'a>(&self, ledger: &'a Ledger) -> Vec<&'a str> {
        ledger
            .entries
            .iter()
            .filter(|e| !e.checks.is_empty() && !self.used.contains(&e.title))
            .map(|e| e.title.as_str())
            .collect()
    }

    /// Whether every case rendered and every failure is excused.
    pub fn clean(&self) -> bool {
        self.cases
            .iter()
            .all(|c| c.error.is_none() && c.failed.is_empty())
    }

    /// The table: per case (passed, excused, failed, score outside the
    /// ledger), then per category, then the overall line; up to `details`
    /// failed checks per case.
    pub fn text(&self, details: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:38} {:>6} {:>7} {:>6} {:>7}",
            "case", "passed", "ledger", "failed", "score"
        );
        for c in &self.cases {
            if let Some(error) = &c.error {
                let _ = writeln!(out, "{:38} render failed: {error}", c.name);
                continue;
            }
            let _ = writeln!(
                out,
                "{:38} {:>6} {:>7} {:>6} {:>6.1}%",
                c.name,
                c.passed,
                c.excused,
                c.failed.len(),
                percent(c.passed, c.passed + c.failed.len())
            );
            for f in c.failed.iter().take(details) {
                let found = f.found.as_deref().unwrap_or("-");
                let _ = writeln!(out, "    - {} (ours: {found})", f.label());
            }
        }
        let _ = writeln!(out, "by category (before the ledger):");
        for (category, (passed, total)) in &self.categories {
            let _ = writeln!(
                out,
                "  {:18} {passed:>6}/{total:<6} {:>6.1}%",
                category.as_str(),
                percent(*passed, *total)
            );
        }
        let passed: usize = self.cases.iter().map(|c| c.passed).sum();
        let excused: usize = self.cases.iter().map(|c| c.excused).sum();
        let total: usize = self.cases.iter().map(CaseScore::total).sum();
        let _ = writeln!(
            out,
            "deep contract: {:.1}% ({passed}/{total} checks, {} cases); \
             {excused} differences in the ledger; {:.1}% outside them",
            percent(passed, total),
            self.cases.len(),
            percent(passed, total - excused)
        );
        out
    }
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        100.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}
