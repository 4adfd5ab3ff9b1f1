//! `wandb-operator run --log-format text` writes plain text off a terminal:
//! a log file or a pipe holds no colour codes.

use std::process::Command;

#[test]
fn a_text_log_off_a_terminal_has_no_colour_codes() {
    let out = Command::new(env!("CARGO_BIN_EXE_wandb-operator"))
        .args(["run", "--log-format", "text"])
        // No cluster: the operator logs why and ends.
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .expect("the binary runs");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("connecting to the cluster"), "{log}");
    assert!(
        !log.contains('\x1b'),
        "colour codes in a piped log: {log:?}"
    );
}
