//! `wandb-operator`: deploys and runs W&B Server on Kubernetes.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod render;

#[derive(Parser)]
#[command(
    name = "wandb-operator",
    version,
    about = "Deploys and runs W&B Server on Kubernetes",
    long_about = "Deploys and runs W&B Server (Weights & Biases) and its stores on Kubernetes.\n\n\
                  Takes the values of the upstream operator-wandb Helm chart."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Render(render::RenderArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Render(args) => render::run(args),
    }
}
