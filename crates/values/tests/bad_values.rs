//! Bad values, from files (`tests/bad/*.yaml`), generated text too large to
//! keep in the repository, `--set` flags and a resource's `spec.values` tree.
//!
//! Each one loads with a clear outcome: an error whose every line names a key,
//! a file or a flag and is one line of bounded length; or, where the input is
//! odd but usable (a 1 MB license), values. Each is timed (a generous 5 s
//! bound, so a slow machine does not flake; they take milliseconds) and the
//! process's peak memory is checked once all have run.
//!
//! `cargo test -p wandb-values --test bad_values -- --nocapture` prints the
//! table: input, outcome, first message, time.

use std::path::PathBuf;
use std::time::Instant;

use serde_json::{Value, json};
use wandb_render::builtin::load;
use wandb_values::load::MAX_ERRORS;
use wandb_values::{Disk, MAX_MESSAGE_CHARS, MAX_PATH_CHARS, SetKind, Source};

/// Peak resident memory of the whole test process, all cases run.
const MEMORY_BOUND_MIB: u64 = 1024;

/// What a case must give.
enum Expect {
    /// Errors; the first one shown contains this text.
    Err(&'static str),
    /// Values; the first warning shown, if any, contains this text.
    Ok(&'static str),
}

struct Case {
    input: String,
    sources: Vec<Source>,
    expect: Expect,
}

fn bad_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/bad")
}

/// The expected first message of every file in `tests/bad`.
const FILES: &[(&str, Expect)] = &[
    (
        "alias-bomb.yaml",
        Expect::Err(
            "invalid YAML: too large: more than 100000 values, lists and maps (aliases expanded)",
        ),
    ),
    (
        "anchors.yaml",
        Expect::Err("console.replicaCount: expected an integer, found a map"),
    ),
    (
        "bad-indentation.yaml",
        Expect::Err("invalid YAML: mapping values are not allowed in this context at line 3"),
    ),
    (
        "deep-nesting.yaml",
        Expect::Err("invalid YAML: too large: nested too deeply at line 4"),
    ),
    (
        "duplicate-keys.yaml",
        Expect::Err("invalid YAML: duplicate mapping key: replicaCount"),
    ),
    (
        "invalid-utf8.yaml",
        Expect::Err("cannot read the file: stream did not contain valid UTF-8"),
    ),
    (
        "multiple-documents.yaml",
        Expect::Err(
            "invalid YAML: a values file is one YAML document, found more than one ('---') at line 4",
        ),
    ),
    (
        "negative-replicas.yaml",
        Expect::Err("app.replicaCount: must be 0 or more, found -1"),
    ),
    (
        "non-finite.yaml",
        Expect::Err("invalid YAML: non-finite float `.inf` rejected"),
    ),
    (
        "numbers-beyond-i64.yaml",
        Expect::Err(
            "app.replicaCount: expected an integer that fits in 32 bits, found an integer 9223372036854775808",
        ),
    ),
    (
        "replica-count-beyond-i32.yaml",
        Expect::Err(
            "app.replicaCount: expected an integer that fits in 32 bits, found an integer 2147483648",
        ),
    ),
    (
        "tabs.yaml",
        Expect::Err(
            "invalid YAML: tabs disallowed within this context (block indentation) at line 2",
        ),
    ),
    (
        "tags.yaml",
        Expect::Err("app.replicaCount: expected an integer, found a string \"3\""),
    ),
    (
        "top-level-list.yaml",
        Expect::Err("expected a map of values at the top level, found a list"),
    ),
    (
        "top-level-scalar.yaml",
        Expect::Err("expected a map of values at the top level, found a string"),
    ),
    ("unclosed.yaml", Expect::Err("invalid YAML:")),
    (
        "unicode.yaml",
        Expect::Err("app.replicaCount: expected an integer, found a string \"٣\""),
    ),
    (
        "wrong-types.yaml",
        Expect::Err("app.env: expected a map, found a list"),
    ),
];

fn file_cases() -> Vec<Case> {
    let mut names: Vec<String> = std::fs::read_dir(bad_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    let listed: Vec<&str> = FILES.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names, listed,
        "every file of tests/bad has an expectation here"
    );
    FILES
        .iter()
        .map(|(name, expect)| Case {
            input: format!("bad/{name}"),
            sources: vec![Source::File(bad_dir().join(name))],
            expect: match expect {
                Expect::Err(m) => Expect::Err(m),
                Expect::Ok(m) => Expect::Ok(m),
            },
        })
        .collect()
}

fn inline(input: &str, yaml: String, expect: Expect) -> Case {
    Case {
        input: input.into(),
        sources: vec![Source::Inline {
            name: "values.yaml".into(),
            yaml,
        }],
        expect,
    }
}

fn flag(input: &str, kind: SetKind, arg: String, expect: Expect) -> Case {
    Case {
        input: input.into(),
        sources: vec![Source::Set(kind, arg)],
        expect,
    }
}

fn generated_cases() -> Vec<Case> {
    let mb = "x".repeat(1 << 20);
    let mut block = String::new();
    for level in 0..1000 {
        block.push_str(&"  ".repeat(level));
        block.push_str("a:\n");
    }
    let assignments: Vec<String> = (0..10_000).map(|i| format!("app.env.K{i}=v{i}")).collect();
    let json_assignments: Vec<String> = (0..10_000)
        .map(|i| format!("app.env.K{i}={{\"value\":\"v{i}\"}}"))
        .collect();
    let deep_tree = (0..100).fold(json!(1), |inner, _| json!({ "a": inner }));
    vec![
        inline(
            "an envFrom entry of an unknown kind",
            "app:\n  envFrom:\n    my-config: configMap\n".into(),
            Expect::Err(
                "app.envFrom.my-config: expected configMapRef or secretRef, found \"configMap\"",
            ),
        ),
        inline(
            "an envFrom entry of a job's container of an unknown kind",
            "settingsMigrationJob:\n  jobs:\n    smj:\n      containers:\n        smj:\n          envFrom:\n            my-secret: secret\n".into(),
            Expect::Err(
                "settingsMigrationJob.jobs.smj.containers.smj.envFrom.my-secret: expected configMapRef or secretRef, found \"secret\"",
            ),
        ),
        // A 1 MB string is fine where a string goes (a CA bundle can be
        // large); files up to 8 MiB are read.
        inline(
            "1 MB string at global.license",
            format!("global:\n  license: {mb}\n"),
            Expect::Ok(""),
        ),
        inline(
            "1 MB string at global.host",
            format!("global:\n  host: {mb}\n"),
            Expect::Err(
                "global.host: expected a URL starting with http:// or https://, found \"xxxx",
            ),
        ),
        inline(
            "1 MB unknown key",
            format!("global:\n  ? {mb}\n  : 1\n"),
            Expect::Ok("global.xxxx"),
        ),
        inline(
            "1000 levels of nesting, block style (1 MB)",
            block,
            Expect::Err(
                "values.yaml: invalid YAML: too large: nested deeper than 64 levels at line 65",
            ),
        ),
        inline(
            "list of 300,000 items",
            format!(
                "global:\n  imagePullSecrets: [{}]\n",
                vec!["{name: a}"; 300_000].join(",")
            ),
            Expect::Err(
                "values.yaml: invalid YAML: too large: more than 100000 values, lists and maps",
            ),
        ),
        inline(
            "list of 40,000 wrong items",
            format!(
                "global:\n  tolerations: [{}]\n",
                vec!["1"; 40_000].join(",")
            ),
            Expect::Err("global.tolerations[0]: expected a map, found an integer 1"),
        ),
        inline(
            "1 MB string aliased 100 times",
            format!("a: &a {mb}\nb: [{}]\n", vec!["*a"; 100].join(",")),
            Expect::Err(
                "values.yaml: invalid YAML: too large: more than 16 MiB of text (aliases expanded)",
            ),
        ),
        flag(
            "--set, 10,000 assignments",
            SetKind::Typed,
            assignments.join(","),
            Expect::Ok(""),
        ),
        flag(
            "--set, 10,000 assignments then a wrong type",
            SetKind::Typed,
            assignments.join(",") + ",app.replicaCount=two",
            Expect::Err("app.replicaCount: expected an integer, found a string \"two\""),
        ),
        flag(
            "--set, 10,000 assignments then no value",
            SetKind::Typed,
            assignments.join(",") + ",app.image",
            Expect::Err("key \"app.image\" has no value (expected key=value)"),
        ),
        flag(
            "--set-json, 10,000 assignments",
            SetKind::Json,
            json_assignments.join(","),
            Expect::Ok(""),
        ),
        flag(
            "--set, list index beyond the max",
            SetKind::Typed,
            "global.tolerations[65537].key=a".into(),
            Expect::Err("list index 65537 is greater than the maximum supported index 65536"),
        ),
        flag(
            "--set, list index beyond 64 bits",
            SetKind::Typed,
            "global.tolerations[99999999999999999999999].key=a".into(),
            Expect::Err("list index \"99999999999999999999999\" is not a non-negative integer"),
        ),
        flag(
            "--set, 5 lists of 65,537 entries",
            SetKind::Typed,
            (0..5)
                .map(|i| format!("k{i}[65536]=1"))
                .collect::<Vec<_>>()
                .join(","),
            Expect::Err("the list indexes of this flag add more than 262148 list entries in all"),
        ),
        flag(
            "--set, a key 10,000 levels deep",
            SetKind::Typed,
            vec!["a"; 10_000].join(".") + "=1",
            Expect::Err("nests 10000 levels deep, more than the 64 allowed"),
        ),
        flag(
            "--set, a key with a line break",
            SetKind::Typed,
            "app.replica\nCount=1,app.image".into(),
            Expect::Err("--set app.replica\\nCount=1,app.image: key \"app.image\" has no value"),
        ),
        flag(
            "--set, 1 MB key",
            SetKind::Typed,
            format!("{mb}=1"),
            Expect::Ok("xxxx"),
        ),
        Case {
            input: "spec.values 100 levels deep".into(),
            sources: vec![Source::Tree {
                name: "spec.values".into(),
                tree: json!({ "global": { "banners": deep_tree } }),
            }],
            expect: Expect::Err(": nested deeper than 64 levels"),
        },
    ]
}

/// Peak resident memory of this process, in MiB (Linux; 0 elsewhere).
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

fn short(text: &str, max: usize) -> String {
    let cut: String = text.chars().take(max).collect();
    if cut.len() < text.len() {
        cut + "…"
    } else {
        cut
    }
}

/// Runs one case; returns a row of the table, or why it failed.
fn run(case: &Case) -> Result<String, String> {
    let started = Instant::now();
    let result = load(&case.sources, &mut Disk);
    // Printed, not asserted: a loaded machine is slow. What keeps a case
    // quick is the loader's work bound (100,000 values), which the
    // "too large" cases check.
    let elapsed = started.elapsed();
    let (outcome, problems) = match &result {
        Ok(loaded) => (
            format!("ok, {} warnings", loaded.warnings.len()),
            &loaded.warnings,
        ),
        Err(errors) => (format!("error ({})", errors.len()), errors),
    };
    for problem in problems {
        let shown = problem.to_string();
        if shown.contains(['\n', '\r']) {
            return Err(format!("a message on more than one line: {shown:?}"));
        }
        if shown.chars().count() > MAX_PATH_CHARS + MAX_MESSAGE_CHARS + 4 {
            return Err(format!("a message of {} characters", shown.chars().count()));
        }
        if problem.path.is_empty() {
            return Err(format!("a message naming nothing: {shown:?}"));
        }
    }
    let first = problems.first().map(|p| p.to_string()).unwrap_or_default();
    match (&case.expect, &result) {
        (Expect::Err(needle), Err(errors)) => {
            if !first.contains(needle) {
                return Err(format!("first error {first:?} lacks {needle:?}"));
            }
            if errors.len() > MAX_ERRORS {
                return Err(format!("{} errors", errors.len()));
            }
            // A problem with the file as a whole names the file.
            if let Some(Source::File(path)) = case.sources.first()
                && !first.contains(':')
            {
                return Err(format!("{first:?} does not name {}", path.display()));
            }
        }
        (Expect::Ok(needle), Ok(_)) => {
            if !first.contains(needle) {
                return Err(format!("first warning {first:?} lacks {needle:?}"));
            }
        }
        (Expect::Err(_), Ok(_)) => return Err("loaded, expected an error".into()),
        (Expect::Ok(_), Err(_)) => return Err(format!("failed: {first}")),
    }
    let first = first.replace(&bad_dir().display().to_string(), "bad");
    Ok(format!(
        "| {} | {outcome} | {} | {:.1} ms |",
        case.input,
        short(&first, 110).replace('|', "\\|"),
        elapsed.as_secs_f64() * 1000.0
    ))
}

#[test]
fn bad_values_fail_clearly_and_in_bounded_memory() {
    let mut cases = file_cases();
    cases.extend(generated_cases());
    let mut rows = vec![
        "| input | outcome | first message | time |".to_string(),
        "| --- | --- | --- | --- |".to_string(),
    ];
    let mut failures = Vec::new();
    for case in &cases {
        match run(case) {
            Ok(row) => rows.push(row),
            Err(why) => failures.push(format!("{}: {why}", case.input)),
        }
    }
    println!("{}", rows.join("\n"));
    let peak = peak_rss_mib();
    println!("peak resident memory of the test process: {peak} MiB");
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(peak < MEMORY_BOUND_MIB, "peak resident memory {peak} MiB");
}

#[test]
fn every_wrong_type_of_the_wrong_types_file_is_reported() {
    let Err(errors) = load(
        &[Source::File(bad_dir().join("wrong-types.yaml"))],
        &mut Disk,
    ) else {
        panic!("wrong-types.yaml loaded");
    };
    let mut paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "app.env",
            "app.image.repository",
            "app.replicaCount",
            "console.autoscaling.horizontal.minReplicas",
            "global.api.enabled",
            "global.host",
            "global.license",
            "global.mysql.host",
            "global.mysql.port",
            "global.nodeSelector",
            "global.size",
            "global.tolerations",
            "ingress.annotations",
            "ingress.install",
            "mysql.persistence.size",
        ]
    );
}

