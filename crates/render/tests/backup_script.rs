//! The MySQL backup script (files/mysql-backup.sh), run on this machine as
//! its CronJob and restore Job run it: against the MariaDB and the
//! S3-compatible server (moto) that `hack/test-servers start` runs on
//! loopback. A database of 100,000 rows is dumped, uploaded, listed,
//! downloaded and restored into a second database, whose row count and
//! checksum must equal the source's; a restore into a database that has
//! tables is refused unless forced; retention keeps the newest backups.
//!
//! The servers must be running: the test fails, with the command to start
//! them, when they are not.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/files/mysql-backup.sh");
const SOURCE: &str = "wandb_backup_source";
const RESTORED: &str = "wandb_backup_restore";
const ROWS: u64 = 100_000;

fn servers() -> BTreeMap<String, String> {
    let dir = std::env::var("WANDB_TEST_SERVERS_DIR")
        .unwrap_or_else(|_| "/tmp/wandb-test-servers".to_string());
    let path = PathBuf::from(dir).join("env");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "the test servers are not running ({} is missing): start them with \
             `hack/test-servers start`, then run the tests again",
            path.display()
        )
    });
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

struct Env {
    vars: BTreeMap<&'static str, String>,
    dir: PathBuf,
}

impl Env {
    /// `test`: the test's own work directory (tests run in parallel).
    fn new(test: &str) -> Env {
        let s = servers();
        let get = |k: &str| {
            s.get(k)
                .cloned()
                .unwrap_or_else(|| panic!("the test servers' env has no {k}: restart them"))
        };
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("backup-script")
            .join(test);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a work directory");
        let vars = BTreeMap::from([
            ("MYSQL_HOST", "127.0.0.1".to_string()),
            ("MYSQL_PORT", get("MYSQL_PORT")),
            ("MYSQL_USER", "wandb".to_string()),
            ("MYSQL_PWD", get("MYSQL_PASSWORD")),
            ("MYSQL_DATABASE", SOURCE.to_string()),
            (
                "S3_ENDPOINT",
                format!("http://127.0.0.1:{}", get("S3_PORT")),
            ),
            ("S3_REGION", "us-east-1".to_string()),
            ("BACKUP_BUCKET", "wandb".to_string()),
            // A prefix of this run's own: the bucket outlives it.
            (
                "BACKUP_PREFIX",
                format!("backup-test-{}/", std::process::id()),
            ),
            ("AWS_ACCESS_KEY_ID", get("S3_ACCESS_KEY")),
            ("AWS_SECRET_ACCESS_KEY", get("S3_SECRET_KEY")),
        ]);
        Env { vars, dir }
    }

    fn script(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new("sh");
        cmd.arg(SCRIPT).args(args).env_clear();
        cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
        cmd.envs(&self.vars).envs(extra.iter().copied());
        cmd.output().expect("sh runs")
    }

