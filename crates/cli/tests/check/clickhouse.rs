//! ClickHouse, against a fake of its HTTP interface.

use super::*;

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
