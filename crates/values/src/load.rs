//! From values files and `--set` flags to typed, validated [`Values`].

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::check::check;
use crate::set::{self, SetKind};
use crate::tree;
use crate::types::Values;
use crate::validate::validate;
use crate::{Problem, Severity};

/// The embedded defaults: the upstream chart's defaults for every key we know.
pub const DEFAULTS_YAML: &str = include_str!("../defaults.yaml");
/// The same, as JSON (build.rs): faster to parse at every start.
const DEFAULTS_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/defaults.json"));

/// Nesting deeper than this is refused: no real values file comes close, and
/// it keeps a hostile file from exhausting the stack.
pub const MAX_DEPTH: usize = 64;

/// Values files larger than this are refused before they are parsed.
pub const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;

/// At most this many errors are listed; the last line counts the rest.
pub const MAX_ERRORS: usize = 100;

/// Where a piece of values comes from, in the order given on the command line.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// `-f FILE`; `-` is standard input.
    File(PathBuf),
    /// Values given inline as YAML text, e.g. a resource's `spec.values`.
    Inline { name: String, yaml: String },
    /// An already-parsed tree, e.g. a resource's `spec.values`.
    Tree { name: String, tree: Value },
    /// `--set`, `--set-string`, `--set-file`, `--set-json`, `--set-literal`.
    Set(SetKind, String),
}

/// What a release document adds to the values: the defaults it brings
/// (laid over the embedded ones) and the services it runs, each of which
/// takes a service's keys (`replicaCount`, `resources`, `env`, ...).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Additions {
    pub defaults: Value,
    pub services: Vec<String>,
    /// Sizes the document's sizing defines, for `global.size`.
    pub sizes: Vec<String>,
    /// The values keys of services this release does not have (a W&B
    /// version without them): a user's block there is named in a warning.
    pub absent: Vec<String>,
    /// Services whose blocks take only a service's own keys (replicaCount,
    /// resources, env, ...): a server manifest's applications, which get
    /// the rest of their settings from the manifest.
    pub plain_services: Vec<String>,
    /// Services that run only when one of their features is on
    /// (`serverManifest.features.<name>`), by values key.
    pub gated: Vec<(String, Vec<String>)>,
    /// The release, as the warnings name it.
    pub release: String,
}

/// Values ready to render, and what was noticed on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub values: Values,
    /// The merged tree the values were typed from (defaults included).
    pub tree: Value,
    /// Warnings: unknown keys, settings with no effect.
    pub warnings: Vec<Problem>,
}

/// Reads a file's text; the CLI reads the disk, tests use a map.
pub trait FileReader {
    fn read(&mut self, path: &Path) -> std::io::Result<String>;
}

/// Reads from the file system, `-` being standard input.
pub struct Disk;

/// Reads no file: for values that must come inline (a resource's
/// `spec.values`, tests); a file named anyway is not found.
pub struct NoFiles;

impl FileReader for NoFiles {
    fn read(&mut self, path: &Path) -> std::io::Result<String> {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            path.display().to_string(),
        ))
    }
}

impl FileReader for Disk {
    fn read(&mut self, path: &Path) -> std::io::Result<String> {
        use std::io::Read;
        let mut text = String::new();
        if path == Path::new("-") {
            std::io::stdin()
                .take(MAX_FILE_BYTES as u64 + 1)
                .read_to_string(&mut text)?;
        } else {
            std::fs::File::open(path)?
                .take(MAX_FILE_BYTES as u64 + 1)
                .read_to_string(&mut text)?;
        }
        Ok(text)
    }
}

/// The parser's limits: a values file is small, so anything past these is a
/// mistake or an attack (an alias bomb), refused in well under a second.
fn budget() -> serde_saphyr::Budget {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    // The embedded defaults are about 1,100 nodes.
    budget.max_nodes = 100_000;
    // Text beyond twice the largest file can only come from aliases.
    budget.max_total_scalar_bytes = 2 * MAX_FILE_BYTES;
    budget
}

