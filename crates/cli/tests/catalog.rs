//! `wandb-operator catalog` and `--catalog`: the printed document renders
//! the same bytes as the built-in one; a broken one is refused, named.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wandb-operator"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write(name: &str, text: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("wandb-catalog-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

const EVERY_SERVICE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/values/every-service.yaml"
);

#[test]
fn the_printed_document_renders_the_same_bytes() {
    let printed = run(&["catalog"]);
    assert_eq!(printed.status.code(), Some(0), "{}", stderr(&printed));
    assert!(String::from_utf8_lossy(&printed.stdout).contains("\nservices:\n"));
    let file = write("release.yaml", &printed.stdout);
    for values in [
        &["-f", EVERY_SERVICE][..],
        &["--set", "global.api.enabled=true"][..],
    ] {
        let builtin = run(&[&["render"][..], values].concat());
        let other = run(&[&["render", "--catalog", &file][..], values].concat());
        assert_eq!(builtin.status.code(), Some(0), "{}", stderr(&builtin));
        assert_eq!(other.status.code(), Some(0), "{}", stderr(&other));
        assert!(builtin.stdout == other.stdout, "the bytes differ");
    }
}

#[test]
fn a_broken_document_is_refused_naming_its_place() {
    let text = String::from_utf8(run(&["catalog"]).stdout).unwrap();
    let broken = text.replace(
        "      GORILLA_PORT: \"8081\"\n",
        "      GORILLA_PORT: {valeu: global.host}\n",
    );
    assert_ne!(broken, text);
    let file = write("broken.yaml", broken.as_bytes());
    for command in ["render", "images"] {
        let o = run(&[command, "--catalog", &file]);
        assert_eq!(o.status.code(), Some(1), "{command}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{command}: no output");
        assert_eq!(
            stderr(&o).lines().next().unwrap_or_default(),
            format!(
                "error: {file}: configMaps.{{release}}-api-configmap.data.GORILLA_PORT: unknown source kind \"valeu\"; a source is a string or a map with one of text, value, valueOrRef, valueFrom, secret, field, resource, fact, concat, join, oneOf, generated"
            ),
            "{command}"
        );
    }
    let o = run(&["render", "--catalog", "/no/such/release.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error: /no/such/release.yaml: cannot read the file"),
        "{}",
        stderr(&o)
    );
}
