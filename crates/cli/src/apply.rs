//! `wandb-operator apply`: reconcile one install from the command line,
//! with the controller's own engine, and optionally wait until it is Ready.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use futures::StreamExt;
use kube::api::{Api, Patch, PatchParams};
use wandb_operator_core::conditions::{self, types};
use wandb_operator_core::controller::{self, Scope};
use wandb_operator_core::crd::WeightsAndBiases;
use wandb_operator_core::desired::FIELD_MANAGER;
use wandb_operator_core::engine::Context;
use wandb_operator_core::metrics::Metrics;
use wandb_values::Disk;

use crate::render::ValuesArgs;

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    wandb-operator apply --set global.host=https://wandb.example.com --set global.license=KEY --wait\n  \
    wandb-operator apply -f values.yaml --name wandb --namespace wandb --wait --timeout 15m")]
pub struct ApplyArgs {
    #[command(flatten)]
    pub values: ValuesArgs,
    /// Name of the WeightsAndBiases resource (and prefix of every object).
    #[arg(long, default_value = "wandb")]
    pub name: String,
    /// Namespace of the install (default: the kubeconfig's).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Keep reconciling, showing each component's progress, until Ready.
    #[arg(long)]
    pub wait: bool,
    /// Give up waiting after this long (e.g. 90s, 10m).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub timeout: Duration,
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 90s or 10m"))?;
    match unit {
        "" | "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!("{s:?}: the unit must be s, m or h")),
    }
}

pub fn run(args: ApplyArgs) -> ExitCode {
    // The values are checked here first, so that a typo never reaches the cluster.
    let user_tree = match args.values.user_tree(&mut Disk) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(apply(args, user_tree)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn apply(args: ApplyArgs, values: serde_json::Value) -> Result<ExitCode, String> {
    let client = kube::Client::try_default()
        .await
        .map_err(|e| format!("connecting to the cluster: {e}"))?;
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| client.default_namespace().to_string());
    controller::ensure_crd(&client)
        .await
        .map_err(|e| format!("applying the WeightsAndBiases CRD: {e}"))?;
    let api: Api<WeightsAndBiases> = Api::namespaced(client.clone(), &namespace);
    let resource = serde_json::json!({
        "apiVersion": "apps.wandb.com/v1",
        "kind": "WeightsAndBiases",
        "metadata": {"name": args.name, "namespace": namespace},
        "spec": {"values": values},
    });
    api.patch(
        &args.name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&resource),
    )
    .await
    .map_err(|e| format!("applying WeightsAndBiases/{}: {e}", args.name))?;

    let scope = Scope {
        namespace: Some(namespace.clone()),
    };
    let (caches, streams) = controller::caches(&client, &scope);
    // The caches fill as their watches are polled.
    tokio::spawn(
        futures::stream::select_all(streams.into_iter().map(|(s, _)| s)).for_each(|_| async {}),
    );
    let ctx = Arc::new(Context {
        client: client.clone(),
        caches,
        metrics: Arc::new(Metrics::default()),
        recorder: None,
        resync: Duration::from_secs(300),
        failures: Default::default(),
        documents: Default::default(),
        server_manifests: Default::default(),
    });
    let started = Instant::now();
    let mut shown: BTreeMap<String, (String, String)> = BTreeMap::new();
    let color = std::io::stdout().is_terminal();
    loop {
        let wandb = api
            .get(&args.name)
            .await
            .map_err(|e| format!("reading WeightsAndBiases/{}: {e}", args.name))?;
        controller::reconcile(Arc::new(wandb), ctx.clone())
            .await
            .map_err(|e| e.to_string())?;
        let wandb = api
            .get(&args.name)
            .await
            .map_err(|e| format!("reading WeightsAndBiases/{}: {e}", args.name))?;
        let status = wandb.status.unwrap_or_default();
        if let Some(invalid) = status
            .conditions
            .iter()
            .find(|c| c.type_ == types::VALUES_VALID && c.status == "False")
        {
            return Err(invalid.message.clone());
        }
        for c in status
            .conditions
            .iter()
            .filter(|c| conditions::is_readiness(&c.type_))
        {
            let now = (c.status.clone(), c.message.clone());
            if shown.get(&c.type_) != Some(&now) {
                let mark = match (c.status.as_str(), color) {
                    ("True", true) => "\x1b[32mready\x1b[0m",
                    ("True", false) => "ready",
                    (_, true) => "\x1b[33mwaiting\x1b[0m",
                    (_, false) => "waiting",
                };
                // A closed stdout loses the progress lines, not the apply.
                let _ = crate::out::print(&format!(
                    "{:>6.1}s  {:<32} {:<8} {}\n",
                    started.elapsed().as_secs_f64(),
                    c.type_,
                    mark,
                    c.message
                ));
                shown.insert(c.type_.clone(), now);
            }
        }
        let ready = status
            .conditions
            .iter()
            .any(|c| c.type_ == types::READY && c.status == "True");
        if ready {
            let _ = crate::out::print(&format!(
                "WeightsAndBiases/{} is Ready ({:.1}s)\n",
                args.name,
                started.elapsed().as_secs_f64()
            ));
            return Ok(ExitCode::SUCCESS);
        }
        if !args.wait {
            let _ = crate::out::print("applied; not Ready yet (use --wait to follow it)\n");
            return Ok(ExitCode::SUCCESS);
        }
        if started.elapsed() > args.timeout {
            return Err(format!("not Ready after {:?}", args.timeout));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
