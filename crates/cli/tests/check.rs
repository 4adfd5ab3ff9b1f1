//! `wandb-operator check` against real servers on loopback: MariaDB, Redis
//! (plain and TLS), an S3-compatible server (moto) and a Kafka broker
//! (kfake, franz-go's in-memory implementation of the Kafka protocol),
//! started by `hack/test-servers start`. ClickHouse, and Kafka's failure
//! modes, are answered by small protocol fakes in this file, and so is the
//! Kubernetes API for Secret references.
//!
//! A test that needs the servers fails, with the command to start them, when
//! they are not running: nothing is skipped silently.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

// --- the servers -------------------------------------------------------------

struct Servers {
    mysql_port: String,
    mysql_password: String,
    redis_port: String,
    redis_tls_port: String,
    redis_password: String,
    ca: String,
    other_ca: String,
    s3_port: String,
    s3_access: String,
    s3_secret: String,
    kafka_port: String,
}

fn env_file() -> PathBuf {
    let dir = std::env::var("WANDB_TEST_SERVERS_DIR")
        .unwrap_or_else(|_| "/tmp/wandb-test-servers".to_string());
    PathBuf::from(dir).join("env")
}

/// The running servers, or a panic that says how to start them.
fn servers() -> Servers {
    let path = env_file();
    let start = "start them with `hack/test-servers start` (from the repository root), \
                 then run the tests again";
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "the test servers are not running ({} is missing): {start}",
            path.display()
        )
    });
    let env: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let get = |k: &str| -> String {
        env.get(k)
            .unwrap_or_else(|| panic!("{} has no {k}: {start}", path.display()))
            .to_string()
    };
    let s = Servers {
        mysql_port: get("MYSQL_PORT"),
        mysql_password: get("MYSQL_PASSWORD"),
        redis_port: get("REDIS_PORT"),
        redis_tls_port: get("REDIS_TLS_PORT"),
        redis_password: get("REDIS_PASSWORD"),
        ca: get("CA"),
        other_ca: get("OTHER_CA"),
        s3_port: get("S3_PORT"),
        s3_access: get("S3_ACCESS_KEY"),
        s3_secret: get("S3_SECRET_KEY"),
        kafka_port: get("KAFKA_PORT"),
    };
    for (name, port) in [
        ("MariaDB", &s.mysql_port),
        ("Redis", &s.redis_port),
        ("Redis TLS", &s.redis_tls_port),
        ("moto (S3)", &s.s3_port),
        ("kfake (Kafka)", &s.kafka_port),
    ] {
        let addr = format!("127.0.0.1:{port}");
        if TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2)).is_err() {
            panic!("the test server {name} does not answer on {addr}: {start}");
        }
    }
    s
}

impl Servers {
    fn mysql(&self, password: &str, database: &str) -> Vec<String> {
        sets(&[
            "global.mysql.host=127.0.0.1",
            &format!("global.mysql.port={}", self.mysql_port),
            &format!("global.mysql.password={password}"),
            &format!("global.mysql.database={database}"),
        ])
    }
    fn redis(&self, password: &str) -> Vec<String> {
        let mut out = sets(&[
            "global.redis.host=127.0.0.1",
            &format!("global.redis.port={}", self.redis_port),
        ]);
        if !password.is_empty() {
            out.extend(sets(&[&format!("global.redis.password={password}")]));
        }
        out
    }
    fn bucket(&self, bucket: &str, secret: &str) -> Vec<String> {
        let mut out = sets(&[
            &format!("global.bucket.name=127.0.0.1:{}/{bucket}", self.s3_port),
            &format!("global.bucket.accessKey={}", self.s3_access),
        ]);
        out.push("--set-string".into());
        out.push(format!("global.bucket.secretKey={secret}"));
        out
    }
}

fn sets(pairs: &[&str]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|p| ["--set".to_string(), p.to_string()])
        .collect()
}

// --- running the command ----------------------------------------------------------

