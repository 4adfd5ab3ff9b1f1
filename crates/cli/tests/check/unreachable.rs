//! Unreachable and silent hosts.

use super::*;

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
