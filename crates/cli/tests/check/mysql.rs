//! MySQL (MariaDB here).

use super::*;

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