/// How the project reads YAML: within the budget above, and as Helm reads
/// values (YAML 1.1), where `0755` (a volume's defaultMode, say) is octal:
/// 493. Comments are not kept: nothing reads them.
pub fn yaml_options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget());
    options.legacy_octal_numbers = true;
    options.emit_comments = false;
    options
}

/// Parses one YAML document of values. An empty document is no values.
pub fn parse_yaml(name: &str, text: &str) -> Result<Value, Problem> {
    if text.len() > MAX_FILE_BYTES {
        return Err(Problem::error(
            name,
            format!("is larger than {} MiB", MAX_FILE_BYTES / 1024 / 1024),
        ));
    }
    let value: Value = serde_saphyr::from_str_with_options(text, yaml_options())
        .map_err(|e| Problem::error(name, format!("invalid YAML: {}", yaml_message(&e))))?;
    match value {
        Value::Null => Ok(Value::Object(Default::default())),
        Value::Object(_) => Ok(value),
        other => Err(Problem::error(
            name,
            format!(
                "expected a map of values at the top level, found {}",
                tree::type_name(&other)
            ),
        )),
    }
}

/// One line from a YAML error, without the source snippet.
fn yaml_message(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let first = text.lines().next().unwrap_or_default().trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // The library's advice is for programmers, not for users.
    let first = first
        .split(", set DuplicateKeyPolicy")
        .next()
        .unwrap_or(first)
        .replace(
            "multiple YAML documents detected; use from_str_multiple or from_str_multiple_with_options",
            "a values file is one YAML document, found more than one ('---')",
        )
        .replace("recursion limit exceeded", "too large: nested too deeply");
    // `budget breached: Nodes { nodes: 250001 }` in the user's terms.
    let Some((before, breach)) = first.split_once("budget breached: ") else {
        return first;
    };
    let (breach, after) = breach.split_once(" }").unwrap_or((breach, ""));
    let budget = budget();
    let what = match breach
        .split_once(' ')
        .map_or(breach, |(variant, _)| variant)
    {
        "Depth" => format!("nested deeper than {MAX_DEPTH} levels"),
        "Nodes" => format!(
            "more than {} values, lists and maps (aliases expanded)",
            budget.max_nodes
        ),
        "ScalarBytes" => format!(
            "more than {} MiB of text (aliases expanded)",
            budget.max_total_scalar_bytes / 1024 / 1024
        ),
        "Aliases" => format!("more than {} aliases", budget.max_aliases),
        "Anchors" => format!("more than {} anchors", budget.max_anchors),
        "Events" => format!("more than {} YAML events", budget.max_events),
        _ => format!("over the parser's limits ({breach} }})"),
    };
    format!("{before}too large: {what}{after}")
}

