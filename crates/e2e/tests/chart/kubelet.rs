//! The test as the kubelet of the bare pods Helm waits for (the `helm test`
//! pod, the pre-delete hook).

use super::*;

/// What the test did as the kubelet of one bare pod.
pub struct PodRun {
    pub command: Vec<String>,
    pub exit: i32,
    pub output: String,
    pub took: Duration,
}

/// Waits for pod `name` (a new one, if `not_uid` names the last) to be
/// Running, runs its container's command from the host as the pod's
/// ServiceAccount (`kubectl` is the cluster's), and records the outcome in
/// the pod's status as a kubelet would: phase Succeeded or Failed, the
/// container terminated with the command's exit code.
pub fn play_kubelet(
    cluster: &Cluster,
    ns: &str,
    name: &str,
    not_uid: Option<&str>,
    work: &Path,
) -> PodRun {
    let (pod, _) = wait_for(
        &format!("pod {ns}/{name} Running"),
        Duration::from_secs(90),
        POLL,
        || {
            let pod = cluster
                .get_if_exists(&["-n", ns, "pod", name])
                .ok_or("not created")?;
            let uid = text(&pod, "/metadata/uid");
            if Some(uid) == not_uid || pod["metadata"]["deletionTimestamp"].is_string() {
                return Err("the previous pod is still there".into());
            }
            match text(&pod, "/status/phase") {
                "Running" => Ok(pod),
                phase => Err(format!("phase {phase}")),
            }
        },
    );
    let containers = pod["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(containers.len(), 1, "pod {name}: one container expected");
    let container = &containers[0];
    let command: Vec<String> = ["command", "args"]
        .iter()
        .flat_map(|k| container[*k].as_array().cloned().unwrap_or_default())
        .map(|a| a.as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        command.first().map(String::as_str),
        Some("kubectl"),
        "pod {name}: only kubectl commands can be run from the host: {command:?}"
    );
    let sa = text(&pod, "/spec/serviceAccountName");
    let kubeconfig = cluster.service_account_kubeconfig(ns, sa, work);
    let mut cmd = Command::new(kubectl_bin());
    cmd.args(&command[1..]).env("KUBECONFIG", &kubeconfig);
    let started = now_rfc3339();
    let out = run(cmd, None, Duration::from_secs(240));
    let exit = out.status.and_then(|s| s.code()).unwrap_or(137);
    let output = format!("{}{}", out.stdout, out.stderr).trim().to_string();
    let status = json!({
        "status": {
            "phase": if exit == 0 { "Succeeded" } else { "Failed" },
            "containerStatuses": [{
                "name": container["name"],
                "image": container["image"],
                "imageID": "",
                "ready": false,
                "started": false,
                "restartCount": 0,
                "state": {"terminated": {
                    "exitCode": exit,
                    "reason": if exit == 0 { "Completed" } else { "Error" },
                    "message": output.chars().take(1000).collect::<String>(),
                    "startedAt": started,
                    "finishedAt": now_rfc3339(),
                }},
            }],
        }
    });
    cluster.kubectl_ok(
        &[
            "-n",
            ns,
            "patch",
            "pod",
            name,
            "--subresource=status",
            "--type=merge",
            "-p",
            &status.to_string(),
        ],
        None,
    );
    eprintln!(
        "[chart] ran pod {ns}/{name} as ServiceAccount {sa}: `{}` -> exit {exit} in {}: {}",
        command.join(" "),
        secs(out.elapsed),
        output.lines().last().unwrap_or("")
    );
    PodRun {
        command,
        exit,
        output,
        took: out.elapsed,
    }
}

pub fn now_rfc3339() -> String {
    let s = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (days, rem) = (s.div_euclid(86400), s.rem_euclid(86400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `helm test` with the test pod run by [`play_kubelet`].
pub fn helm_test(h: Helm, cluster: &Cluster, ns: &str, work: &Path) -> (Output, PodRun) {
    let pod = format!("{RELEASE}-test-ready");
    let old = cluster
        .get_if_exists(&["-n", ns, "pod", &pod])
        .map(|p| text(&p, "/metadata/uid").to_string());
    let helm = h.spawn(
        work,
        &cluster.kubeconfig,
        &["test", RELEASE, "-n", ns, "--timeout", "3m"],
    );
    let ran = play_kubelet(cluster, ns, &pod, old.as_deref(), work);
    (helm.join().unwrap(), ran)
}
