//! `wandb-operator status --wait` ended by Ctrl-C exits 130, as a shell
//! does for SIGINT, not 1 ("not Ready"): hack/demo's Ctrl-C exits 130
//! whichever of the command and the shell handles the signal first.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// An API server on loopback that knows no WeightsAndBiases: every request
/// gets 404.
fn api_without_the_resource() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().expect("its address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let body = r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"not found"}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[test]
fn ctrl_c_ends_a_wait_with_130() {
    let port = api_without_the_resource();
    let dir = std::env::temp_dir().join(format!("status-interrupted-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: 'http://127.0.0.1:{port}'}}\n\
             users:\n- name: u\n  user: {{}}\ncontexts:\n- name: c\n  context: {{cluster: c, user: u, namespace: wandb}}\n\
             current-context: c\n"
        ),
    )
    .expect("the kubeconfig written");
    let mut status = Command::new(env!("CARGO_BIN_EXE_wandb-operator"))
        .args(["status", "--wait", "--timeout", "60s"])
        .env("KUBECONFIG", &kubeconfig)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    // Waiting, as hack/demo's is when its Ctrl-C comes.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        status.try_wait().expect("a status").is_none(),
        "status --wait ended before Ctrl-C"
    );
    let sent = Command::new("kill")
        .args(["-INT", &status.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(exit) = status.try_wait().expect("a status") {
            break exit.code();
        }
        assert!(
            Instant::now() < deadline,
            "status --wait did not end within 10 s of Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    if let Some(mut err) = status.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        code,
        Some(130),
        "status --wait after Ctrl-C; stderr:\n{stderr}"
    );
}