/// `wandb-operator check ARGS`, with no kubeconfig unless one is given.
fn check_with(args: &[String], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wandb-operator"));
    cmd.arg("check")
        .args(["--set", "global.host=https://wandb.example.com"])
        .args(args)
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the binary runs")
}

fn check(args: &[String]) -> Output {
    check_with(args, &[])
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Whether `l` is the report line of `store`/`check`.
fn is_line(l: &str, store: &str, check: &str) -> bool {
    let Some(rest) = ["PASS", "WARN", "FAIL", "SKIP"]
        .iter()
        .find_map(|s| l.strip_prefix(s))
    else {
        return false;
    };
    match rest.trim_start().strip_prefix(store) {
        Some(after) => after.starts_with(' ') && after.trim_start().starts_with(check),
        None => false,
    }
}

/// The report's line for `store`/`check`, which must have `status`.
fn line(o: &Output, status: &str, store: &str, check: &str) -> String {
    let text = stdout(o);
    match text.lines().find(|l| is_line(l, store, check)) {
        Some(l) if l.starts_with(status) => l.to_string(),
        Some(l) => panic!("expected {status} for {store} {check}, got:\n{l}\n\nreport:\n{text}"),
        None => panic!(
            "no line for {store} {check} in:\n{text}\nstderr:\n{}",
            String::from_utf8_lossy(&o.stderr)
        ),
    }
}

/// The hint under the line for `store`/`check`.
fn hint(o: &Output, store: &str, check: &str) -> String {
    let text = stdout(o);
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| is_line(l, store, check))
        .unwrap_or_else(|| panic!("no line for {store} {check} in:\n{text}"));
    lines
        .get(at + 1)
        .and_then(|l| l.trim_start().strip_prefix("hint: "))
        .unwrap_or_else(|| panic!("no hint under {store} {check} in:\n{text}"))
        .to_string()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited")
}

// --- the command itself ---------------------------------------------------------

