//! Every upstream reference case, rendered and sent to a real API server as
//! a server-side-apply dry run into a namespace where PodSecurity
//! `restricted` is enforced and warned about: the API server validates every
//! object (schemas, names, admission, PodSecurity) without creating any.
//!
//! Fails on any rejection and on any `Warning:` (PodSecurity only warns for
//! workloads such as Deployments; it rejects bare Pods such as the test pods,
//! which are part of the render here).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use wandb_e2e::{Cluster, Document, fixture, indent, operator_binary, reference_cases, render};

const NAMESPACE: &str = "wandb-dry-run";
const APPLY_TIMEOUT: Duration = Duration::from_secs(180);
const APPLY_DRY_RUN: &[&str] = &[
    "apply",
    "--server-side",
    "--dry-run=server",
    "--field-manager=wandb-operator",
    "-f",
    "-",
];

/// Kinds whose objects carry a pod template (lowercase, as kubectl prints
/// resources): their PodSecurity warnings read the same whatever the kind.
const POD_KINDS: &[&str] = &[
    "pod",
    "deployment",
    "statefulset",
    "daemonset",
    "replicaset",
    "job",
    "cronjob",
    "replicationcontroller",
];

/// What kubectl printed for one apply, line by line.
#[derive(Default)]
struct Outcome {
    /// `deployment.apps/wandb-app` for each object the server accepted.
    accepted: Vec<String>,
    /// (object it was printed before, if any; the warning line).
    warnings: Vec<(Option<String>, String)>,
    /// Error messages; continuation lines are joined to the error they follow.
    rejections: Vec<String>,
}

/// Reads kubectl's merged stdout+stderr. kubectl prints an object's warnings
/// as the server's response arrives, i.e. just before the object's
/// `... (server dry run)` line; errors come at the end.
fn parse(output: &str) -> Outcome {
    let mut o = Outcome::default();
    let mut pending = Vec::new();
    for line in output.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        if line.ends_with("(server dry run)") {
            let object = line.split_whitespace().next().unwrap_or(line).to_string();
            o.warnings
                .extend(pending.drain(..).map(|w: String| (Some(object.clone()), w)));
            o.accepted.push(object);
        } else if line.starts_with("Warning:") {
            pending.push(line.to_string());
        } else if line.starts_with("Error") || line.starts_with("error") || o.rejections.is_empty()
        {
            o.rejections.push(line.to_string());
        } else {
            let last = o.rejections.last_mut().unwrap();
            last.push('\n');
            last.push_str(line);
        }
    }
    o.warnings.extend(pending.into_iter().map(|w| (None, w)));
    o
}

/// `deployment.apps/wandb-app` -> `deployment`.
fn resource_kind(object: &str) -> String {
    let resource = object.split('/').next().unwrap_or(object);
    resource
        .split('.')
        .next()
        .unwrap_or(resource)
        .to_lowercase()
}

struct Finding {
    case: String,
    object: String,
    message: String,
}

struct CaseResult {
    objects: usize,
    rejections: Vec<Finding>,
    warnings: Vec<Finding>,
}

fn check_case(cluster: &Cluster, case: &str, yaml: &str, docs: &[Document]) -> CaseResult {
    let finding = |object: &str, message: &str| Finding {
        case: case.to_string(),
        object: object.to_string(),
        message: message.to_string(),
    };
    let out = cluster.kubectl_merged(APPLY_DRY_RUN, Some(yaml), APPLY_TIMEOUT);
    let batch = parse(&out.stdout);
    let mut rejections: Vec<Finding> = batch.rejections.iter().map(|r| finding("", r)).collect();
    if out.timed_out() {
        rejections.push(finding("(kubectl)", &out.describe_status()));
    } else if !out.success() && rejections.is_empty() {
        rejections.push(finding(
            "(kubectl)",
            &format!("{} without an error message", out.describe_status()),
        ));
    }
    // kubectl stops early on some errors (a document it cannot parse or map):
    // every document must be accounted for.
    if batch.accepted.len() + batch.rejections.len() < docs.len() {
        rejections.push(finding(
            "(kubectl)",
            &format!(
                "the render has {} documents but kubectl accepted {} and reported {} errors",
                docs.len(),
                batch.accepted.len(),
                batch.rejections.len()
            ),
        ));
    }

    let mut warnings: Vec<Finding> = batch
        .warnings
        .iter()
        .map(|(o, w)| finding(o.as_deref().unwrap_or("(unattributed)"), w))
        .collect();
    if !batch.warnings.is_empty() {
        // kubectl prints a warning text only once per run, so later objects
        // with the same warning go unreported, and a warning printed before
        // an error may belong to the rejected object. Apply the suspect
        // documents one by one to learn exactly which objects warn.
        let mut kinds = BTreeSet::new();
        let mut all = !batch.rejections.is_empty();
        for (object, _) in &batch.warnings {
            match object {
                None => all = true,
                Some(o) => {
                    let k = resource_kind(o);
                    if POD_KINDS.contains(&k.as_str()) {
                        kinds.extend(POD_KINDS.iter().map(|k| k.to_string()));
                    } else {
                        kinds.insert(k);
                    }
                }
            }
        }
        let suspects: Vec<&Document> = docs
            .iter()
            .filter(|d| all || kinds.contains(&d.kind.to_lowercase()))
            .collect();
        let mut precise = Vec::new();
        for doc in &suspects {
            let out = cluster.kubectl_merged(APPLY_DRY_RUN, Some(&doc.yaml), APPLY_TIMEOUT);
            for (object, w) in parse(&out.stdout).warnings {
                // kubectl's name for the object when it printed one.
                precise.push(finding(&object.unwrap_or_else(|| doc.id()), &w));
            }
        }
        eprintln!(
            "    {case}: re-applied {} documents one by one to attribute {} warning lines: {} warnings",
            suspects.len(),
            batch.warnings.len(),
            precise.len()
        );
        if !precise.is_empty() {
            warnings = precise;
        }
    }
    CaseResult {
        objects: batch.accepted.len(),
        rejections,
        warnings,
    }
}

