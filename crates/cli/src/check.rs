//! `wandb-operator check -f values.yaml`: a preflight before install.
//!
//! The values are loaded and validated as `render` does; then every store the
//! values name outside the cluster (MySQL, Redis, the bucket, ClickHouse,
//! Kafka) is reached from here, and each check prints one line:
//!
//! ```text
//! PASS  mysql       connect       wandb@db.example.com:3306/wandb_local (12 ms)
//! FAIL  mysql       version       MariaDB 10.11.19 is not MySQL
//!                   hint: W&B supports MySQL 8.0 or newer ...
//! ```
//!
//! A store left in the cluster is one SKIP line: the operator checks it. Every
//! network operation has a deadline (`--timeout`), so an unreachable host is a
//! FAIL, never a hang. The exit code is 0 only when nothing failed.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use wandb_render::{Catalog, Ctx, Release};
use wandb_values::{Severity, StoreKind, ValueOrRef};

use crate::render::ValuesArgs;

mod bucket;
mod clickhouse;
mod cluster;
mod http;
mod kafka;
mod mysql;
mod net;
mod redis;

pub use cluster::Cluster;

#[derive(Args, Debug)]
#[command(
    after_help = "Checks, for each store the values name outside the cluster:\n  \
    mysql       connect, version (MySQL 8.0+), CREATE/DROP TABLE, character set (utf8mb4)\n  \
    redis       connect (TLS with caCert or params.tls), AUTH, PING, version (7+)\n  \
    bucket      put, get and delete a probe object, CORS rules (S3 and S3-compatible)\n  \
    clickhouse  /ping and SELECT version() over HTTP\n  \
    kafka       connect and an ApiVersions request\n\
    Passwords given as Secrets (passwordSecret, valueFrom.secretKeyRef) are read from the\n\
    cluster of the current kubeconfig. Exit 0 when nothing failed, 1 otherwise.\n\n\
    Examples:\n  \
    wandb-operator check -f values.yaml\n  \
    wandb-operator check -f values.yaml --namespace wandb --timeout 5s\n  \
    wandb-operator check --set global.mysql.host=db.example.com --set global.mysql.password=secret"
)]
pub struct CheckArgs {
    #[command(flatten)]
    pub values: ValuesArgs,
    /// Deadline of each network operation (e.g. 5s, 1m).
    #[arg(long, default_value = "10s", value_parser = parse_timeout)]
    pub timeout: Duration,
    /// Namespace of the Secrets the values refer to (default: the kubeconfig's).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = crate::apply::parse_duration(s)?;
    if d.is_zero() {
        return Err("the timeout must be more than 0s".into());
    }
    Ok(d)
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    /// Works, but not as W&B recommends; does not fail the check.
    Warn,
    Fail,
    Skip,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
    fn colour(self) -> &'static str {
        match self {
            Status::Pass => "\x1b[32m",
            Status::Warn => "\x1b[33m",
            Status::Fail => "\x1b[31m",
            Status::Skip => "\x1b[36m",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Line {
    pub status: Status,
    pub store: &'static str,
    pub check: String,
    pub detail: String,
    pub hint: Option<String>,
}

/// The lines of one store, in the order they were checked.
pub struct Lines {
    store: &'static str,
    pub lines: Vec<Line>,
}

impl Lines {
    pub fn new(store: &'static str) -> Self {
        Lines {
            store,
            lines: Vec::new(),
        }
    }
    fn push(&mut self, status: Status, check: &str, detail: String, hint: Option<String>) {
        self.lines.push(Line {
            status,
            store: self.store,
            check: check.to_string(),
            detail,
            hint,
        });
    }
    pub fn pass(&mut self, check: &str, detail: impl Into<String>) {
        self.push(Status::Pass, check, detail.into(), None);
    }
    pub fn warn(&mut self, check: &str, detail: impl Into<String>, hint: impl Into<String>) {
        self.push(Status::Warn, check, detail.into(), Some(hint.into()));
    }
    pub fn fail(&mut self, check: &str, detail: impl Into<String>, hint: impl Into<String>) {
        self.push(Status::Fail, check, detail.into(), Some(hint.into()));
    }
    pub fn skip(&mut self, check: &str, detail: impl Into<String>) {
        self.push(Status::Skip, check, detail.into(), None);
    }
}

/// Where a setting's value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Not given.
    Unset,
    Plain(String),
    Secret {
        name: String,
        key: String,
    },
    ConfigMap {
        name: String,
        key: String,
    },
    /// A `valueFrom` this command cannot read (fieldRef, resourceFieldRef).
    Other,
}

impl Source {
    pub fn of(v: &ValueOrRef) -> Source {
        match v {
            ValueOrRef::Value(s) if s.is_empty() => Source::Unset,
            ValueOrRef::Value(s) => Source::Plain(s.to_string()),
            ValueOrRef::Ref { value_from } => {
                if let Some(r) = &value_from.secret_key_ref {
                    Source::Secret {
                        name: r.name.clone(),
                        key: r.key.clone(),
                    }
                } else if let Some(r) = &value_from.config_map_key_ref {
                    Source::ConfigMap {
                        name: r.name.clone(),
                        key: r.key.clone(),
                    }
                } else {
                    Source::Other
                }
            }
        }
    }

