//! Secret references, read from a fake Kubernetes API.

use super::*;

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
