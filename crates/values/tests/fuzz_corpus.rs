//! The fuzz targets' code paths on the stable toolchain, quickly enough for
//! CI: every file of the kept corpora (`fuzz/corpus/<target>/`) replayed
//! through the functions the targets call, and a bounded property test of
//! random `--set` strings and random YAML-ish documents through them.
//!
//! The targets' checks apply: no panic, and every problem is one line of
//! bounded length naming a key, a file or a flag.

use std::path::PathBuf;
use std::time::Instant;

use proptest::prelude::*;

#[path = "../fuzz/src/lib.rs"]
mod harness;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

fn replay(target: &str, run: fn(&[u8])) {
    let files = corpus(target);
    assert!(
        files.len() >= 50,
        "{target}: only {} corpus files",
        files.len()
    );
    let started = Instant::now();
    for (path, bytes) in &files {
        let outcome = std::panic::catch_unwind(|| run(bytes));
        assert!(outcome.is_ok(), "{target}: {} panicked", path.display());
    }
    println!(
        "{target}: {} files replayed in {:?}",
        files.len(),
        started.elapsed()
    );
}

#[test]
fn the_values_yaml_corpus_replays() {
    replay("values_yaml", harness::values_yaml);
}

#[test]
fn the_set_flags_corpus_replays() {
    replay("set_flags", harness::set_flags);
}

/// Pieces of `--set` syntax and of real keys.
fn set_string() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("global".to_string()),
        Just("app".to_string()),
        Just("replicaCount".to_string()),
        Just("host".to_string()),
        Just("tolerations".to_string()),
        Just("env".to_string()),
        Just("mysql".to_string()),
        Just("port".to_string()),
        Just(".".to_string()),
        Just("=".to_string()),
        Just(",".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("\\".to_string()),
        Just("\"".to_string()),
        Just(":".to_string()),
        Just("null".to_string()),
        Just("true".to_string()),
        Just("65536".to_string()),
        "[0-9]{1,3}",
        "[a-zA-Z_-]{1,6}",
        "\\PC{1,3}",
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

/// Lines of YAML made of real keys, odd values and YAML's own syntax.
fn yaml_document() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("global"),
        Just("app"),
        Just("host"),
        Just("license"),
        Just("replicaCount"),
        Just("env"),
        Just("tolerations"),
        Just("mysql"),
        Just("redis"),
        Just("install"),
        Just("port"),
        Just("image"),
        Just("tag"),
        Just("size"),
        Just("autoscaling"),
        Just("horizontal"),
        Just("minReplicas"),
        Just("ingress"),
        Just("valueFrom"),
        Just("<<"),
        Just("zzz"),
        Just("- name"),
        Just("-"),
    ];
    let value = prop_oneof![
        Just(""),
        Just("1"),
        Just("-1"),
        Just("2147483648"),
        Just("99999999999999999999"),
        Just("1.5"),
        Just(".inf"),
        Just("true"),
        Just("null"),
        Just("~"),
        Just("https://wandb.example.com"),
        Just("\"x\""),
        Just("'y'"),
        Just("[a, 1]"),
        Just("{a: 1}"),
        Just("&a 1"),
        Just("*a"),
        Just("&b {x: 1}"),
        Just("*b"),
        Just("!!str 3"),
        Just("|"),
        Just("\"\\u202e\\n\""),
        Just("🚀"),
        Just("["),
        Just("{"),
    ];
    let line = (0usize..4, key, value)
        .prop_map(|(indent, k, v)| format!("{}{k}: {v}", "  ".repeat(indent)));
    prop::collection::vec(line, 0..16).prop_map(|lines| lines.join("\n") + "\n")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_set_strings(arg in set_string()) {
        harness::set_flags(arg.as_bytes());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_yaml_documents(doc in yaml_document()) {
        harness::values_yaml(doc.as_bytes());
    }
}
