//! `wandb-operator check -f values.yaml`: a preflight before install.

use std::process::ExitCode;

use clap::Args;

use crate::render::ValuesArgs;

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub values: ValuesArgs,
}

pub fn run(_args: CheckArgs) -> ExitCode {
    eprintln!("error: check is not implemented yet");
    ExitCode::FAILURE
}