    fn ok(&self, args: &[&str], extra: &[(&str, &str)]) -> String {
        let out = self.script(args, extra);
        assert!(
            out.status.success(),
            "mysql-backup.sh {args:?}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn sql(&self, database: &str, sql: &str) -> String {
        let out = Command::new("mysql")
            .args([
                "--no-defaults",
                "-h",
                "127.0.0.1",
                "-P",
                &self.vars["MYSQL_PORT"],
            ])
            .args(["-u", "wandb", "-N", "-B", database, "-e", sql])
            .env("MYSQL_PWD", &self.vars["MYSQL_PWD"])
            .output()
            .expect("the mysql client runs");
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn file(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }
}

fn empty(env: &Env, database: &str) {
    let tables = env.sql(
        database,
        &format!(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = '{database}'"
        ),
    );
    for table in tables.lines().filter(|t| !t.is_empty()) {
        env.sql(database, &format!("DROP TABLE `{table}`"));
    }
}

/// (rows, checksum) of the runs table.
fn fingerprint(env: &Env, database: &str) -> (String, String) {
    let rows = env.sql(database, "SELECT COUNT(*) FROM runs");
    let checksum = env.sql(database, "CHECKSUM TABLE runs");
    let checksum = checksum
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .to_string();
    (rows, checksum)
}

#[test]
fn a_backup_restores_into_another_database_with_the_same_rows() {
    let env = Env::new("restore");
    empty(&env, SOURCE);
    empty(&env, RESTORED);
    env.sql(
        SOURCE,
        "CREATE TABLE runs (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL, \
         config JSON, created_at DATETIME(6) NOT NULL) ENGINE=InnoDB",
    );
    env.sql(
        SOURCE,
        &format!(
            "SET SESSION max_recursive_iterations = {ROWS}; INSERT INTO runs WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
             WHERE i < {ROWS}) SELECT i, CONCAT('run-', i, '-ünïcode'), \
             JSON_OBJECT('lr', i / 1000, 'tags', JSON_ARRAY('a', 'b')), \
             TIMESTAMP('2026-01-01') + INTERVAL i SECOND FROM n"
        ),
    );
    let source = fingerprint(&env, SOURCE);
    assert_eq!(source.0, ROWS.to_string());

    let first = env.file("wandb-mysql-20261201T030000Z.sql.gz");
    let second = env.file("wandb-mysql-20261202T030000Z.sql.gz");
    env.ok(&["dump", &first], &[]);
    env.ok(&["upload", &first], &[]);
    std::fs::copy(&first, &second).expect("a second backup");
    env.ok(&["upload", &second], &[]);
    let listed = env.ok(&["list"], &[]);
    assert_eq!(
        listed.lines().collect::<Vec<_>>(),
        [
            "wandb-mysql-20261201T030000Z.sql.gz",
            "wandb-mysql-20261202T030000Z.sql.gz"
        ],
        "oldest first"
    );

    let downloaded = env.file("downloaded.sql.gz");
    env.ok(
        &[
            "download",
            "wandb-mysql-20261202T030000Z.sql.gz",
            &downloaded,
        ],
        &[],
    );
    let into_restored = [("MYSQL_DATABASE", RESTORED)];
    env.ok(&["restore", &downloaded], &into_restored);
    assert_eq!(fingerprint(&env, RESTORED), source, "restored rows differ");

    // Not into a database that has tables, unless forced.
    let refused = env.script(&["restore", &downloaded], &into_restored);
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains(&format!("database {RESTORED} has 1 tables")) && why.contains("BACKUP_FORCE"),
        "{why}"
    );
    env.sql(RESTORED, "DELETE FROM runs WHERE id <= 10");
    env.ok(
        &["restore", &downloaded],
        &[("MYSQL_DATABASE", RESTORED), ("BACKUP_FORCE", "true")],
    );
    assert_eq!(
        fingerprint(&env, RESTORED),
        source,
        "a forced restore differs"
    );

    // Retention: the newest one is kept.
    let pruned = env.ok(&["prune"], &[("BACKUP_RETENTION", "1")]);
    assert!(
        pruned.contains("deleted wandb-mysql-20261201T030000Z.sql.gz"),
        "{pruned}"
    );
    assert_eq!(
        env.ok(&["list"], &[]).trim(),
        "wandb-mysql-20261202T030000Z.sql.gz"
    );
    // Keeping none would leave no backup at all.
    let out = env.script(&["prune"], &[("BACKUP_RETENTION", "0")]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("BACKUP_RETENTION must be 1 or more"));
}

#[test]
fn bad_settings_are_named() {
    let env = Env::new("bad-settings");
    let out = env.script(&["prune"], &[("BACKUP_RETENTION", "seven")]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("BACKUP_RETENTION must be a number, found seven")
    );
    let out = env.script(&["upload", "/nonexistent.sql.gz"], &[]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("/nonexistent.sql.gz is missing or empty")
    );
    let mut cmd = Command::new("sh");
    let out = cmd
        .arg(SCRIPT)
        .arg("list")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .expect("sh runs");
    assert!(String::from_utf8_lossy(&out.stderr).contains("S3_ENDPOINT is not set"));
    assert!(Path::new(SCRIPT).exists());
}