#[test]
fn unicode_keys_are_warned_about_on_one_line() {
    // The same file with the wrong replica count removed loads, with a
    // warning per unknown key, control characters escaped.
    let text = std::fs::read_to_string(bad_dir().join("unicode.yaml")).unwrap();
    let text = text.replace("replicaCount: \"٣\"", "replicaCount: 3");
    let loaded = load(
        &[Source::Inline {
            name: "unicode.yaml".into(),
            yaml: text,
        }],
        &mut Disk,
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(loaded.values.global.license, "🔑🔑🔑");
    let shown: Vec<String> = loaded.warnings.iter().map(|w| w.to_string()).collect();
    for needle in [
        "global.🚀: unknown key, ignored",
        "global.\\u{202e}evil\\u{202c}: unknown key, ignored",
        "global.tab\\there\\u{7}bell\\u{1b}[31m: unknown key, ignored",
    ] {
        assert!(
            shown.iter().any(|s| s.starts_with(needle)),
            "{needle:?} not in {shown:#?}"
        );
    }
}

#[test]
fn a_resource_tree_that_is_not_a_map_names_itself() {
    let Err(errors) = load(
        &[Source::Tree {
            name: "spec.values".into(),
            tree: Value::String("x".into()),
        }],
        &mut Disk,
    ) else {
        panic!("a string loaded as values");
    };
    assert_eq!(
        errors[0].to_string(),
        "spec.values: expected a map of values, found a string"
    );
}