#[test]
fn bad_values_exit_1_naming_the_key_before_any_check() {
    let o = check(&sets(&[
        "app.replicaCount=two",
        "global.mysql.host=127.0.0.1",
    ]));
    assert_eq!(code(&o), 1);
    assert!(o.stdout.is_empty(), "{}", stdout(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("error: app.replicaCount: expected an integer"),
        "{err}"
    );
}

#[test]
fn help_has_examples() {
    let o = Command::new(env!("CARGO_BIN_EXE_wandb-operator"))
        .args(["check", "--help"])
        .output()
        .unwrap();
    let text = stdout(&o);
    assert!(text.contains("Examples:"), "{text}");
    assert!(
        text.contains("wandb-operator check -f values.yaml"),
        "{text}"
    );
    assert!(text.contains("--timeout"), "{text}");
}

#[test]
fn the_default_install_keeps_every_store_in_the_cluster() {
    let o = check(&[]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    for store in ["mysql", "redis", "bucket", "clickhouse", "kafka"] {
        let l = line(&o, "SKIP", store, "in-cluster");
        assert!(l.ends_with("in-cluster: checked by the operator"), "{l}");
    }
    assert!(line(&o, "PASS", "values", "load").contains("validated"));
    assert!(
        !stdout(&o).contains('\x1b'),
        "no colours when stdout is not a terminal"
    );
}

#[test]
fn a_store_switched_off_without_a_host_is_a_values_error() {
    let o = check(&sets(&["mysql.install=false", "redis.install=false"]));
    assert_eq!(code(&o), 1);
    assert!(o.stdout.is_empty(), "{}", stdout(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("error: mysql.install:"), "{err}");
    assert!(err.contains("global.redis.host"), "{err}");
}

// --- MySQL (MariaDB here) ----------------------------------------------------------

#[test]
fn mysql_good_credentials_pass_and_mariadb_is_reported_as_not_mysql_8() {
    let s = servers();
    let o = check(&s.mysql(&s.mysql_password, "wandb_local"));
    line(&o, "PASS", "mysql", "connect");
    line(&o, "PASS", "mysql", "create table");
    assert!(line(&o, "PASS", "mysql", "charset").contains("utf8mb4"));
    // Our server is MariaDB: W&B supports MySQL 8 only, so this line fails.
    assert!(line(&o, "FAIL", "mysql", "version").contains("MariaDB"));
    assert!(hint(&o, "mysql", "version").contains("MySQL 8"));
    assert_eq!(code(&o), 1);
}

#[test]
fn mysql_wrong_password_fails_with_a_hint() {
    let s = servers();
    let o = check(&s.mysql("wrong-password", "wandb_local"));
    assert_eq!(code(&o), 1);
    assert!(line(&o, "FAIL", "mysql", "connect").contains("Access denied"));
    assert!(hint(&o, "mysql", "connect").contains("wrong user or password"));
    line(&o, "SKIP", "mysql", "version");
}

#[test]
fn mysql_latin1_database_warns() {
    let s = servers();
    let o = check(&s.mysql(&s.mysql_password, "wandb_latin1"));
    assert!(line(&o, "WARN", "mysql", "charset").contains("latin1"));
    assert!(hint(&o, "mysql", "charset").contains("ALTER DATABASE"));
}

#[test]
fn mysql_user_without_create_rights_fails() {
    let s = servers();
    let mut args = s.mysql(&s.mysql_password, "wandb_local");
    args.extend(sets(&["global.mysql.user=reader"]));
    let o = check(&args);
    line(&o, "PASS", "mysql", "connect");
    line(&o, "FAIL", "mysql", "create table");
    assert!(hint(&o, "mysql", "create table").contains("GRANT ALL ON `wandb_local`.*"));
}

#[test]
fn mysql_tls_with_the_ca_passes_and_with_another_ca_fails() {
    let s = servers();
    let mut args = s.mysql(&s.mysql_password, "wandb_local");
    args.extend([
        "--set-file".to_string(),
        format!("global.mysql.caCert={}", s.ca),
    ]);
    let o = check(&args);
    assert!(line(&o, "PASS", "mysql", "connect").contains("TLS verified with global.mysql.caCert"));
    line(&o, "PASS", "mysql", "create table");

    let mut args = s.mysql(&s.mysql_password, "wandb_local");
    args.extend([
        "--set-file".to_string(),
        format!("global.mysql.caCert={}", s.other_ca),
    ]);
    let o = check(&args);
    assert!(line(&o, "FAIL", "mysql", "connect").contains("TLS failed"));
    assert!(hint(&o, "mysql", "connect").contains("global.mysql.caCert"));
}

#[test]
fn mysql_without_a_password_fails_before_connecting() {
    let o = check(&sets(&["global.mysql.host=127.0.0.1"]));
    assert_eq!(code(&o), 1);
    assert!(line(&o, "FAIL", "mysql", "password").contains("no password"));
}

// --- Redis ----------------------------------------------------------------------

#[test]
fn redis_good_password_passes() {
    let s = servers();
    let o = check(&s.redis(&s.redis_password));
    line(&o, "PASS", "redis", "connect");
    line(&o, "PASS", "redis", "auth");
    line(&o, "PASS", "redis", "ping");
    assert!(line(&o, "PASS", "redis", "version").contains("Redis 7"));
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

#[test]
fn redis_wrong_password_fails_with_a_hint() {
    let s = servers();
    let o = check(&s.redis("wrong-password"));
    assert_eq!(code(&o), 1);
    assert!(line(&o, "FAIL", "redis", "auth").contains("WRONGPASS"));
    assert!(hint(&o, "redis", "auth").contains("global.redis.password"));
}

#[test]
fn redis_missing_password_fails_with_a_hint() {
    let s = servers();
    let o = check(&s.redis(""));
    assert_eq!(code(&o), 1);
    assert!(line(&o, "FAIL", "redis", "ping").contains("NOAUTH"));
    assert!(hint(&o, "redis", "ping").contains("global.redis.password"));
}

#[test]
fn redis_tls_with_the_ca_passes_and_without_it_fails() {
    let s = servers();
    let mut args = sets(&[
        "global.redis.host=127.0.0.1",
        &format!("global.redis.port={}", s.redis_tls_port),
        &format!("global.redis.password={}", s.redis_password),
    ]);
    let mut with_ca = args.clone();
    with_ca.push("--set-file".into());
    with_ca.push(format!("global.redis.caCert={}", s.ca));
    let o = check(&with_ca);
    assert!(line(&o, "PASS", "redis", "connect").contains("TLS verified with global.redis.caCert"));
    line(&o, "PASS", "redis", "ping");

    // Another CA than the one that signed the server's certificate.
    let mut other_ca = args.clone();
    other_ca.push("--set-file".into());
    other_ca.push(format!("global.redis.caCert={}", s.other_ca));
    let o = check(&other_ca);
    assert!(line(&o, "FAIL", "redis", "connect").contains("TLS handshake failed"));
    assert!(hint(&o, "redis", "connect").contains("not signed by the CA"));

    // TLS through params, verified with the system's CAs, which do not know ours.
    args.extend(sets(&["global.redis.params.tls=true"]));
    let o = check(&args);
    assert!(line(&o, "FAIL", "redis", "connect").contains("TLS handshake failed"));
    assert!(hint(&o, "redis", "connect").contains("CA"));
}

// --- the bucket (moto) ------------------------------------------------------------

#[test]
fn bucket_good_keys_put_get_delete_and_cors_pass() {
    let s = servers();
    let o = check(&s.bucket("wandb", &s.s3_secret));
    line(&o, "PASS", "bucket", "put");
    line(&o, "PASS", "bucket", "get");
    line(&o, "PASS", "bucket", "delete");
    line(&o, "PASS", "bucket", "cors");
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

#[test]
fn bucket_under_a_path_passes() {
    let s = servers();
    let mut args = s.bucket("wandb", &s.s3_secret);
    args.extend(sets(&["global.bucket.path=some/prefix"]));
    let o = check(&args);
    assert!(line(&o, "PASS", "bucket", "put").contains("some/prefix/wandb-operator-check-"));
    line(&o, "PASS", "bucket", "delete");
}

#[test]
fn bucket_wrong_secret_key_fails_with_a_hint() {
    let s = servers();
    let o = check(&s.bucket("wandb", "wrong-secret"));
    assert_eq!(code(&o), 1);
    assert!(line(&o, "FAIL", "bucket", "put").contains("SignatureDoesNotMatch"));
    assert!(hint(&o, "bucket", "put").contains("secret key is wrong"));
    line(&o, "SKIP", "bucket", "get");
}

#[test]
fn bucket_unknown_access_key_fails_with_a_hint() {
    let s = servers();
    let mut args = s.bucket("wandb", &s.s3_secret);
    args.extend(sets(&["global.bucket.accessKey=AKIAUNKNOWNKEY000000"]));
    let o = check(&args);
    assert!(line(&o, "FAIL", "bucket", "put").contains("InvalidAccessKeyId"));
    assert!(hint(&o, "bucket", "put").contains("access key"));
}

#[test]
fn bucket_without_cors_warns_with_the_rule_to_add() {
    let s = servers();
    let o = check(&s.bucket("nocors", &s.s3_secret));
    line(&o, "PASS", "bucket", "put");
    assert!(line(&o, "WARN", "bucket", "cors").contains("no CORS rules"));
    assert!(hint(&o, "bucket", "cors").contains("GET, PUT and HEAD"));
    assert_eq!(code(&o), 0, "a warning does not fail the check");
}

#[test]
fn bucket_that_does_not_exist_fails() {
    let s = servers();
    let o = check(&s.bucket("no-such-bucket", &s.s3_secret));
    assert!(line(&o, "FAIL", "bucket", "put").contains("NoSuchBucket"));
    assert!(hint(&o, "bucket", "put").contains("create the bucket"));
}

#[test]
fn every_real_store_at_once_reports_in_a_fixed_order() {
    let s = servers();
    let mut args = s.redis(&s.redis_password);
    args.extend(s.bucket("wandb", &s.s3_secret));
    args.extend(s.mysql(&s.mysql_password, "wandb_local"));
    let o = check(&args);
    let stores: Vec<String> = stdout(&o)
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.is_empty() && !l.starts_with("summary"))
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect();
    let mut order = stores.clone();
    order.dedup();
    assert_eq!(
        order,
        ["values", "mysql", "redis", "bucket", "clickhouse", "kafka"],
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("summary: 12 PASS, 0 WARN, 1 FAIL, 2 SKIP"),
        "{}",
        stdout(&o)
    );
}

// --- unreachable and silent hosts ------------------------------------------------

fn all_stores_at(host: &str, port: u16) -> Vec<String> {
    sets(&[
        &format!("global.mysql.host={host}"),
        &format!("global.mysql.port={port}"),
        "global.mysql.password=x",
        &format!("global.redis.host={host}"),
        &format!("global.redis.port={port}"),
        &format!("global.bucket.name={host}:{port}/wandb"),
        "global.bucket.accessKey=a",
        "global.bucket.secretKey=b",
        &format!("global.clickhouse.host={host}"),
        &format!("global.clickhouse.port={port}"),
        "global.clickhouse.password=x",
        &format!("global.kafka.brokerHost={host}"),
        &format!("global.kafka.brokerPort={port}"),
    ])
}

#[test]
fn refused_connections_fail_at_once_with_a_hint() {
    let mut args = all_stores_at("127.0.0.1", 1);
    args.extend(["--timeout".to_string(), "2s".to_string()]);
    let started = Instant::now();
    let o = check(&args);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(code(&o), 1);
    for (store, check) in [
        ("mysql", "connect"),
        ("redis", "connect"),
        ("bucket", "put"),
        ("clickhouse", "ping"),
        ("kafka", "connect"),
    ] {
        assert!(
            line(&o, "FAIL", store, check).contains("refused"),
            "{store}"
        );
        assert!(
            hint(&o, store, check).contains("nothing listens"),
            "{store}"
        );
    }
}

#[test]
fn silent_hosts_fail_within_the_timeout() {
    // A port that accepts connections (the kernel's backlog) but never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let mut args = all_stores_at("127.0.0.1", port);
    args.extend(["--timeout".to_string(), "2s".to_string()]);
    let started = Instant::now();
    let o = check(&args);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2),
        "took {took:?}:\n{}",
        stdout(&o)
    );
    assert!(
        took < Duration::from_secs(5),
        "took {took:?}: the stores are checked side by side"
    );
    assert_eq!(code(&o), 1);
    for (store, check) in [
        ("mysql", "connect"),
        ("redis", "ping"),
        ("bucket", "put"),
        ("clickhouse", "ping"),
        ("kafka", "api versions"),
    ] {
        let l = line(&o, "FAIL", store, check);
        assert!(l.contains("within 2s"), "{store}: {l}");
    }
    drop(silent);
}

// --- protocol fakes: ClickHouse's HTTP interface, a Kafka broker, the Kubernetes API

/// A request: method, path, headers (lower-case names), body.
type Request = (String, String, BTreeMap<String, String>, Vec<u8>);

/// An HTTP/1.1 server on loopback answering each request with `answer`'s
/// status, content type and body, one request per connection.
fn fake_http(answer: fn(&Request) -> (u16, &'static str, String)) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = serve_one(stream, answer);
        }
    });
    port
}

