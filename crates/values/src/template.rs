//! Templates in values. The upstream chart writes some of its values as Go
//! templates, which it evaluates with `tpl`:
//! `{{ .Release.Name }}-clickhouse-headless`,
//! `{{ include "wandb.olapAnyFeatureEnabled" . }}`, and the `envTpls` lists
//! of `{{ include "wandb.bucketEnvs" . }}`. A values file taken from an
//! upstream install (`helm get values --all`) carries them.
//!
//! This module reads the forms upstream uses: the release's name and
//! namespace, a key of the values, `not`, the chart's helpers whose meaning
//! this operator implements, and the `trim` and `quote` functions. The loader
//! checks every template with it (one it cannot read is an error naming the
//! key and the template); the render evaluates them all before it renders
//! anything (`wandb_render::template`), once the release and what the values
//! imply are known.

use std::fmt;

/// Lists whose entries name helpers and are read as such, not evaluated
/// as text: `envTpls` (env groups, here), `portsTpls` and
/// `podAnnotationsTpls` (ports and annotations, in `crate::tpls`).
pub const READ_AS_HELPERS: [&str; 3] = ["envTpls", "portsTpls", "podAnnotationsTpls"];

/// A string of the values that holds `{{ ... }}`.
pub fn is_template(text: &str) -> bool {
    text.contains("{{")
}

/// Whether a tree holds a template to evaluate, in a string or a key (an
/// `envTpls` entry is read, not evaluated).
pub fn holds_template(tree: &serde_json::Value) -> bool {
    match tree {
        serde_json::Value::String(s) => is_template(s),
        serde_json::Value::Array(items) => items.iter().any(holds_template),
        serde_json::Value::Object(map) => map
            .iter()
            .any(|(k, v)| k != "envTpls" && (is_template(k) || holds_template(v))),
        _ => false,
    }
}

/// A parsed template: text and actions, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    /// `{{ expr | pipe | ... }}`.
    Action(Expr, Vec<Pipe>),
}

/// What an action evaluates.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    ReleaseName,
    ReleaseNamespace,
    /// `.Values.a.b`, as written: see [`values_path`] for where it points.
    Values(Vec<String>),
    /// `not X`: `true` or `false`.
    Not(Box<Expr>),
    Helper(Helper),
    /// `(include "wandb.bucket" . | fromYaml).field`.
    Bucket(BucketField),
}

/// A function an action's result is piped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pipe {
    Trim,
    Quote,
}

/// The upstream chart's helpers that give a value, which this operator
/// computes the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Helper {
    /// `true` when a `global.olap` feature is enabled.
    OlapAnyFeatureEnabled,
    ExecutorTaskQueue,
    FileStreamStoreConsumer,
    RunUpdateShadowQueue,
    RedisConnectionString,
    /// The Secret with Redis's password.
    RedisPasswordSecret,
    /// The Secret with ClickHouse's password.
    ClickhousePasswordSecret,
    /// The bucket bufstream keeps its data in.
    BufstreamBucketName,
    /// The endpoint of that bucket.
    BufstreamBucketEndpoint,
    LumenGoogleCredsPath,
    /// The mcp-server's Datadog service and environment.
    McpDdService,
    McpDdEnv,
}

const HELPERS: &[(&str, Helper)] = &[
    ("wandb.olapAnyFeatureEnabled", Helper::OlapAnyFeatureEnabled),
    ("wandb.executor.taskQueue", Helper::ExecutorTaskQueue),
    (
        "wandb.fileStreamStoreConsumer",
        Helper::FileStreamStoreConsumer,
    ),
    ("wandb.runUpdateShadowQueue", Helper::RunUpdateShadowQueue),
    (
        "wandb.redis.connectionString",
        Helper::RedisConnectionString,
    ),
    ("wandb.redis.passwordSecret", Helper::RedisPasswordSecret),
    (
        "wandb.clickhouse.passwordSecret",
        Helper::ClickhousePasswordSecret,
    ),
    ("wandb.bufstream.bucket.name", Helper::BufstreamBucketName),
    (
        "wandb.bufstream.bucket.endpoint",
        Helper::BufstreamBucketEndpoint,
    ),
    ("wandb.lumen.googleCredsPath", Helper::LumenGoogleCredsPath),
    ("wandb.mcpDDService", Helper::McpDdService),
    ("wandb.mcpDDEnv", Helper::McpDdEnv),
];

/// A field of upstream's `wandb.bucket` (the bucket W&B uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketField {
    Name,
    Region,
    KmsKey,
    Provider,
    Path,
    AccessKey,
    SecretKey,
    AccessKeyName,
    SecretKeyName,
    SecretName,
    Url,
}

