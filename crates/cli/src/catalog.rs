//! `wandb-operator catalog`: print the built-in release document, to read
//! or to start another from (`render --catalog FILE`).

use std::process::ExitCode;

pub fn run() -> ExitCode {
    crate::out::exit_code(crate::out::print(wandb_render::catalog::BUILTIN_YAML))
}
