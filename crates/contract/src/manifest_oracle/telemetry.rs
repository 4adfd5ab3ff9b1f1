//! v2's telemetry env: the secret key a `telemetry` source field reads, the
//! vars v2 adds to its instrumented workloads when telemetry is on, and the
//! service names it fills in when a workload has telemetry env.

use super::manifest::{EnvSource, EnvVar};
use super::{EnvEntry, Form, Kind};

/// The key in the telemetry connection Secret (and the env name) for a field.
pub(super) fn key(field: &str) -> Option<&'static str> {
    Some(match field {
        "" | "metrics" | "metricsEndpoint" => "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        "logs" | "logsEndpoint" => "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
        "traces" | "tracesEndpoint" => "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "metricsExporter" => "OTEL_METRICS_EXPORTER",
        "logsExporter" => "OTEL_LOGS_EXPORTER",
        "tracesExporter" => "OTEL_TRACES_EXPORTER",
        "protocol" => "OTEL_EXPORTER_OTLP_PROTOCOL",
        "serviceName" => "OTEL_SERVICE_NAME",
        "resourceAttributes" => "OTEL_RESOURCE_ATTRIBUTES",
        "gorillaTracer" | "tracer" => "GORILLA_TRACER",
        "statsdAddress" => "GORILLA_STATSD_ADDRESS",
        "datadogTraceAgentURL" | "ddTraceAgentURL" => "DD_TRACE_AGENT_URL",
        "datadogTraceAgentHost" | "ddAgentHost" => "DD_AGENT_HOST",
        "datadogTraceAgentPort" | "ddTraceAgentPort" => "DD_TRACE_AGENT_PORT",
        _ => return None,
    })
}

/// v2's instrumented Go services: OpenTelemetry and statsd.
const GORILLA_WORKLOADS: &[&str] = &[
    "api",
    "executor",
    "filemeta",
    "filestream",
    "flat-run-fields-updater",
    "glue",
    "metric-observer",
    "parquet",
];
/// v2's instrumented trace services: OpenTelemetry and Datadog.
const TRACE_WORKLOADS: &[&str] = &[
    "weave-trace",
    "weave-trace-evaluate-model-worker",
    "weave-trace-worker",
];
const OTEL_FIELDS: &[&str] = &[
    "protocol",
    "tracesExporter",
    "metricsExporter",
    "logsExporter",
    "metricsEndpoint",
    "logsEndpoint",
    "tracesEndpoint",
    "serviceName",
    "resourceAttributes",
    "gorillaTracer",
];
const DATADOG_FIELDS: &[&str] = &[
    "datadogTraceAgentURL",
    "datadogTraceAgentHost",
    "datadogTraceAgentPort",
];

/// The vars v2 adds to an instrumented application when telemetry is on,
/// as manifest vars to resolve like the manifest's own.
pub(super) fn workload_env(app: &str) -> Vec<EnvVar> {
    let gorilla = GORILLA_WORKLOADS.contains(&app);
    let trace = TRACE_WORKLOADS.contains(&app);
    // anaconda2 has Datadog only.
    let datadog = trace || app == "anaconda2";
    let mut fields: Vec<&str> = Vec::new();
    if gorilla || trace {
        fields.extend(OTEL_FIELDS);
    }
    if gorilla {
        fields.push("statsdAddress");
    }
    if datadog {
        fields.extend(DATADOG_FIELDS);
    }
    let mut vars: Vec<EnvVar> = fields
        .into_iter()
        .filter_map(|field| {
            let source = EnvSource {
                kind: "telemetry".into(),
                field: field.into(),
                ..EnvSource::default()
            };
            Some(EnvVar {
                name: key(field)?.into(),
                sources: vec![source],
                ..EnvVar::default()
            })
        })
        .collect();
    if datadog {
        vars.push(EnvVar {
            name: "DD_SERVICE".into(),
            value: app.into(),
            ..EnvVar::default()
        });
    }
    vars
}

const OTEL_NAMES: &[&str] = &[
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_METRICS_EXPORTER",
    "OTEL_LOGS_EXPORTER",
    "OTEL_TRACES_EXPORTER",
    "OTEL_SERVICE_NAME",
    "GORILLA_TRACER",
];
const DATADOG_NAMES: &[&str] = &["DD_TRACE_AGENT_URL", "DD_AGENT_HOST", "DD_TRACE_AGENT_PORT"];

/// An application with OpenTelemetry env gets `OTEL_SERVICE_NAME`, one
/// with Datadog env `DD_SERVICE`, set to its name unless it has a value.
pub(super) fn identity_defaults(env: &mut Vec<EnvEntry>, app: &str) {
    if app.is_empty() {
        return;
    }
    let has_any =
        |env: &[EnvEntry], names: &[&str]| env.iter().any(|e| names.contains(&e.name.as_str()));
    if has_any(env, OTEL_NAMES) {
        name_by_default(env, "OTEL_SERVICE_NAME", app);
    }
    if has_any(env, DATADOG_NAMES) {
        name_by_default(env, "DD_SERVICE", app);
    }
}

fn name_by_default(env: &mut Vec<EnvEntry>, name: &str, app: &str) {
    let injected = Kind::Injected(app.to_string());
    match env.iter_mut().find(|e| e.name == name) {
        Some(entry) if entry.kind.has_value() => {}
        // A secretKeyRef or valueFrom has no literal value: v2 replaces it.
        Some(entry) => entry.kind = injected,
        None => env.push(EnvEntry::new(name, injected)),
    }
}

impl Kind {
    /// Whether v2's `EnvVar.Value` is a non-empty string.
    fn has_value(&self) -> bool {
        match self {
            Kind::Value(_) | Kind::Default(_) | Kind::Injected(_) => true,
            Kind::Resolved { form, .. } => *form == Form::Literal,
            Kind::ValueFrom | Kind::Part { .. } => false,
        }
    }
}
