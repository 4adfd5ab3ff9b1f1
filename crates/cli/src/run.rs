//! `wandb-operator run`: the controller, with leader election, health and
//! metrics endpoints, and graceful shutdown.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use futures::FutureExt;
use tokio::sync::watch;
use tracing::{error, info};
use wandb_operator_core::controller::{self, Scope};
use wandb_operator_core::leader::LeaderElection;
use wandb_operator_core::metrics::Metrics;
use wandb_operator_core::server;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    wandb-operator run --namespace wandb\n  \
    wandb-operator run --all-namespaces --metrics-addr 0.0.0.0:8080\n  \
    POD_NAMESPACE=wandb wandb-operator run --log-format text")]
pub struct RunArgs {
    /// Namespace to watch (default: $POD_NAMESPACE, else `default`).
    #[arg(short = 'n', long, env = "WATCH_NAMESPACE")]
    pub namespace: Option<String>,
    /// Watch every namespace (needs cluster-wide permissions).
    #[arg(long, conflicts_with = "namespace")]
    pub all_namespaces: bool,
    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,
    /// Run only while holding the leader Lease (for several replicas).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    /// Namespace of the leader Lease (default: the operator's namespace).
    #[arg(long, env = "POD_NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// Apply the operator's CRD at start (an upgrade of the operator upgrades it).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub install_crd: bool,
    #[arg(long, value_enum, default_value = "json")]
    pub log_format: LogFormat,
}

pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,kube=warn"));
    // Colours only on a terminal: a log file or a pipe gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c().map(|_| ());
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return ctrl_c.await,
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}

pub fn run(args: RunArgs) -> ExitCode {
    init_logging(args.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            error!(error = %e, "starting the runtime");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run_async(args))
}

async fn run_async(args: RunArgs) -> ExitCode {
    let client = match kube::Client::try_default().await {
        Ok(c) => c,
        Err(e) => {
            error!(error = %e, "connecting to the cluster");
            return ExitCode::FAILURE;
        }
    };
    let own_namespace = args
        .lease_namespace
        .clone()
        .unwrap_or_else(|| client.default_namespace().to_string());
    let scope = Scope {
        namespace: if args.all_namespaces {
            None
        } else {
            Some(
                args.namespace
                    .clone()
                    .unwrap_or_else(|| own_namespace.clone()),
            )
        },
    };
    let metrics = Arc::new(Metrics::default());
    let (ready_tx, ready_rx) = watch::channel(false);
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let server = tokio::spawn(server::serve(
        args.metrics_addr,
        metrics.clone(),
        ready_rx,
        stopped(),
    ));
    tokio::spawn({
        let stop_tx = stop_tx.clone();
        async move {
            shutdown_signal().await;
            info!("shutting down");
            let _ = stop_tx.send(true);
        }
    });

    if args.install_crd
        && let Err(e) = controller::ensure_crd(&client).await
    {
        error!(error = %e, "applying the WeightsAndBiases CRD");
        return ExitCode::FAILURE;
    }

    let identity = std::env::var("POD_NAME").unwrap_or_else(|_| {
        format!(
            "{}-{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "wandb-operator".into()),
            std::process::id()
        )
    });
    let election = args.leader_elect.then(|| {
        LeaderElection::new(
            client.clone(),
            &own_namespace,
            "wandb-operator-leader",
            &identity,
        )
    });
    let mut lost_leadership = false;
    if let Some(le) = &election {
        // A standby replica is healthy and ready: it is doing its job.
        let _ = ready_tx.send(true);
        tokio::select! {
            _ = le.acquire() => {}
            _ = stopped() => { let _ = server.await; info!("stopped"); return ExitCode::SUCCESS; }
        }
        metrics.leader.set(1);
    }
    let lost = async {
        match &election {
            Some(le) => le.hold().await,
            None => futures::future::pending().await,
        }
    };
    tokio::select! {
        _ = controller::run(client.clone(), scope, metrics.clone(), ready_tx, stopped()) => {}
        _ = lost => {
            error!("lost the leader lease; exiting so that another replica leads");
            lost_leadership = true;
        }
    }
    if let Some(le) = &election {
        if !lost_leadership {
            le.release().await;
        }
        metrics.leader.set(0);
    }
    let _ = stop_tx.send(true);
    let _ = server.await;
    if lost_leadership {
        ExitCode::FAILURE
    } else {
        // The last line of a clean exit: a rollout's SIGTERM handled in full.
        info!("stopped");
        ExitCode::SUCCESS
    }
}