fn serve_one(
    stream: TcpStream,
    answer: fn(&Request) -> (u16, &'static str, String),
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut first = String::new();
    reader.read_line(&mut first)?;
    let mut parts = first.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut l = String::new();
        reader.read_line(&mut l)?;
        let l = l.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.insert(k.trim().to_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    let (status, content_type, text) = answer(&(method, path, headers, body));
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )?;
    stream.flush()
}

fn clickhouse_answer(r: &Request) -> (u16, &'static str, String) {
    let (method, path, headers, body) = r;
    match (method.as_str(), path.as_str()) {
        ("GET", "/ping") => (200, "text/plain", "Ok.\n".into()),
        ("POST", "/") if body == b"SELECT version()" => {
            let user = headers.get("x-clickhouse-user").map(String::as_str);
            let key = headers.get("x-clickhouse-key").map(String::as_str);
            if user == Some("weave") && key == Some("right") {
                (200, "text/plain", "24.8.4.13\n".into())
            } else {
                (
                    516,
                    "text/plain",
                    "Code: 516. DB::Exception: weave: Authentication failed. (AUTHENTICATION_FAILED)\n"
                        .into(),
                )
            }
        }
        _ => (404, "text/plain", "no\n".into()),
    }
}

#[test]
fn clickhouse_over_http_fake_right_and_wrong_password() {
    let port = fake_http(clickhouse_answer);
    let base = sets(&[
        "global.clickhouse.host=127.0.0.1",
        &format!("global.clickhouse.port={port}"),
        "global.clickhouse.user=weave",
    ]);
    let mut good = base.clone();
    good.extend(sets(&["global.clickhouse.password=right"]));
    let o = check(&good);
    line(&o, "PASS", "clickhouse", "ping");
    assert!(line(&o, "PASS", "clickhouse", "query").contains("ClickHouse 24.8.4.13"));
    assert_eq!(code(&o), 0, "{}", stdout(&o));

    let mut bad = base;
    bad.extend(sets(&["global.clickhouse.password=wrong"]));
    let o = check(&bad);
    assert!(line(&o, "FAIL", "clickhouse", "query").contains("516"));
    assert!(hint(&o, "clickhouse", "query").contains("wrong user or password"));
}

/// A Kafka broker that answers one ApiVersions v0 request per connection.
fn fake_kafka() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut len = [0u8; 4];
            if stream.read_exact(&mut len).is_err() {
                continue;
            }
            let mut req = vec![0u8; i32::from_be_bytes(len) as usize];
            if stream.read_exact(&mut req).is_err() {
                continue;
            }
            assert_eq!(&req[..4], &[0, 18, 0, 0], "ApiVersions v0");
            let mut body = req[4..8].to_vec(); // the correlation id
            body.extend_from_slice(&0i16.to_be_bytes());
            body.extend_from_slice(&3i32.to_be_bytes());
            for (k, max) in [(0i16, 9i16), (1, 13), (18, 3)] {
                body.extend_from_slice(&k.to_be_bytes());
                body.extend_from_slice(&0i16.to_be_bytes());
                body.extend_from_slice(&max.to_be_bytes());
            }
            let mut out = (body.len() as i32).to_be_bytes().to_vec();
            out.extend_from_slice(&body);
            let _ = stream.write_all(&out);
        }
    });
    port
}