/// An error at the first place where `value` nests deeper than
/// [`MAX_DEPTH`] containers (the top-level map being the first); the walk
/// itself goes no deeper than that.
fn depth_problem(value: &Value, depth: usize, path: &mut String) -> Option<Problem> {
    if !(value.is_object() || value.is_array()) {
        return None;
    }
    if depth >= MAX_DEPTH {
        let at = if path.is_empty() { "(top level)" } else { path };
        return Some(Problem::error(
            at,
            format!("nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    let mut visit = |segment: std::fmt::Arguments, child: &Value| {
        if !(child.is_object() || child.is_array()) {
            return None;
        }
        let len = path.len();
        std::fmt::Write::write_fmt(path, segment).ok()?;
        let found = depth_problem(child, depth + 1, path);
        path.truncate(len);
        found
    };
    match value {
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let sep = if depth == 0 { "" } else { "." };
            visit(format_args!("{sep}{k}"), v)
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| visit(format_args!("[{i}]"), v)),
        _ => None,
    }
}

/// Merges the sources as Helm does (files in order, then `--set-json`,
/// `--set`, `--set-string`, `--set-file`, `--set-literal`, each in order),
/// lays them over the defaults, types and validates the result.
///
/// Errors are all collected: every problem is reported at once, and nothing
/// is returned unless there is none.
pub fn load(
    sources: &[Source],
    files: &mut dyn FileReader,
    additions: &Additions,
) -> Result<Loaded, Vec<Problem>> {
    let mut errors = Vec::new();
    let user = merge_user_sources(sources, files, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    from_user_tree(user, additions)
}

/// The user's sources merged into one tree, without the defaults: what a
/// `WeightsAndBiases` resource carries in `spec.values`.
pub fn user_tree(sources: &[Source], files: &mut dyn FileReader) -> Result<Value, Vec<Problem>> {
    let mut errors = Vec::new();
    let user = merge_user_sources(sources, files, &mut errors);
    if errors.is_empty() {
        Ok(user)
    } else {
        Err(errors)
    }
}

/// Merges the user's sources into one tree, collecting errors.
fn merge_user_sources(
    sources: &[Source],
    files: &mut dyn FileReader,
    errors: &mut Vec<Problem>,
) -> Value {
    let mut user = Value::Object(Default::default());
    for source in sources {
        let layer = match source {
            Source::File(path) => {
                let name = path.display().to_string();
                match files.read(path) {
                    Ok(text) => parse_yaml(&name, &text),
                    Err(e) => Err(Problem::error(&name, format!("cannot read the file: {e}"))),
                }
            }
            Source::Inline { name, yaml } => parse_yaml(name, yaml),
            Source::Tree { name, tree } => match tree {
                Value::Object(_) => Ok(tree.clone()),
                Value::Null => Ok(Value::Object(Default::default())),
                other => Err(Problem::error(
                    name,
                    format!("expected a map of values, found {}", tree::type_name(other)),
                )),
            },
            Source::Set(..) => continue,
        };
        match layer {
            Ok(layer) => tree::merge(&mut user, layer),
            Err(problem) => errors.push(problem),
        }
    }
    for kind in [
        SetKind::Json,
        SetKind::Typed,
        SetKind::String,
        SetKind::File,
        SetKind::Literal,
    ] {
        for source in sources {
            let Source::Set(k, arg) = source else {
                continue;
            };
            if *k != kind {
                continue;
            }
            let mut read = |path: &str| {
                files
                    .read(Path::new(path))
                    .map_err(|e| format!("cannot read {path}: {e}"))
            };
            if let Err(e) = set::apply(kind, arg, &mut user, &mut read) {
                errors.push(Problem::error(&format!("{} {}", e.flag, e.arg), e.message));
            }
        }
    }
    user
}

/// Types and validates the user's merged values over the defaults.
pub fn from_user_tree(user: Value, additions: &Additions) -> Result<Loaded, Vec<Problem>> {
    if let Some(problem) = depth_problem(&user, 0, &mut String::new()) {
        return Err(vec![problem]);
    }
    let findings = check(&user, additions);
    if !findings.errors.is_empty() {
        let mut errors = findings.errors;
        if errors.len() > MAX_ERRORS {
            let more = errors.len() - MAX_ERRORS;
            errors.truncate(MAX_ERRORS);
            let last = errors.pop().expect("MAX_ERRORS > 0");
            errors.push(Problem::error(
                &last.path,
                format!("{} (and {more} more errors, not shown)", last.message),
            ));
        }
        return Err(errors);
    }
    let mut warnings = findings.warnings;
    let mut merged = defaults();
    if additions.defaults.is_object() {
        tree::coalesce_onto_defaults(&mut merged, additions.defaults.clone());
    }
    tree::coalesce_onto_defaults(&mut merged, user.clone());
    // The schema check above catches wrong types with every path; serde's own
    // error is the backstop for anything it lets through.
    let mut values: Values = crate::typed::from_tree(&merged).map_err(|e| {
        vec![Problem::error(
            &e.path().to_string(),
            type_message(&e.inner().to_string()),
        )]
    })?;
    values.more_components = more_components(&merged, &values, additions)?;
    let (errors, more_warnings): (Vec<_>, Vec<_>) = validate(&values, &user, additions)
        .into_iter()
        .partition(|p| p.severity == Severity::Error);
    if !errors.is_empty() {
        return Err(errors);
    }
    warnings.extend(more_warnings);
    values.user_templates = crate::template::holds_template(&user);
    values.tree = std::sync::Arc::new(merged.clone());
    Ok(Loaded {
        values,
        tree: merged,
        warnings,
    })
}

/// The blocks of the services a release document adds that the values have
/// no field for, typed as any service's.
pub fn more_components(
    merged: &Value,
    values: &Values,
    additions: &Additions,
) -> Result<std::collections::BTreeMap<String, crate::Component>, Vec<Problem>> {
    let own: Vec<&str> = values.components().map(|(k, _)| k).collect();
    let mut out = std::collections::BTreeMap::new();
    for key in &additions.services {
        if own.contains(&key.as_str()) {
            continue;
        }
        let block = merged.get(key).cloned().unwrap_or(Value::Null);
        let block = if block.is_null() {
            Value::Object(Default::default())
        } else {
            block
        };
        let component = crate::typed::from_tree(&block).map_err(|e| {
            vec![Problem::error(
                &format!("{key}.{}", e.path()),
                type_message(&e.inner().to_string()),
            )]
        })?;
        out.insert(key.clone(), component);
    }
    Ok(out)
}

/// The embedded defaults as a tree.
pub fn defaults() -> Value {
    // Parsed once: parsing took most of the time of loading small values.
    static DEFAULTS: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
        // The defaults are part of the binary (as JSON, see build.rs) and
        // checked by a test; failing to parse them is a build defect.
        serde_json::from_str(DEFAULTS_JSON).expect("embedded defaults are valid")
    });
    DEFAULTS.clone()
}

/// Rewords serde's messages in the users' terms.
fn type_message(serde_message: &str) -> String {
    let msg = serde_message
        .replace("invalid type: ", "")
        .replace("expected i32", "expected an integer")
        .replace("expected i64", "expected an integer")
        .replace("expected f64", "expected a number")
        .replace("expected a boolean", "expected true or false")
        .replace("expected a sequence", "expected a list")
        .replace("sequence", "a list");
    if msg.starts_with("data did not match any variant of untagged enum") {
        return "expected a value or {valueFrom: ...}".into();
    }
    match msg.split_once(", expected ") {
        Some((found, expected)) => format!("expected {expected}, found {found}"),
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct Files(BTreeMap<PathBuf, String>);

    impl FileReader for Files {
        fn read(&mut self, path: &Path) -> std::io::Result<String> {
            self.0
                .get(path)
                .cloned()
                .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "not found"))
        }
    }

    #[test]
    fn a_leading_zero_is_octal_as_helm_reads_it() {
        let tree = parse_yaml("v.yaml", "mode: 0755\nport: 8080\nzero: 0\n").unwrap();
        assert_eq!(
            tree,
            serde_json::json!({"mode": 493, "port": 8080, "zero": 0})
        );
    }

    fn files(pairs: &[(&str, &str)]) -> Files {
        Files(
            pairs
                .iter()
                .map(|(p, t)| (PathBuf::from(p), t.to_string()))
                .collect(),
        )
    }

    fn load_one(yaml: &str) -> Result<Loaded, Vec<Problem>> {
        load(
            &[Source::File("v.yaml".into())],
            &mut files(&[("v.yaml", yaml)]),
            &Additions::default(),
        )
    }

    #[test]
    fn defaults_parse_and_type() {
        let loaded = load(&[], &mut files(&[]), &Additions::default()).unwrap();
        assert_eq!(loaded.values.global.host, "http://localhost:8080");
        // The services' defaults are a release document's.
        assert_eq!(loaded.values.app.base.install, None);
        assert_eq!(loaded.values.global.mysql.port.text(), "3306");
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    }

    #[test]
    fn a_block_for_a_service_the_release_lacks_is_named_once_in_a_warning() {
        let additions = Additions {
            absent: vec!["console".into(), "app".into()],
            release: "W&B Server 9.9.9".into(),
            ..Additions::default()
        };
        let sets = ["console.replicaCount=2", "console.image.tag=x", "app=null"];
        let sources: Vec<Source> = sets
            .iter()
            .map(|s| Source::Set(SetKind::Typed, s.to_string()))
            .collect();
        let loaded = load(&sources, &mut files(&[]), &additions).unwrap();
        let warnings: Vec<String> = loaded.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(
            warnings,
            ["console: the block is not used: W&B Server 9.9.9 has no application under this key"]
        );
    }

    #[test]
    fn a_size_that_the_release_document_defines_is_known() {
        let set = |size: &str| [Source::Set(SetKind::Typed, format!("global.size={size}"))];
        let additions = Additions {
            sizes: vec!["micro".into(), "2xlarge".into()],
            ..Additions::default()
        };
        assert!(load(&set("micro"), &mut files(&[]), &additions).is_ok());
        let errors = load(&set("mirco"), &mut files(&[]), &additions).unwrap_err();
        assert_eq!(
            errors[0].to_string(),
            "global.size: \"mirco\" is not a known size (small, medium, large, xlarge, xxlarge, micro, 2xlarge) nor one a service's `sizing` defines"
        );
        assert!(load(&set("micro"), &mut files(&[]), &Additions::default()).is_err());
    }

    #[test]
    fn a_release_document_brings_its_defaults_and_services() {
        let additions = Additions {
            defaults: serde_json::json!({"app": {"install": true}, "newsvc": {"install": true, "greeting": "hi"}}),
            services: vec!["app".into(), "newsvc".into()],
            ..Additions::default()
        };
        let loaded = load(
            &[Source::Set(SetKind::Typed, "newsvc.replicaCount=2".into())],
            &mut files(&[]),
            &additions,
        )
        .unwrap();
        assert_eq!(loaded.values.app.base.install, Some(true));
        let new = loaded
            .values
            .component("newsvc")
            .expect("the document's service");
        assert_eq!((new.install, new.replica_count), (Some(true), Some(2)));
        assert_eq!(loaded.values.tree["newsvc"]["greeting"], "hi");
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        // Its keys are known, typed by the document's defaults.
        let errors = load(
            &[Source::Set(
                SetKind::Json,
                r#"newsvc.greeting={"a":1}"#.into(),
            )],
            &mut files(&[]),
            &additions,
        )
        .unwrap_err();
        assert_eq!(
            errors[0].to_string(),
            "newsvc.greeting: expected a value, found a map"
        );
        let loaded = load(
            &[Source::Set(SetKind::Typed, "newsvc.greting=x".into())],
            &mut files(&[]),
            &additions,
        )
        .unwrap();
        assert!(
            loaded.warnings[0]
                .to_string()
                .starts_with("newsvc.greting: unknown key"),
            "{:?}",
            loaded.warnings
        );
    }

    #[test]
    fn files_merge_in_order_then_set_flags() {
        let sources = [
            Source::File("a.yaml".into()),
            Source::File("b.yaml".into()),
            Source::Set(SetKind::String, "global.license=from-set-string".into()),
            Source::Set(
                SetKind::Typed,
                "global.license=from-set,app.replicaCount=3".into(),
            ),
        ];
        let mut f = files(&[
            ("a.yaml", "global: {host: https://a, license: a}\n"),
            ("b.yaml", "global: {host: https://b}\n"),
        ]);
        let loaded = load(&sources, &mut f, &Additions::default()).unwrap();
        assert_eq!(loaded.values.global.host, "https://b");
        // --set-string is applied after --set, as Helm does.
        assert_eq!(loaded.values.global.license, "from-set-string");
        assert_eq!(loaded.values.app.base.replica_count, Some(3));
    }

    #[test]
    fn null_removes_a_default() {
        let loaded = load_one("app:\n  internalJWTMap: null\n").unwrap();
        assert!(loaded.values.app.internal_jwt_map.is_empty());
    }

    #[test]
    fn a_wrong_type_names_the_key() {
        let errors = load_one("app:\n  replicaCount: two\nglobal:\n  api:\n    enabled: maybe\n")
            .unwrap_err();
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(
            text.iter()
                .any(|t| t
                    .starts_with("app.replicaCount: expected an integer, found a string \"two\"")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("global.api.enabled: expected")),
            "{text:?}"
        );
    }

    #[test]
    fn invalid_yaml_and_unreadable_files_are_errors() {
        let errors = load_one("a: [\n").unwrap_err();
        assert!(
            errors[0]
                .to_string()
                .starts_with("v.yaml: invalid YAML: unclosed bracket"),
            "{errors:?}"
        );
        let errors = load(
            &[Source::File("missing.yaml".into())],
            &mut files(&[]),
            &Additions::default(),
        )
        .unwrap_err();
        assert!(
            errors[0]
                .to_string()
                .contains("missing.yaml: cannot read the file")
        );
        let errors = load_one("a: 1\na: 2\n").unwrap_err();
        assert!(
            errors[0].to_string().contains("duplicate mapping key"),
            "{errors:?}"
        );
        assert!(!errors[0].to_string().contains("DuplicateKeyPolicy"));
        let errors = load_one("- a\n").unwrap_err();
        assert!(
            errors[0].to_string().contains("expected a map of values"),
            "{errors:?}"
        );
    }

    fn nested(levels: usize) -> String {
        // `levels` nested maps, the top-level one included.
        format!("{}1{}", "{a: ".repeat(levels), "}".repeat(levels))
    }

    #[test]
    fn nesting_is_bounded_the_same_for_files_and_trees() {
        let ok = format!("global:\n  banners: {}\n", nested(MAX_DEPTH - 2));
        assert!(load_one(&ok).is_ok());
        let Err(errors) = load_one(&format!("global:\n  banners: {}\n", nested(MAX_DEPTH - 1)))
        else {
            panic!("65 levels of nesting loaded");
        };
        assert!(
            errors[0].to_string().starts_with(
                "v.yaml: invalid YAML: too large: nested deeper than 64 levels at line 2"
            ),
            "{errors:?}"
        );
        // Regression: a deep spec.values tree reached the recursive schema
        // walk, merge and typing unchecked.
        let tree: Value = parse_yaml("t", &ok).unwrap();
        assert!(from_user_tree(tree.clone(), &Additions::default()).is_ok());
        let json = |levels: usize| {
            let inner = format!("{}1{}", "{\"a\": ".repeat(levels), "}".repeat(levels));
            serde_json::from_str::<Value>(&format!("{{\"global\": {{\"banners\": {inner}}}}}"))
                .unwrap()
        };
        assert!(from_user_tree(json(MAX_DEPTH - 2), &Additions::default()).is_ok());
        let deep = json(MAX_DEPTH - 1);
        let Err(errors) = from_user_tree(deep, &Additions::default()) else {
            panic!("65 levels of nesting loaded");
        };
        let shown = errors[0].to_string();
        assert!(shown.starts_with("global.banners.a.a."), "{shown}");
        assert!(
            shown.ends_with(".a.a: nested deeper than 64 levels"),
            "{shown}"
        );
    }

    #[test]
    fn parser_limits_read_as_words() {
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n".to_string()
            + &(b'b'..=b'h')
                .map(|c| {
                    let prev = (c - 1) as char;
                    let c = c as char;
                    format!("{c}: &{c} [{}]\n", vec![format!("*{prev}"); 10].join(", "))
                })
                .collect::<String>();
        let errors = load_one(&bomb).unwrap_err();
        let shown = errors[0].to_string();
        assert!(
            shown.starts_with(
                "v.yaml: invalid YAML: too large: more than 100000 values, lists and maps (aliases expanded) at line"
            ),
            "{shown}"
        );
        let errors = load_one("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(
            errors[0]
                .to_string()
                .starts_with("v.yaml: invalid YAML: a values file is one YAML document, found more than one ('---') at line 3"),
            "{errors:?}"
        );
    }

    #[test]
    fn many_errors_are_counted_not_listed() {
        let items = vec!["1"; 1000].join(", ");
        let errors = load_one(&format!("global:\n  tolerations: [{items}]\n")).unwrap_err();
        assert_eq!(errors.len(), MAX_ERRORS);
        assert_eq!(
            errors[MAX_ERRORS - 1].to_string(),
            "global.tolerations[99]: expected a map, found an integer 1 (and 900 more errors, not shown)"
        );
    }

    #[test]
    fn type_message_reads_well() {
        assert_eq!(
            type_message("invalid type: string \"two\", expected i32"),
            "expected an integer, found string \"two\""
        );
    }
}
