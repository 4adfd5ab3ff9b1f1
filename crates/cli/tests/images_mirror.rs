//! `wandb-operator images --registry`: with the mirror's values, every image
//! of an install is pulled from the mirror, bufstream's included, for every
//! case: the fixtures, with and without bufstream, the upstream chart's
//! reference cases with bufstream (peer tier; without it,
//! crates/e2e/tests/images.rs) and a server manifest.

use std::path::{Path, PathBuf};
use std::process::Command;

const MIRROR: &str = "mirror.example.com/wandb-mirror";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The mirrored images of an install, or the command's stderr.
fn mirrored_images(args: &[&str]) -> Result<Vec<String>, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_wandb-operator"))
        .arg("images")
        .args(args)
        .args(["--registry", MIRROR])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect())
}

/// Asserts that the install of `args` pulls only from the mirror.
fn assert_only_the_mirror(case: &str, args: &[&str]) -> usize {
    let images = mirrored_images(args).unwrap_or_else(|e| panic!("{case}: {e}"));
    assert!(!images.is_empty(), "{case}: no images");
    let outside: Vec<&String> = images
        .iter()
        .filter(|i| !i.starts_with(&format!("{MIRROR}/")))
        .collect();
    assert!(
        outside.is_empty(),
        "{case}: pulled from elsewhere: {outside:?}"
    );
    images.len()
}

const BUFSTREAM: [&str; 4] = [
    "--set",
    "global.bufstream.enabled=true",
    "--set",
    "bufstream.install=true",
];

#[test]
fn every_fixture_pulls_only_from_the_mirror_bufstream_too() {
    for name in ["minimal", "every-service"] {
        let file = repo().join(format!("fixtures/values/{name}.yaml"));
        let file = file.display().to_string();
        assert_only_the_mirror(name, &["-f", &file]);
        let with = [&["-f", file.as_str()][..], &BUFSTREAM[..]].concat();
        let images = mirrored_images(&with).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            images
                .iter()
                .any(|i| i.starts_with(&format!("{MIRROR}/buf-images-1/"))),
            "{name} with bufstream: bufstream's image is not mirrored: {images:?}"
        );
        assert_only_the_mirror(&format!("{name} with bufstream"), &with);
    }
}

#[test]
fn a_server_manifests_images_pull_only_from_the_mirror() {
    let manifest = repo().join("crates/render/tests/manifests/synthetic");
    let manifest = manifest.display().to_string();
    assert_only_the_mirror("synthetic manifest", &["--manifest", &manifest]);
}

#[test]
fn every_upstream_case_pulls_only_from_the_mirror() {
    let Some(shared) = wandb_contract::peer::Shared::or_skip("the mirror not proven on them")
    else {
        return;
    };
    let cases = shared.cases();
    assert!(
        !cases.is_empty(),
        "no reference cases in the shared material"
    );
    // Without bufstream, crates/e2e/tests/images.rs proves them.
    for case in &cases {
        let values = case.values.display().to_string();
        let with = [&["-f", values.as_str()][..], &BUFSTREAM[..]].concat();
        assert_only_the_mirror(&format!("{} with bufstream", case.name), &with);
    }
    eprintln!(
        "{} upstream cases with bufstream: every image from the mirror",
        cases.len()
    );
}
