//! The bucket (moto), and every real store at once.

use super::*;

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