const BUCKET_FIELDS: &[(&str, BucketField)] = &[
    ("name", BucketField::Name),
    ("region", BucketField::Region),
    ("kmsKey", BucketField::KmsKey),
    ("provider", BucketField::Provider),
    ("path", BucketField::Path),
    ("accessKey", BucketField::AccessKey),
    ("secretKey", BucketField::SecretKey),
    ("accessKeyName", BucketField::AccessKeyName),
    ("secretKeyName", BucketField::SecretKeyName),
    ("secretName", BucketField::SecretName),
    ("url", BucketField::Url),
];

/// The upstream chart's helpers that give a list of environment variables
/// (an `envTpls` entry); also the env groups of the render's catalog
/// (`envGroups`, camelCase).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EnvHelper {
    Downward,
    BucketCwIdentity,
    Bucket,
    Mysql,
    MysqlConfig,
    Redis,
    Queue,
    HistoryStore,
    Statsig,
    Observability,
    Oidc,
    Smtp,
    License,
    RateLimit,
    SslCert,
    RegistrySearch,
    RunStoreAccelerator,
    History,
    Lumen,
    Clickhouse,
    /// The same variables as `Clickhouse`, under upstream's other name.
    ClickhouseConfig,
    Mcp,
}

const ENV_HELPERS: &[(&str, EnvHelper)] = &[
    ("wandb.downwardEnvs", EnvHelper::Downward),
    ("wandb.bucket.cwIdentity", EnvHelper::BucketCwIdentity),
    ("wandb.bucketEnvs", EnvHelper::Bucket),
    ("wandb.mysqlEnvs", EnvHelper::Mysql),
    ("wandb.mysqlConfigEnvs", EnvHelper::MysqlConfig),
    ("wandb.redisEnvs", EnvHelper::Redis),
    ("wandb.queueEnvs", EnvHelper::Queue),
    ("wandb.historyStoreEnvs", EnvHelper::HistoryStore),
    ("wandb.statsigEnvs", EnvHelper::Statsig),
    ("wandb.observabilityEnvs", EnvHelper::Observability),
    ("wandb.oidcEnvs", EnvHelper::Oidc),
    ("wandb.smtpEnvs", EnvHelper::Smtp),
    ("wandb.license", EnvHelper::License),
    ("wandb.rateLimitEnvs", EnvHelper::RateLimit),
    ("wandb.sslCertEnvs", EnvHelper::SslCert),
    ("wandb.registrySearchEnvs", EnvHelper::RegistrySearch),
    (
        "wandb.runStoreAcceleratorEnvs",
        EnvHelper::RunStoreAccelerator,
    ),
    ("wandb.historyEnvs", EnvHelper::History),
    ("wandb.lumen.gorillaEnvs", EnvHelper::Lumen),
    ("wandb.clickhouseEnvs", EnvHelper::Clickhouse),
    ("wandb.clickhouseConfigEnvs", EnvHelper::ClickhouseConfig),
    ("wandb.mcpEnvs", EnvHelper::Mcp),
];

/// Upstream's env helpers, by name (`wandb.bucketEnvs`).
pub fn env_helper_names() -> impl Iterator<Item = &'static str> {
    ENV_HELPERS.iter().map(|(name, _)| *name)
}

impl EnvHelper {
    /// Upstream's name of the helper (`wandb.bucketEnvs`).
    pub fn name(self) -> &'static str {
        ENV_HELPERS
            .iter()
            .find(|(_, h)| *h == self)
            .map_or("", |(name, _)| name)
    }
}

/// Why a template cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("a `{{{{` is not closed by `}}}}`")]
    Unclosed,
    #[error("{0} is not a helper of the upstream chart this operator implements")]
    UnknownHelper(String),
    #[error(
        "{0} gives a list of environment variables, which only an entry of a service's `envTpls` takes"
    )]
    EnvList(String),
    #[error(
        "{0} gives a value, not environment variables: an entry of `envTpls` includes an env helper (`wandb.bucketEnvs`, `wandb.mysqlEnvs`, ...)"
    )]
    NotEnvList(String),
    #[error("`wandb.bucket` has no field {0:?}")]
    BucketField(String),
    #[error(
        "`{0}` is not a form this operator evaluates (the release's name and namespace, \
         `.Values` keys, `not`, `include` of a helper it implements, `| trim`, `| quote`)"
    )]
    Unsupported(String),
    #[error("an entry of `envTpls` is one `{{{{ include \"wandb.<name>\" . }}}}`")]
    NotOneInclude,
}