#[test]
fn kafka_broker_passes() {
    let s = servers();
    let o = check(&sets(&[
        "global.kafka.brokerHost=127.0.0.1",
        &format!("global.kafka.brokerPort={}", s.kafka_port),
    ]));
    line(&o, "PASS", "kafka", "connect");
    let versions = line(&o, "PASS", "kafka", "api versions");
    assert!(versions.contains("Produce and Fetch"), "{versions}");
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

#[test]
fn kafka_api_versions_fake_broker_passes() {
    let port = fake_kafka();
    let o = check(&sets(&[
        "global.kafka.brokerHost=127.0.0.1",
        &format!("global.kafka.brokerPort={port}"),
    ]));
    line(&o, "PASS", "kafka", "connect");
    assert!(line(&o, "PASS", "kafka", "api versions").contains("3 APIs, Produce and Fetch"));
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

#[test]
fn kafka_port_that_is_not_kafka_fails() {
    // A server of another protocol, answering at once and hanging up.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
    });
    let o = check(&sets(&[
        "global.kafka.brokerHost=127.0.0.1",
        &format!("global.kafka.brokerPort={port}"),
    ]));
    line(&o, "FAIL", "kafka", "api versions");
    assert!(hint(&o, "kafka", "api versions").contains("Kafka broker"));
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A kubeconfig for a plain-HTTP API server on `port`, namespace `wandb`.
fn kubeconfig(name: &str, port: u16) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wandb-check-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\n\
             clusters: [{{name: c, cluster: {{server: \"http://127.0.0.1:{port}\"}}}}]\n\
             users: [{{name: u, user: {{token: t}}}}]\n\
             contexts: [{{name: x, context: {{cluster: c, user: u, namespace: wandb}}}}]\n\
             current-context: x\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn secret_references_are_read_from_the_cluster() {
    let s = servers();
    // The API server knows one Secret, wandb/mysql-secret, holding the real password.
    static PASSWORD: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PASSWORD.set(s.mysql_password.clone()).unwrap();
    fn api(r: &Request) -> (u16, &'static str, String) {
        if r.1 == "/api/v1/namespaces/wandb/secrets/mysql-secret" {
            let pw = base64(PASSWORD.get().unwrap().as_bytes());
            (
                200,
                "application/json",
                format!(
                    r#"{{"apiVersion":"v1","kind":"Secret","metadata":{{"name":"mysql-secret","namespace":"wandb"}},"data":{{"MYSQL_PASSWORD":"{pw}"}}}}"#
                ),
            )
        } else {
            (
                404,
                "application/json",
                r#"{"apiVersion":"v1","kind":"Status","metadata":{},"status":"Failure","message":"not found","reason":"NotFound","code":404}"#.into(),
            )
        }
    }
    let port = fake_http(api);
    let config = kubeconfig("api.yaml", port);
    let config = config.to_str().unwrap();
    let args = sets(&[
        "global.mysql.host=127.0.0.1",
        &format!("global.mysql.port={}", s.mysql_port),
        "global.mysql.passwordSecret.name=mysql-secret",
        "global.redis.host=127.0.0.1",
        &format!("global.redis.port={}", s.redis_port),
        "global.redis.secret.secretName=no-such-secret",
    ]);
    let o = check_with(&args, &[("KUBECONFIG", config)]);
    assert!(
        line(&o, "PASS", "mysql", "password")
            .contains("read from Secret wandb/mysql-secret, key MYSQL_PASSWORD")
    );
    line(&o, "PASS", "mysql", "connect");
    assert!(line(&o, "FAIL", "redis", "password").contains("not found in namespace wandb"));
    assert!(hint(&o, "redis", "password").contains("kubectl -n wandb create secret generic"));
    line(&o, "SKIP", "redis", "connect");

    // --namespace wins over the kubeconfig's namespace.
    let mut other = args.clone();
    other.extend(["--namespace".to_string(), "elsewhere".to_string()]);
    let o = check_with(&other, &[("KUBECONFIG", config)]);
    assert!(line(&o, "FAIL", "mysql", "password").contains("not found in namespace elsewhere"));
}

#[test]
fn secret_references_fail_clearly_without_a_cluster() {
    let args = sets(&[
        "global.mysql.host=127.0.0.1",
        "global.mysql.passwordSecret.name=mysql-secret",
    ]);
    // No kubeconfig at all.
    let o = check(&args);
    assert!(line(&o, "FAIL", "mysql", "password").contains("no usable kubeconfig"));
    assert!(hint(&o, "mysql", "password").contains("KUBECONFIG"));

    // A cluster that refuses connections, and one that never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    for (name, port, phrase) in [
        ("refused.yaml", 1, "cannot reach the cluster"),
        (
            "silent.yaml",
            silent.local_addr().unwrap().port(),
            "did not answer within 2s",
        ),
    ] {
        let config = kubeconfig(name, port);
        let mut args = args.clone();
        args.extend(["--timeout".to_string(), "2s".to_string()]);
        let started = Instant::now();
        let o = check_with(&args, &[("KUBECONFIG", config.to_str().unwrap())]);
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{name}: {:?}",
            started.elapsed()
        );
        assert!(
            line(&o, "FAIL", "mysql", "password").contains(phrase),
            "{name}"
        );
        line(&o, "SKIP", "mysql", "connect");
        assert_eq!(code(&o), 1);
    }
}
