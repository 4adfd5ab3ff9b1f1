//! `wandb-operator`: deploys and runs W&B Server on Kubernetes.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod apply;
mod backup;
mod catalog;
mod chart;
mod check;
mod images;
mod out;
mod render;
mod run;
mod status;

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
    /// Print the objects of an install, like `helm template`.
    Render(render::RenderArgs),
    /// Reconcile one install from here, with the operator's engine.
    Apply(apply::ApplyArgs),
    /// Show the state of an install, per component.
    Status(status::StatusArgs),
    /// Back up the install's MySQL database, list the backups, restore one.
    Backup(backup::BackupArgs),
    /// Print every image an install pulls, for mirroring.
    Images(images::ImagesArgs),
    /// Print the built-in release document: every W&B service, env var,
    /// ConfigMap and route, as data (`render --catalog` takes another).
    #[command(after_help = "Examples:\n  \
        wandb-operator catalog > release.yaml\n  \
        wandb-operator render -f values.yaml --catalog release.yaml")]
    Catalog,
    /// Check values and the external stores they name, before installing.
    Check(check::CheckArgs),
    /// Run the operator: watch WeightsAndBiases resources and reconcile them.
    Run(run::RunArgs),
    /// Write the chart's generated files (values.yaml, values.schema.json, CRD).
    #[command(hide = true)]
    ChartFiles(chart::ChartFilesArgs),
    /// Print shell completions: `source <(wandb-operator completions bash)`.
    #[command(after_help = "Examples:\n  \
        source <(wandb-operator completions bash)\n  \
        wandb-operator completions zsh > \"${fpath[1]}/_wandb-operator\"\n  \
        wandb-operator completions fish > ~/.config/fish/completions/wandb-operator.fish")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the WeightsAndBiases CustomResourceDefinition.
    #[command(after_help = "Example:\n  wandb-operator crd | kubectl apply --server-side -f -")]
    Crd,
}

/// The name kubectl runs this binary by, as its plugin `kubectl wandb`.
const KUBECTL_PLUGIN: &str = "kubectl-wandb";

/// The command line, parsed; under the plugin's name, help and errors say
/// `kubectl wandb` as the user typed it.
fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let as_plugin = std::path::Path::new(&argv0)
        .file_name()
        .is_some_and(|n| n.to_string_lossy().trim_end_matches(".exe") == KUBECTL_PLUGIN);
    if !as_plugin {
        return Cli::parse();
    }
    let matches = Cli::command().bin_name("kubectl wandb").get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

fn main() -> ExitCode {
    let cli = parse();
    match cli.command {
        Command::Render(args) => render::run(args),
        Command::Apply(args) => apply::run(args),
        Command::Run(args) => run::run(args),
        Command::Status(args) => status::run(args),
        Command::Backup(args) => backup::run(args),
        Command::Images(args) => images::run(args),
        Command::Catalog => catalog::run(),
        Command::Check(args) => check::run(args),
        Command::ChartFiles(args) => chart::run(args),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "wandb-operator", &mut script);
            out::exit_code(out::print(&String::from_utf8_lossy(&script)))
        }
        Command::Crd => {
            let crd = wandb_operator_core::crd::crd();
            match serde_saphyr::to_string(&crd) {
                Ok(text) => out::exit_code(out::print(&text)),
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
