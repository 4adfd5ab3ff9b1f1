//! An API server in memory, for the engine's tests: a `tower` service that
//! `kube::Client` sends its requests to. It keeps objects by path, takes
//! server-side applies, merge patches (of objects and of `/status`) and
//! deletes, lists with an equality label selector, and records every
//! request. A test can make a request fail or answer late, and have
//! workloads report themselves ready as soon as they are applied (as a
//! cluster's controllers would, later). Like the API server for a client
//! that may not escalate (the operator's ServiceAccount), it refuses a
//! RoleBinding whose Role it does not hold.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use kube::client::Body;
use serde_json::{Value, json};

/// One request as the fake saw it: `PATCH /apis/apps/v1/namespaces/wandb/deployments/wandb-app`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    /// `apply`, `merge` or empty: how a PATCH patched.
    pub patch: &'static str,
}

/// A failure to answer instead: the first `times` requests of `method`
/// whose path ends with `path_suffix` get `code`.
#[derive(Debug, Clone)]
pub struct Failure {
    pub method: Method,
    pub path_suffix: String,
    pub code: u16,
    pub times: usize,
}

#[derive(Default)]
pub struct State {
    /// Objects by path (`/api/v1/namespaces/wandb/secrets/wandb-mysql`).
    pub objects: BTreeMap<String, Value>,
    pub requests: Vec<Seen>,
    pub failures: Vec<Failure>,
    /// Workloads applied report themselves ready (rolled out, complete).
    pub ready_on_apply: bool,
    /// Pods' logs, by the pod's path.
    pub logs: BTreeMap<String, String>,
    /// Requests whose path contains the first part are answered after the
    /// second.
    pub delays: Vec<(String, Duration)>,
    next_uid: u64,
}

#[derive(Clone, Default)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
}

impl FakeApi {
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A kube client whose requests this fake answers.
    pub fn client(&self) -> kube::Client {
        let fake = self.clone();
        let service = tower::service_fn(move |req: Request<Body>| {
            let fake = fake.clone();
            async move { Ok::<_, Infallible>(fake.answer(req).await) }
        });
        kube::Client::new(service, "default")
    }

    /// Takes the requests recorded so far.
    pub fn take_requests(&self) -> Vec<Seen> {
        std::mem::take(&mut self.state().requests)
    }

    /// Puts an object in place, as if created before (by anyone).
    pub fn insert(&self, path: &str, object: Value) {
        self.state().objects.insert(path.to_string(), object);
    }

    pub fn get(&self, path: &str) -> Option<Value> {
        self.state().objects.get(path).cloned()
    }

    /// Every workload held so far reports itself ready, as its controller
    /// would once it rolled out.
    pub fn roll_out_all(&self) {
        self.state().objects.values_mut().for_each(make_ready);
    }

    /// The paths of the objects held whose path contains `part`.
    pub fn paths_with(&self, part: &str) -> Vec<String> {
        self.state()
            .objects
            .keys()
            .filter(|p| p.contains(part))
            .cloned()
            .collect()
    }

    pub fn fail(&self, method: Method, path_suffix: &str, code: u16, times: usize) {
        self.state().failures.push(Failure {
            method,
            path_suffix: path_suffix.into(),
            code,
            times,
        });
    }

    /// Answers every request whose path contains `part` after `delay`.
    pub fn delay(&self, part: &str, delay: Duration) {
        self.state().delays.push((part.into(), delay));
    }

    async fn answer(&self, req: Request<Body>) -> Response<Body> {
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let delay = self
            .state()
            .delays
            .iter()
            .find(|(part, _)| path.contains(part.as_str()))
            .map(|(_, d)| *d);
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let query = req.uri().query().unwrap_or("").to_string();
        let content_type = req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = match req.into_body().collect().await {
            Ok(collected) => collected.to_bytes().to_vec(),
            Err(e) => return status(500, &format!("reading the request: {e}")),
        };
        let patch = match content_type.as_str() {
            "application/apply-patch+yaml" => "apply",
            "application/merge-patch+json" => "merge",
            _ => "",
        };
        let mut state = self.state();
        state.requests.push(Seen {
            method: method.clone(),
            path: path.clone(),
            patch,
        });
        if let Some(f) = state
            .failures
            .iter_mut()
            .find(|f| f.times > 0 && f.method == method && path.ends_with(&f.path_suffix))
        {
            f.times -= 1;
            let code = f.code;
            return status(code, &format!("injected failure {code}"));
        }
        let body: Value = if body.is_empty() {
            Value::Null
        } else {
            match serde_json::from_slice(&body) {
                Ok(v) => v,
                Err(e) => return status(400, &format!("the body is not JSON: {e}")),
            }
        };
        match method {
            Method::GET if query.contains("labelSelector") || query.contains("watch") => {
                list(&state, &path, &query)
            }
            Method::GET if path.ends_with("/log") => match path
                .strip_suffix("/log")
                .and_then(|pod| state.logs.get(pod))
            {
                Some(text) => {
                    let mut response = Response::new(Body::from(text.clone().into_bytes()));
                    response.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("text/plain"),
                    );
                    response
                }
                None => status(404, "not found"),
            },
            Method::GET => match state.objects.get(&path) {
                Some(o) => ok(o),
                None => status(404, "not found"),
            },
            Method::PATCH => state.patch(&path, patch, body),
            Method::DELETE => match state.objects.remove(&path) {
                Some(o) => ok(&o),
                None => status(404, "not found"),
            },
            Method::POST => ok(&body),
            _ => status(405, "method not allowed"),
        }
    }
}

