//! Redis, plain and over TLS.

use super::*;

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
