//! Secrets and ConfigMaps the values refer to, read from the cluster of the
//! current kubeconfig. The client is made once, on the first reference; every
//! request has the check's deadline, so an unreachable cluster is a FAIL line.

use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use tokio::sync::OnceCell;

use super::seconds;

pub struct Cluster {
    namespace: Option<String>,
    timeout: Duration,
    client: OnceCell<Result<(kube::Client, String, String), String>>,
}

/// What went wrong and how to fix it.
pub type Problem = (String, String);

impl Cluster {
    pub fn new(namespace: Option<String>, timeout: Duration) -> Self {
        Cluster {
            namespace,
            timeout,
            client: OnceCell::new(),
        }
    }

    async fn client(&self) -> Result<&(kube::Client, String, String), Problem> {
        let made = self
            .client
            .get_or_init(|| async {
                let infer = tokio::time::timeout(self.timeout, kube::Config::infer()).await;
                let mut config = match infer {
                    Ok(Ok(c)) => c,
                    Ok(Err(e)) => return Err(format!("no usable kubeconfig: {e}")),
                    Err(_) => {
                        return Err(format!(
                            "reading the kubeconfig took more than {}",
                            seconds(self.timeout)
                        ));
                    }
                };
                // The client's own deadlines are a backstop: each request is
                // bounded by `self.timeout` around it, which names the cause.
                let backstop = self.timeout * 2;
                config.connect_timeout = Some(backstop);
                config.read_timeout = Some(backstop);
                config.write_timeout = Some(backstop);
                let namespace = self
                    .namespace
                    .clone()
                    .unwrap_or_else(|| config.default_namespace.clone());
                let url = config.cluster_url.to_string();
                kube::Client::try_from(config)
                    .map(|c| (c, namespace, url))
                    .map_err(|e| format!("cannot make a client from the kubeconfig: {e}"))
            })
            .await;
        made.as_ref().map_err(|e| {
            (
                e.clone(),
                "point KUBECONFIG (or ~/.kube/config) at the cluster W&B will run in, \
                 or give the value inline to check it"
                    .to_string(),
            )
        })
    }

    /// The text at `key` of Secret (or ConfigMap) `name`, and the namespace
    /// it was read from.
    pub async fn read(
        &self,
        secret: bool,
        name: &str,
        key: &str,
    ) -> Result<(String, String), Problem> {
        let (client, ns, url) = self.client().await?;
        let kind = if secret { "secret" } else { "configmap" };
        let got = if secret {
            let api: Api<Secret> = Api::namespaced(client.clone(), ns);
            tokio::time::timeout(self.timeout, api.get_opt(name))
                .await
                .map(|r| {
                    r.map(|o| {
                        o.map(|s| {
                            let mut data: std::collections::BTreeMap<String, Vec<u8>> = s
                                .data
                                .unwrap_or_default()
                                .into_iter()
                                .map(|(k, v)| (k, v.0))
                                .collect();
                            for (k, v) in s.string_data.unwrap_or_default() {
                                data.insert(k, v.into_bytes());
                            }
                            data
                        })
                    })
                })
        } else {
            let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
            tokio::time::timeout(self.timeout, api.get_opt(name))
                .await
                .map(|r| {
                    r.map(|o| {
                        o.map(|c| {
                            c.data
                                .unwrap_or_default()
                                .into_iter()
                                .map(|(k, v)| (k, v.into_bytes()))
                                .collect()
                        })
                    })
                })
        };
        let data = match got {
            Err(_) => {
                return Err((
                    format!(
                        "the cluster ({url}) did not answer within {}",
                        seconds(self.timeout)
                    ),
                    "check that the kubeconfig's cluster is reachable from here (kubectl get ns)"
                        .into(),
                ));
            }
            Ok(Err(e)) => return Err(cluster_error(e, url, ns, kind, name)),
            Ok(Ok(None)) => {
                let create = if secret {
                    "secret generic"
                } else {
                    "configmap"
                };
                return Err((
                    format!("not found in namespace {ns}"),
                    format!(
                        "create it (kubectl -n {ns} create {create} {name} --from-literal={key}=...) \
                         or pass --namespace"
                    ),
                ));
            }
            Ok(Ok(Some(data))) => data,
        };
        match data.get(key) {
            Some(bytes) => match String::from_utf8(bytes.clone()) {
                Ok(text) => Ok((ns.clone(), text)),
                Err(_) => Err((
                    "the value is not UTF-8 text".into(),
                    "store the password as text".into(),
                )),
            },
            None => {
                let keys: Vec<&str> = data.keys().map(String::as_str).collect();
                Err((
                    format!(
                        "{ns}/{name} has no key {key} (it has: {})",
                        if keys.is_empty() {
                            "none".to_string()
                        } else {
                            keys.join(", ")
                        }
                    ),
                    "name the right key in the values, or add the key to the object".into(),
                ))
            }
        }
    }
}

fn cluster_error(e: kube::Error, url: &str, ns: &str, kind: &str, name: &str) -> Problem {
    match &e {
        kube::Error::Api(status) if status.code == 403 => (
            format!("forbidden: {}", status.message),
            format!("your kubeconfig user needs `get` on {kind}s in namespace {ns}"),
        ),
        kube::Error::Api(status) if status.code == 401 => (
            format!("unauthorized: {}", status.message),
            "log in to the cluster again (the kubeconfig's credentials were refused)".into(),
        ),
        kube::Error::Api(status) => (
            format!("reading {kind} {ns}/{name}: {}", status.message),
            "check the cluster and the namespace (--namespace)".into(),
        ),
        _ => (
            format!("cannot reach the cluster ({url}): {e}"),
            "check that the kubeconfig's cluster is reachable from here (kubectl get ns)".into(),
        ),
    }
}