impl State {
    fn patch(&mut self, path: &str, patch: &str, body: Value) -> Response<Body> {
        let (object_path, subresource) = match path.strip_suffix("/status") {
            Some(p) => (p.to_string(), true),
            None => (path.to_string(), false),
        };
        if let Some(refused) = self.missing_role(&object_path, &body) {
            return refused;
        }
        let existing = self.objects.get(&object_path).cloned();
        let next = match (patch, existing) {
            ("apply", existing) => {
                let mut next = existing.clone().unwrap_or(json!({}));
                if subresource {
                    next["status"] = body["status"].clone();
                } else {
                    // The applier's fields replace, the server's stay.
                    let status_before = next.get("status").cloned();
                    let meta_before = next.get("metadata").cloned();
                    next = body.clone();
                    if let Some(s) = status_before {
                        next["status"] = s;
                    }
                    let generation = meta_before
                        .as_ref()
                        .and_then(|m| m["generation"].as_i64())
                        .unwrap_or(0);
                    let changed = existing.as_ref().is_none_or(|e| e["spec"] != body["spec"]);
                    next["metadata"]["generation"] =
                        json!(if changed { generation + 1 } else { generation });
                    let uid = meta_before
                        .as_ref()
                        .and_then(|m| m["uid"].as_str().map(String::from));
                    next["metadata"]["uid"] = json!(uid.unwrap_or_else(|| {
                        self.next_uid += 1;
                        format!("uid-{}", self.next_uid)
                    }));
                }
                next
            }
            ("merge", Some(mut existing)) => {
                let target = if subresource {
                    &mut existing["status"]
                } else {
                    &mut existing
                };
                merge(target, &body);
                existing
            }
            ("merge", None) => return status(404, "not found"),
            _ => return status(415, "unsupported patch type"),
        };
        let mut next = next;
        if self.ready_on_apply && !subresource {
            make_ready(&mut next);
        }
        self.objects.insert(object_path, next.clone());
        ok(&next)
    }
}

impl State {
    /// The API's escalation check: a RoleBinding to a Role of its namespace
    /// that does not exist is NotFound (named after the binding, as the API
    /// answers an apply).
    fn missing_role(&self, path: &str, body: &Value) -> Option<Response<Body>> {
        let (namespace_path, name) = path.rsplit_once("/rolebindings/")?;
        if body["roleRef"]["kind"] != "Role" {
            return None;
        }
        let role = format!(
            "{namespace_path}/roles/{}",
            body["roleRef"]["name"].as_str()?
        );
        (!self.objects.contains_key(&role)).then(|| {
            status(
                404,
                &format!("rolebindings.rbac.authorization.k8s.io \"{name}\" not found"),
            )
        })
    }
}

/// JSON merge patch (RFC 7386).
fn merge(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

/// The status a workload's controller would write once it has rolled out.
fn make_ready(o: &mut Value) {
    let kind = o["kind"].as_str().unwrap_or("").to_string();
    let generation = o["metadata"]["generation"].clone();
    let replicas = o["spec"]["replicas"].as_i64().unwrap_or(1);
    o["status"] = match kind.as_str() {
        "Deployment" => json!({"observedGeneration": generation, "replicas": replicas,
            "updatedReplicas": replicas, "availableReplicas": replicas, "readyReplicas": replicas}),
        "StatefulSet" => json!({"observedGeneration": generation, "replicas": replicas,
            "readyReplicas": replicas, "updatedReplicas": replicas}),
        "DaemonSet" => json!({"observedGeneration": generation, "desiredNumberScheduled": 1,
            "numberReady": 1}),
        "Job" => json!({"conditions": [{"type": "Complete", "status": "True"}]}),
        "CustomResourceDefinition" => {
            json!({"conditions": [{"type": "Established", "status": "True"}]})
        }
        _ => return,
    };
}

fn list(state: &State, path: &str, query: &str) -> Response<Body> {
    let selector: Vec<(String, String)> = query
        .split('&')
        .filter_map(|kv| kv.strip_prefix("labelSelector="))
        .flat_map(|s| {
            let decoded = s
                .replace("%3D", "=")
                .replace("%2C", ",")
                .replace("%2F", "/");
            decoded
                .split(',')
                .filter_map(|t| {
                    t.split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let prefix = format!("{path}/");
    let items: Vec<&Value> = state
        .objects
        .iter()
        .filter(|(p, _)| p.starts_with(&prefix) && !p[prefix.len()..].contains('/'))
        .map(|(_, o)| o)
        .filter(|o| {
            selector
                .iter()
                .all(|(k, v)| o["metadata"]["labels"][k].as_str() == Some(v.as_str()))
        })
        .collect();
    ok(
        &json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "1"},
        "items": items}),
    )
}

fn ok(v: &Value) -> Response<Body> {
    respond(StatusCode::OK, v)
}

fn status(code: u16, message: &str) -> Response<Body> {
    let reason = match code {
        404 => "NotFound",
        409 => "Conflict",
        422 => "Invalid",
        _ => "InternalError",
    };
    respond(
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &json!({"apiVersion": "v1", "kind": "Status", "status": "Failure",
            "message": message, "reason": reason, "code": code}),
    )
}

fn respond(code: StatusCode, v: &Value) -> Response<Body> {
    let mut response = Response::new(Body::from(v.to_string().into_bytes()));
    *response.status_mut() = code;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
