//! `wandb-operator status`: the state of an install, per component.

use std::process::ExitCode;

use clap::Args;

#[derive(Args, Debug)]
pub struct StatusArgs {}

pub fn run(_args: StatusArgs) -> ExitCode {
    eprintln!("error: status is not implemented yet");
    ExitCode::FAILURE
}
