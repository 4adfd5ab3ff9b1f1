//! Peer tier: our render of every upstream test case against what the
//! upstream chart rendered for it, check by check. A difference fails the
//! test unless `docs/compatibility.md` lists it with its reason; a ledger
//! entry that excuses nothing fails it too, so the ledger stays true.

use wandb_contract::docs::read_objects;
use wandb_contract::peer::{Shared, say};
use wandb_contract::report::Report;
use wandb_contract::{Ledger, compare, render_objects};

/// The README's two examples, which must be among the cases.
const SEEDS: &[&str] = &["seed-minimal", "seed-production"];

#[test]
fn every_upstream_case_meets_the_contract() {
    let Some(shared) = Shared::or_skip("the deep contract not measured") else {
        return;
    };
    let ledger = Ledger::read().unwrap_or_else(|e| panic!("{e:#?}"));
    let cases = shared.cases();
    assert!(cases.len() >= 30, "found only {} cases", cases.len());
    let mut report = Report::default();
    for case in &cases {
        let upstream = read_objects(&case.upstream).unwrap_or_else(|e| panic!("{e}"));
        match render_objects(&case.values) {
            Ok(ours) => report.add(&case.name, compare(&upstream, &ours), &ledger),
            Err(e) => report.add_error(&case.name, e.to_string()),
        }
    }
    // Failed checks listed per case: $WANDB_CONTRACT_DETAILS, 20 by default.
    let details = std::env::var("WANDB_CONTRACT_DETAILS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(20);
    let text = report.text(details);
    say(&text);
    if let Some(dir) = option_env!("CARGO_TARGET_TMPDIR") {
        let _ = std::fs::write(format!("{dir}/contract-report.txt"), &text);
    }
    let unused = report.unused(&ledger);
    assert!(
        unused.is_empty(),
        "ledger entries that excuse no difference any more (remove them): {unused:?}"
    );
    for seed in SEEDS {
        assert!(
            report.cases.iter().any(|c| c.name == *seed),
            "case {seed}, the README's example, is missing"
        );
    }
    assert!(
        report.clean(),
        "differences from the upstream chart that docs/compatibility.md does not list (see the report above)"
    );
}

#[test]
fn every_upstream_case_loads_without_unknown_keys() {
    let Some(shared) = Shared::or_skip("upstream values not loaded") else {
        return;
    };
    let mut failures = Vec::new();
    for case in shared.cases() {
        let loaded = wandb_render::builtin::load(
            &[wandb_values::Source::File(case.values.clone())],
            &mut wandb_values::Disk,
        );
        match loaded {
            Ok(loaded) => {
                for w in loaded.warnings {
                    say(&format!("{}: warning: {w}", case.name));
                    // A key we do not read at all fails; a note on a key
                    // we read (an `install` that a global switch beats) not.
                    let ignored = w.message.starts_with("unknown key")
                        || w.message.contains("has no effect here");
                    if ignored {
                        failures.push(format!("{}: {w}", case.name));
                    }
                }
            }
            Err(errors) => failures.push(format!("{}: {errors:?}", case.name)),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
