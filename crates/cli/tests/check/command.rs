//! The command itself: bad values, help, the stores of a default install.

use super::*;

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