/// Parses a string of the values: its text and its `{{ ... }}` actions, with
/// `{{-` and `-}}` trimming the spaces beside them as Go's templates do.
pub fn parse(text: &str) -> Result<Template, TemplateError> {
    let mut parts = Vec::new();
    let mut rest = text;
    let mut trim_next = false;
    while let Some(start) = rest.find("{{") {
        let mut before = &rest[..start];
        if trim_next {
            before = before.trim_start();
        }
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or(TemplateError::Unclosed)?;
        let mut inner = &after[..end];
        if let Some(s) = inner.strip_prefix('-') {
            before = before.trim_end();
            inner = s;
        }
        trim_next = false;
        if let Some(s) = inner.strip_suffix('-') {
            trim_next = true;
            inner = s;
        }
        push_text(&mut parts, before);
        let (expr, pipes) = parse_action(inner)?;
        parts.push(Part::Action(expr, pipes));
        rest = &after[end + 2..];
    }
    push_text(&mut parts, if trim_next { rest.trim_start() } else { rest });
    Ok(Template { parts })
}

/// Parses an entry of `envTpls`: `{{ include "wandb.bucketEnvs" . }}`.
pub fn parse_env(text: &str) -> Result<EnvHelper, TemplateError> {
    let inner = text
        .trim()
        .strip_prefix("{{")
        .and_then(|t| t.strip_suffix("}}"))
        .filter(|t| !t.contains("{{") && !t.contains("}}"))
        .ok_or(TemplateError::NotOneInclude)?;
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    match tokens(inner)?.as_slice() {
        [Tok::Ident(include), Tok::Str(name), Tok::Dot] if include == "include" => {
            match ENV_HELPERS.iter().find(|(n, _)| n == name) {
                Some((_, helper)) => Ok(*helper),
                None if HELPERS.iter().any(|(n, _)| n == name) => {
                    Err(TemplateError::NotEnvList(name.clone()))
                }
                None => Err(TemplateError::UnknownHelper(name.clone())),
            }
        }
        _ => Err(TemplateError::NotOneInclude),
    }
}

/// Upstream's top-level keys that belong to the chart itself; every other
/// one is a subchart, whose templates see its own block as `.Values`.
const CHART_KEYS: &[&str] = &[
    "global",
    "ingress",
    "nameOverride",
    "fullnameOverride",
    "artifactsGc",
    "networkPolicy",
];

/// Where `.Values.<path>` points for a template under the top-level key
/// `top`: in a subchart's block (a service, a store) `.Values` is that
/// block, except for `global`, which every chart shares.
pub fn values_path(top: &str, path: &[String]) -> Vec<String> {
    let shared = path.first().is_some_and(|p| p == "global");
    if shared || CHART_KEYS.contains(&top) {
        path.to_vec()
    } else {
        std::iter::once(top.to_string())
            .chain(path.iter().cloned())
            .collect()
    }
}

fn push_text(parts: &mut Vec<Part>, text: &str) {
    if !text.is_empty() {
        parts.push(Part::Text(text.to_string()));
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// `.a.b` (a lone `.` is [`Tok::Dot`]).
    Field(Vec<String>),
    Dot,
    Ident(String),
    Str(String),
    Pipe,
    Open,
    Close,
}

fn tokens(action: &str) -> Result<Vec<Tok>, TemplateError> {
    let unsupported = || TemplateError::Unsupported(action.trim().to_string());
    let mut out = Vec::new();
    let mut chars = action.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '|' => out.push(Tok::Pipe),
            '(' => out.push(Tok::Open),
            ')' => out.push(Tok::Close),
            '"' | '`' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some(q) if q == c => break,
                        Some('\\') if c == '"' => s.extend(chars.next()),
                        Some(other) => s.push(other),
                        None => return Err(unsupported()),
                    }
                }
                out.push(Tok::Str(s));
            }
            '.' => {
                let mut segments = Vec::new();
                let mut segment = String::new();
                while let Some(&n) = chars.peek() {
                    if n.is_alphanumeric() || n == '_' {
                        segment.push(n);
                    } else if n == '.' && !segment.is_empty() {
                        segments.push(std::mem::take(&mut segment));
                    } else {
                        break;
                    }
                    chars.next();
                }
                if !segment.is_empty() {
                    segments.push(segment);
                }
                out.push(if segments.is_empty() {
                    Tok::Dot
                } else {
                    Tok::Field(segments)
                });
            }
            c if c.is_alphabetic() => {
                let mut s = String::from(c);
                while let Some(&n) = chars.peek() {
                    if !(n.is_alphanumeric() || n == '_') {
                        break;
                    }
                    s.push(n);
                    chars.next();
                }
                out.push(Tok::Ident(s));
            }
            _ => return Err(unsupported()),
        }
    }
    Ok(out)
}

