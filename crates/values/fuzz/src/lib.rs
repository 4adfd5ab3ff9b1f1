//! What the fuzz targets run, shared with `tests/fuzz_corpus.rs`, which
//! replays the kept corpora through the same functions on the stable
//! toolchain (the test includes this file as a module).
//!
//! Beyond "no panic, no hang, no blow-up", every problem reported must be
//! one line of bounded length that names a key, a file or a flag.

use std::path::Path;

use serde_json::json;
use wandb_values::load::MAX_ERRORS;
use wandb_values::{FileReader, MAX_MESSAGE_CHARS, MAX_PATH_CHARS, Problem, SetKind, Source, set};

/// The name the YAML target's document is loaded under.
pub const YAML_NAME: &str = "fuzz.yaml";

/// Every kind of `--set` flag, in the order the targets apply them.
pub const SET_KINDS: [SetKind; 5] = [
    SetKind::Typed,
    SetKind::String,
    SetKind::Json,
    SetKind::Literal,
    SetKind::File,
];

/// `--set-file` reads this, whatever the path.
pub const FILE_CONTENTS: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

/// Reads every path as [`FILE_CONTENTS`].
pub struct FixedReader;

impl FileReader for FixedReader {
    fn read(&mut self, _path: &Path) -> std::io::Result<String> {
        Ok(FILE_CONTENTS.to_string())
    }
}

/// Bytes as a values file: parsed, checked, typed, validated and, when all
/// of that passes, rendered.
pub fn values_yaml(data: &[u8]) {
    let yaml = String::from_utf8_lossy(data).into_owned();
    let sources = [Source::Inline {
        name: YAML_NAME.into(),
        yaml,
    }];
    match wandb_render::builtin::load(&sources, &mut FixedReader) {
        Ok(loaded) => {
            check_problems(&loaded.warnings, false);
            let release = wandb_render::Release::new("wandb", "default");
            let objects = wandb_render::builtin::render(&loaded.values, &release);
            assert!(!objects.is_empty(), "valid values render no object");
        }
        Err(errors) => check_problems(&errors, true),
    }
}

/// A flag: the first byte picks the kind (its low bits, among
/// [`SET_KINDS`]) and whether the flag is applied alone, through the loader
/// (which applies it with `set::apply` and types the result with
/// `from_user_tree`), or over a tree that already has lists, maps and
/// scalars (its high bit); the rest is the flag's text.
pub fn set_flags(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let kind = SET_KINDS[usize::from(first & 0x7f) % SET_KINDS.len()];
    let arg = String::from_utf8_lossy(rest).into_owned();
    if first & 0x80 == 0 {
        match wandb_render::builtin::load(&[Source::Set(kind, arg)], &mut FixedReader) {
            Ok(loaded) => check_problems(&loaded.warnings, false),
            Err(errors) => check_problems(&errors, true),
        }
        return;
    }
    let mut tree = json!({
        "global": {"host": "https://wandb.example.com", "tolerations": [{"key": "a"}], "size": "small"},
        "app": {"replicaCount": 2, "env": {"A": "b"}},
        "ingress": "not a map",
    });
    let mut read = |_: &str| Ok::<_, String>(FILE_CONTENTS.to_string());
    if set::apply(kind, &arg, &mut tree, &mut read).is_ok() {
        match wandb_render::builtin::from_user_tree(tree) {
            Ok(loaded) => check_problems(&loaded.warnings, false),
            Err(errors) => check_problems(&errors, true),
        }
    }
}

/// Every problem is one bounded line naming where it is; errors come in a
/// bounded number.
pub fn check_problems(problems: &[Problem], errors: bool) {
    if errors {
        assert!(!problems.is_empty(), "an Err with no problem in it");
        assert!(problems.len() <= MAX_ERRORS, "{} errors", problems.len());
    }
    for problem in problems {
        assert!(
            !problem.path.is_empty(),
            "a problem names nothing: {problem:?}"
        );
        let shown = problem.to_string();
        assert!(
            !shown.contains(['\n', '\r']),
            "a problem on more than one line: {shown:?}"
        );
        assert!(
            shown.chars().count() <= MAX_PATH_CHARS + MAX_MESSAGE_CHARS + 4,
            "a problem of {} characters",
            shown.chars().count()
        );
    }
}