#[test]
fn every_reference_case_passes_a_server_dry_run_in_a_restricted_namespace() {
    let t0 = Instant::now();
    let bin = operator_binary();
    let cases = reference_cases();
    let cluster = Cluster::up("e2e-dry-run");
    cluster.install_crds(&fixture("crds.yaml"));
    cluster.restricted_namespace(NAMESPACE);
    let setup = t0.elapsed();

    let mut objects = 0;
    let mut rejections = Vec::new();
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    eprintln!(
        "[e2e] server dry run of {} cases into namespace {NAMESPACE} (PodSecurity restricted)",
        cases.len()
    );
    for case in &cases {
        let t = Instant::now();
        let values = case.values.to_string_lossy();
        let r = render(&bin, &["-f", &values, "--namespace", NAMESPACE]);
        for line in r.stderr.lines().filter(|l| !l.trim().is_empty()) {
            notes.push(format!("{}: render: {line}", case.name));
        }
        let docs = r.documents();
        let result = check_case(&cluster, &case.name, &r.yaml, &docs);
        eprintln!(
            "  {:<40} {:>4} documents, {:>4} accepted, {} rejected, {} warnings ({:.1} s)",
            case.name,
            docs.len(),
            result.objects,
            result.rejections.len(),
            result.warnings.len(),
            t.elapsed().as_secs_f64()
        );
        objects += result.objects;
        rejections.extend(result.rejections);
        warnings.extend(result.warnings);
    }

    let mut report = String::new();
    if !notes.is_empty() {
        report += &format!("\nrenderer messages (not failures): {}\n", notes.len());
        report += &indent(&notes.join("\n"), "  ");
    }
    for (title, findings) in [("REJECTED", &rejections), ("WARNINGS", &warnings)] {
        if findings.is_empty() {
            continue;
        }
        report += &format!("\n{title}: {}\n", findings.len());
        for f in findings {
            report += &format!("  [{}] {}\n", f.case, f.object).replace(" \n", "\n");
            report += &indent(&f.message, "      ");
        }
    }
    report += &format!(
        "\nchecked {objects} objects in {} cases: {} rejections, {} warnings \
         (setup {:.1} s, total {:.1} s)\n",
        cases.len(),
        rejections.len(),
        warnings.len(),
        setup.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    eprint!("{report}");
    assert!(
        rejections.is_empty() && warnings.is_empty(),
        "the API server rejected {} and warned about {} rendered objects (listed above)",
        rejections.len(),
        warnings.len()
    );
}

/// How kubectl's output is read (no cluster needed).
#[test]
fn kubectl_output_is_attributed_to_objects() {
    let out = parse(
        "Warning: would violate PodSecurity \"restricted:latest\": x\n\
         deployment.apps/a serverside-applied (server dry run)\n\
         configmap/b serverside-applied (server dry run)\n\
         Warning: trailing\n\
         Error from server (Invalid): Service \"C\" is invalid: metadata.name\n\
         error: resource mapping not found for name: \"d\"\n\
         ensure CRDs are installed first\n",
    );
    assert_eq!(out.accepted, ["deployment.apps/a", "configmap/b"]);
    assert_eq!(
        out.warnings,
        [
            (
                Some("deployment.apps/a".to_string()),
                "Warning: would violate PodSecurity \"restricted:latest\": x".to_string()
            ),
            (None, "Warning: trailing".to_string()),
        ]
    );
    assert_eq!(out.rejections.len(), 2);
    assert!(out.rejections[1].ends_with("\nensure CRDs are installed first"));
    assert_eq!(resource_kind("deployment.apps/a"), "deployment");
    assert_eq!(resource_kind("configmap/b"), "configmap");

    let docs = wandb_e2e::split_documents(
        "# Source: x\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    \
         name: no\n  name: \"cm\"\ndata:\n  name: no\n---\n# only a comment\n---\n\
         kind: Pod\nmetadata:\n  name: p\n",
    );
    let ids: Vec<String> = docs.iter().map(|d| d.id()).collect();
    assert_eq!(ids, ["ConfigMap/cm", "Pod/p"]);
}