/// `expr | pipe | ...`.
fn parse_action(action: &str) -> Result<(Expr, Vec<Pipe>), TemplateError> {
    let unsupported = || TemplateError::Unsupported(action.trim().to_string());
    let toks = tokens(action)?;
    let mut segments = toks.split(|t| *t == Tok::Pipe);
    // The bucket's `(include ... | fromYaml).field` holds a pipe of its own.
    let (expr, rest): (Expr, Vec<&[Tok]>) = match toks.first() {
        Some(Tok::Open) => {
            // `( ... )` and the `.field` after it.
            let close = toks
                .iter()
                .position(|t| *t == Tok::Close)
                .ok_or_else(unsupported)?;
            let expr = parse_bucket(toks.get(..close + 2).ok_or_else(unsupported)?, action)?;
            let after = toks.get(close + 2..).unwrap_or_default();
            let rest: Vec<&[Tok]> = match after.split_first() {
                None => vec![],
                Some((Tok::Pipe, more)) => more.split(|t| *t == Tok::Pipe).collect(),
                Some(_) => return Err(unsupported()),
            };
            (expr, rest)
        }
        _ => {
            let first = segments.next().unwrap_or_default();
            (parse_expr(first, action)?, segments.collect())
        }
    };
    let pipes = rest
        .into_iter()
        .map(|p| match p {
            [Tok::Ident(f)] if f == "trim" => Ok(Pipe::Trim),
            [Tok::Ident(f)] if f == "quote" => Ok(Pipe::Quote),
            _ => Err(unsupported()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((expr, pipes))
}

fn parse_expr(toks: &[Tok], action: &str) -> Result<Expr, TemplateError> {
    let unsupported = || TemplateError::Unsupported(action.trim().to_string());
    match toks {
        [Tok::Field(f)] => match f.as_slice() {
            [release, name] if release == "Release" && name == "Name" => Ok(Expr::ReleaseName),
            [release, ns] if release == "Release" && ns == "Namespace" => {
                Ok(Expr::ReleaseNamespace)
            }
            [values, path @ ..] if values == "Values" && !path.is_empty() => {
                Ok(Expr::Values(path.to_vec()))
            }
            _ => Err(unsupported()),
        },
        [Tok::Ident(not), rest @ ..] if not == "not" => {
            Ok(Expr::Not(Box::new(parse_expr(rest, action)?)))
        }
        [Tok::Ident(include), Tok::Str(name), Tok::Dot] if include == "include" => {
            if let Some((_, helper)) = HELPERS.iter().find(|(n, _)| n == name) {
                Ok(Expr::Helper(*helper))
            } else if ENV_HELPERS.iter().any(|(n, _)| n == name) {
                Err(TemplateError::EnvList(name.clone()))
            } else {
                Err(TemplateError::UnknownHelper(name.clone()))
            }
        }
        _ => Err(unsupported()),
    }
}

/// `( include "wandb.bucket" . | fromYaml ) .field`.
fn parse_bucket(toks: &[Tok], action: &str) -> Result<Expr, TemplateError> {
    match toks {
        [
            Tok::Open,
            Tok::Ident(include),
            Tok::Str(name),
            Tok::Dot,
            Tok::Pipe,
            Tok::Ident(from_yaml),
            Tok::Close,
            Tok::Field(field),
        ] if include == "include" && name == "wandb.bucket" && from_yaml == "fromYaml" => {
            match field.as_slice() {
                [f] => BUCKET_FIELDS
                    .iter()
                    .find(|(n, _)| n == f)
                    .map(|(_, b)| Expr::Bucket(*b))
                    .ok_or_else(|| TemplateError::BucketField(f.clone())),
                _ => Err(TemplateError::BucketField(field.join("."))),
            }
        }
        _ => Err(TemplateError::Unsupported(action.trim().to_string())),
    }
}

/// An `envTpls` entry: one of upstream's env helpers, written back as
/// upstream writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvTpl(pub EnvHelper);

impl fmt::Display for EnvTpl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{{ include \"{}\" . }}}}", self.0.name())
    }
}

impl serde::Serialize for EnvTpl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for EnvTpl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_env(&text)
            .map(EnvTpl)
            .map_err(|e| serde::de::Error::custom(format!("cannot evaluate `{text}`: {e}")))
    }
}