    pub fn plain(s: &str) -> Source {
        if s.is_empty() {
            Source::Unset
        } else {
            Source::Plain(s.to_string())
        }
    }

    /// The value, reading the cluster for a reference. A reference read from
    /// the cluster adds a line (PASS, or FAIL with a hint); `Ok(None)` is an
    /// unset value. `Err(())` means a FAIL line was added.
    pub async fn resolve(
        &self,
        key: &str,
        cluster: &Cluster,
        lines: &mut Lines,
    ) -> Result<Option<String>, ()> {
        match self {
            Source::Unset => Ok(None),
            Source::Plain(v) => Ok(Some(v.clone())),
            Source::Other => {
                lines.fail(
                    key,
                    "a valueFrom other than secretKeyRef or configMapKeyRef cannot be read from here",
                    format!("give {key} as a value or a secretKeyRef to check it"),
                );
                Err(())
            }
            Source::Secret { name, key: k } | Source::ConfigMap { name, key: k } => {
                let secret = matches!(self, Source::Secret { .. });
                let kind = if secret { "Secret" } else { "ConfigMap" };
                match cluster.read(secret, name, k).await {
                    Ok((ns, value)) => {
                        lines.pass(key, format!("read from {kind} {ns}/{name}, key {k}"));
                        Ok(Some(value))
                    }
                    Err((detail, hint)) => {
                        lines.fail(key, format!("{kind} {name}, key {k}: {detail}"), hint);
                        Err(())
                    }
                }
            }
        }
    }
}

pub fn run(args: CheckArgs) -> ExitCode {
    let (catalog, loaded) = match args.values.load() {
        Ok(input) => (input.catalog, input.loaded),
        Err(code) => return code,
    };
    let warnings: Vec<_> = loaded
        .warnings
        .iter()
        .filter(|w| w.severity == Severity::Warning)
        .collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut values_line = Lines::new("values");
    values_line.pass(
        "load",
        match warnings.len() {
            0 => "loaded and validated".to_string(),
            1 => "loaded and validated (1 warning, above)".to_string(),
            n => format!("loaded and validated ({n} warnings, above)"),
        },
    );
    let stores = runtime.block_on(check_stores(&catalog, &loaded.values, &args));
    // Dropping the runtime would wait for a blocking DNS look-up that ran
    // out of time; nothing it holds needs a clean shutdown.
    runtime.shutdown_background();

    let colour = std::io::stdout().is_terminal();
    let mut all = values_line.lines;
    all.extend(stores.into_iter().flat_map(|l| l.lines));
    // A closed stdout loses the report, not the verdict (the exit code).
    let _ = crate::out::print(&format_report(&all, colour));
    if all.iter().any(|l| l.status == Status::Fail) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Every store's checks, run side by side; the lines come back in the
/// order of `StoreKind::ALL`.
pub async fn check_stores(
    catalog: &Catalog,
    values: &wandb_values::Values,
    args: &CheckArgs,
) -> Vec<Lines> {
    let release = Release::new("wandb", args.namespace.as_deref().unwrap_or("default"));
    // The values' templates name the release: evaluated first, as for a render.
    let values = wandb_render::template::evaluate(catalog, values, &release);
    let ctx = Ctx::new(catalog, &values, &release);
    let cluster = Cluster::new(args.namespace.clone(), args.timeout);
    let checks = StoreKind::ALL
        .into_iter()
        .map(|store| check_store(store, &ctx, &cluster, args.timeout));
    futures::future::join_all(checks)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// One store's checks; `None` for a store checked with another.
async fn check_store(
    store: StoreKind,
    ctx: &Ctx<'_>,
    cluster: &Cluster,
    timeout: Duration,
) -> Option<Lines> {
    Some(match store {
        StoreKind::Mysql => mysql::check(ctx, cluster, timeout).await,
        StoreKind::Redis => redis::check(ctx, cluster, timeout).await,
        StoreKind::ObjectStore => bucket::check(ctx, cluster, timeout).await,
        StoreKind::Clickhouse => clickhouse::check(ctx, cluster, timeout).await,
        // Bufstream is a Kafka to its clients: the Kafka check tries either.
        StoreKind::Kafka => kafka::check(ctx, timeout).await,
        StoreKind::Bufstream => return None,
        // Bufstream's own metadata store, never outside the cluster.
        StoreKind::Etcd => return None,
    })
}

/// The report: one line per check, a hint under each FAIL and WARN, and a
/// closing count.
pub fn format_report(lines: &[Line], colour: bool) -> String {
    let mut out = String::new();
    let width = lines
        .iter()
        .map(|l| l.check.len())
        .max()
        .unwrap_or(0)
        .max(8);
    for l in lines {
        let label = if colour {
            format!("{}{}\x1b[0m", l.status.colour(), l.status.label())
        } else {
            l.status.label().to_string()
        };
        out.push_str(&format!(
            "{label}  {:<10}  {:<width$}  {}\n",
            l.store, l.check, l.detail
        ));
        if let Some(hint) = &l.hint {
            out.push_str(&format!("{:<18}hint: {hint}\n", ""));
        }
    }
    let count = |s: Status| lines.iter().filter(|l| l.status == s).count();
    out.push_str(&format!(
        "\nsummary: {} PASS, {} WARN, {} FAIL, {} SKIP\n",
        count(Status::Pass),
        count(Status::Warn),
        count(Status::Fail),
        count(Status::Skip)
    ));
    out
}

/// The line of a store left in the cluster.
pub fn in_cluster(lines: &mut Lines) {
    lines.skip("in-cluster", "in-cluster: checked by the operator");
}

/// "2s", "1.5s", "250ms".
pub fn seconds(d: Duration) -> String {
    if d.as_millis() < 1000 {
        format!("{}ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(status: Status, check: &str, hint: Option<&str>) -> Line {
        Line {
            status,
            store: "mysql",
            check: check.into(),
            detail: "detail".into(),
            hint: hint.map(str::to_string),
        }
    }

    #[test]
    fn report_has_one_line_per_check_and_hints_below() {
        let text = format_report(
            &[
                line(Status::Pass, "connect", None),
                line(Status::Fail, "version", Some("use MySQL 8")),
            ],
            false,
        );
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows[0], "PASS  mysql       connect   detail");
        assert_eq!(rows[1], "FAIL  mysql       version   detail");
        assert_eq!(rows[2], "                  hint: use MySQL 8");
        assert!(text.ends_with("summary: 1 PASS, 0 WARN, 1 FAIL, 0 SKIP\n"));
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn colours_only_when_asked() {
        let text = format_report(&[line(Status::Fail, "x", Some("h"))], true);
        assert!(text.starts_with("\x1b[31mFAIL\x1b[0m"));
    }

    #[test]
    fn sources_of_values_and_references() {
        let plain: ValueOrRef = serde_json::from_value(serde_json::json!("x")).unwrap();
        assert_eq!(Source::of(&plain), Source::Plain("x".into()));
        let unset: ValueOrRef = serde_json::from_value(serde_json::json!("")).unwrap();
        assert_eq!(Source::of(&unset), Source::Unset);
        let r: ValueOrRef = serde_json::from_value(serde_json::json!(
            {"valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}
        ))
        .unwrap();
        assert_eq!(
            Source::of(&r),
            Source::Secret {
                name: "db".into(),
                key: "pw".into()
            }
        );
    }

    #[test]
    fn timeouts_parse() {
        assert_eq!(parse_timeout("2s"), Ok(Duration::from_secs(2)));
        assert!(parse_timeout("0s").is_err());
        assert_eq!(seconds(Duration::from_secs(2)), "2s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5s");
        assert_eq!(seconds(Duration::from_millis(12)), "12ms");
    }
}