impl schemars::JsonSchema for EnvTpl {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EnvTpl".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "`{{ include \"wandb.<name>\" . }}` of one of the upstream chart's env helpers (`wandb.bucketEnvs`, `wandb.mysqlEnvs`, ...)."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(text: &str) -> (Expr, Vec<Pipe>) {
        match parse(text).unwrap().parts.as_slice() {
            [Part::Action(e, p)] => (e.clone(), p.clone()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn upstream_forms_parse() {
        let t = parse("system:serviceaccount:{{ .Release.Namespace }}:{{ .Release.Name }}-weave")
            .unwrap();
        assert_eq!(
            t.parts,
            [
                Part::Text("system:serviceaccount:".into()),
                Part::Action(Expr::ReleaseNamespace, vec![]),
                Part::Text(":".into()),
                Part::Action(Expr::ReleaseName, vec![]),
                Part::Text("-weave".into()),
            ]
        );
        assert_eq!(
            action(r#"{{ include "wandb.olapAnyFeatureEnabled" . }}"#).0,
            Expr::Helper(Helper::OlapAnyFeatureEnabled)
        );
        assert_eq!(
            action("{{ include `wandb.mcpDDService` . }}").0,
            Expr::Helper(Helper::McpDdService)
        );
        assert_eq!(
            action(r#"{{ include "wandb.redis.connectionString" . | trim }}"#),
            (
                Expr::Helper(Helper::RedisConnectionString),
                vec![Pipe::Trim]
            )
        );
        assert_eq!(
            action(r#"{{ (include "wandb.bucket" . | fromYaml).url }}"#).0,
            Expr::Bucket(BucketField::Url)
        );
        assert_eq!(
            action("{{ not .Values.global.api.enabled }}").0,
            Expr::Not(Box::new(Expr::Values(vec![
                "global".into(),
                "api".into(),
                "enabled".into()
            ])))
        );
        assert_eq!(
            action("{{- .Values.global.clickhouse.passwordSecret.passwordKey -}}").0,
            Expr::Values(vec![
                "global".into(),
                "clickhouse".into(),
                "passwordSecret".into(),
                "passwordKey".into()
            ])
        );
    }

    #[test]
    fn trim_markers_trim_the_text_beside_them() {
        let t = parse("a  {{- .Release.Name -}}  b").unwrap();
        assert_eq!(
            t.parts,
            [
                Part::Text("a".into()),
                Part::Action(Expr::ReleaseName, vec![]),
                Part::Text("b".into()),
            ]
        );
    }

    #[test]
    fn what_cannot_be_evaluated_says_why() {
        let err = |t: &str| parse(t).unwrap_err().to_string();
        assert_eq!(
            err(r#"{{ include "wandb.nothing" . }}"#),
            "wandb.nothing is not a helper of the upstream chart this operator implements"
        );
        assert!(
            err(r#"{{ include "wandb.bucketEnvs" . }}"#)
                .contains("only an entry of a service's `envTpls`"),
        );
        assert!(err("{{ .Chart.Name }}").starts_with("`.Chart.Name` is not a form"));
        assert!(err("{{ .Release.Name | upper }}").starts_with("`.Release.Name | upper` is not"));
        assert!(
            err(r#"{{ (include "wandb.bucket" . | fromYaml).colour }}"#).contains("\"colour\"")
        );
        assert_eq!(err("{{ .Release.Name"), "a `{{` is not closed by `}}`");
    }

    #[test]
    fn env_tpls_entries_name_an_env_helper() {
        assert_eq!(
            parse_env(r#"{{ include "wandb.mysqlEnvs" . }}"#),
            Ok(EnvHelper::Mysql)
        );
        assert_eq!(
            parse_env(r#"  {{- include "wandb.lumen.gorillaEnvs" .}} "#),
            Ok(EnvHelper::Lumen)
        );
        assert!(matches!(
            parse_env(r#"{{ include "wandb.executor.taskQueue" . }}"#),
            Err(TemplateError::NotEnvList(..))
        ));
        assert_eq!(
            parse_env("- name: A\n  value: b"),
            Err(TemplateError::NotOneInclude)
        );
        assert_eq!(
            EnvTpl(EnvHelper::Bucket).to_string(),
            r#"{{ include "wandb.bucketEnvs" . }}"#
        );
    }

    #[test]
    fn values_point_into_the_subchart_they_are_in() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            values_path("mcp-server", &p(&["image", "tag"])),
            p(&["mcp-server", "image", "tag"])
        );
        assert_eq!(
            values_path("redis", &p(&["global", "redis", "secret"])),
            p(&["global", "redis", "secret"])
        );
        assert_eq!(
            values_path("global", &p(&["ingress", "tls"])),
            p(&["ingress", "tls"])
        );
    }
}
