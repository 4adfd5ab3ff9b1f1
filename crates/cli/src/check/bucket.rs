//! The bucket (`global.bucket.name` or `global.defaultBucket.name`): put, get
//! and delete a probe object with the keys W&B will use, and read the
//! bucket's CORS rules, which browsers need to upload to it.
//!
//! S3 and S3-compatible servers only; requests are signed with AWS
//! Signature Version 4 (headers), path-style for a server named in the
//! bucket name (`host:port/bucket`), virtual-hosted for AWS.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ring::{digest, hmac};
use wandb_render::Ctx;

use wandb_values::StoreKind;

use super::http::{self, Endpoint, Response};
use super::net::{self, Problem};
use super::{Cluster, Lines, Source, in_cluster};

const STORE: &str = "bucket";

/// Where the bucket is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub endpoint: Endpoint,
    pub bucket: String,
    pub region: String,
    /// `/bucket` for path-style requests, "" for virtual-hosted.
    pub path_prefix: String,
    /// The object key prefix: `global.bucket.path`.
    pub key_prefix: String,
    pub aws: bool,
}

/// The target of a bucket name: `bucket` (AWS), or `host[:port]/bucket` with
/// W&B's `?tls=true&region=...` parameters (an S3-compatible server).
pub fn target(name: &str, region: &str, path: &str) -> Result<Target, Problem> {
    let (name, query) = name.split_once('?').unwrap_or((name, ""));
    let mut tls = false;
    let mut region = region.to_string();
    for (k, v) in query.split('&').filter_map(|p| p.split_once('=')) {
        match k {
            "tls" => tls = v.eq_ignore_ascii_case("true"),
            "region" if region.is_empty() => region = v.to_string(),
            _ => {}
        }
    }
    if region.is_empty() {
        region = "us-east-1".into();
    }
    let key_prefix = path.trim_matches('/').to_string();
    match name.trim_end_matches('/').split_once('/') {
        Some((authority, bucket)) => {
            let bucket = bucket.trim_matches('/').to_string();
            if bucket.is_empty() || authority.is_empty() {
                return Err((
                    format!("bucket name {name:?} is not host:port/bucket"),
                    "name an S3-compatible bucket as host:port/bucket".into(),
                ));
            }
            let (host, port) = split_authority(authority, if tls { 443 } else { 80 })?;
            Ok(Target {
                endpoint: Endpoint {
                    https: tls,
                    host,
                    port,
                },
                path_prefix: format!("/{bucket}"),
                bucket,
                region,
                key_prefix,
                aws: false,
            })
        }
        None => {
            // Dots in the name break TLS for virtual-hosted requests.
            let virtual_hosted = !name.contains('.');
            let regional = format!("s3.{region}.amazonaws.com");
            Ok(Target {
                endpoint: Endpoint {
                    https: true,
                    host: if virtual_hosted {
                        format!("{name}.{regional}")
                    } else {
                        regional
                    },
                    port: 443,
                },
                path_prefix: if virtual_hosted {
                    String::new()
                } else {
                    format!("/{name}")
                },
                bucket: name.to_string(),
                region,
                key_prefix,
                aws: true,
            })
        }
    }
}

fn split_authority(authority: &str, default_port: u16) -> Result<(String, u16), Problem> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']').unwrap_or((rest, ""));
        let port = match after.strip_prefix(':') {
            Some(p) => net::port(p, "the bucket name's port")?,
            None => default_port,
        };
        return Ok((host.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Ok((host.to_string(), net::port(port, "the bucket name's port")?)),
        None => Ok((authority.to_string(), default_port)),
    }
}

/// Access key, secret key and session token.
#[derive(Clone)]
pub struct Keys {
    pub access: String,
    pub secret: String,
    pub token: Option<String>,
}

pub async fn check(ctx: &Ctx<'_>, cluster: &Cluster, timeout: Duration) -> Lines {
    let mut lines = Lines::new(STORE);
    let g = &ctx.values.global;
    if ctx.in_cluster(StoreKind::ObjectStore) {
        in_cluster(&mut lines);
        return lines;
    }
    let b = ctx.bucket();
    if b.name.is_empty() {
        lines.fail(
            "name",
            "objectStore.install is false but no bucket is named",
            "set global.bucket.name (and provider, region, keys), or leave objectStore.install on",
        );
        return lines;
    }
    match b.provider.as_str() {
        "s3" => {}
        "gcs" | "az" | "cw" => {
            lines.skip(
                "access",
                format!(
                    "{} buckets are not checked yet: check {} from the cloud's console or CLI",
                    match b.provider.as_str() {
                        "gcs" => "Google Cloud Storage",
                        "az" => "Azure Blob Storage",
                        _ => "CoreWeave",
                    },
                    b.name
                ),
            );
            return lines;
        }
        other => {
            lines.fail(
                "provider",
                format!("unknown provider {other:?}"),
                "set global.bucket.provider to s3, gcs, az or cw",
            );
            return lines;
        }
    }
    let t = match target(&b.name, &b.region, &b.path) {
        Ok(t) => t,
        Err((detail, hint)) => {
            lines.fail("name", detail, hint);
            return lines;
        }
    };

    // The keys, as the W&B pods will see them.
    let (access, secret) = if g.bucket.secret.secret_name.is_empty() {
        (Source::plain(&b.access_key), Source::plain(&b.secret_key))
    } else {
        let name = g.bucket.secret.secret_name.clone();
        (
            Source::Secret {
                name: name.clone(),
                key: b.access_key_name.clone(),
            },
            Source::Secret {
                name,
                key: b.secret_key_name.clone(),
            },
        )
    };
    let access = access.resolve("access key", cluster, &mut lines).await;
    let secret = secret.resolve("secret key", cluster, &mut lines).await;
    let keys = match (access, secret) {
        (Ok(Some(access)), Ok(Some(secret))) => Keys {
            access,
            secret,
            token: None,
        },
        (Ok(None), Ok(None)) => match env_keys() {
            Some(k) => {
                lines.pass(
                    "keys",
                    "none in the values; using AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from \
                     this shell, as the pods' cloud identity would",
                );
                k
            }
            None => {
                lines.skip(
                    "access",
                    "no keys in the values: W&B will use the pods' cloud identity (IAM role), \
                     which cannot be used from here; set AWS_ACCESS_KEY_ID and \
                     AWS_SECRET_ACCESS_KEY to check with the same rights",
                );
                return lines;
            }
        },
        (Ok(a), Ok(s)) => {
            let missing = if a.is_none() { "access" } else { "secret" };
            lines.fail(
                "keys",
                format!("the {missing} key is missing"),
                "give both global.bucket.accessKey and global.bucket.secretKey, or a Secret \
                 (global.bucket.secret.secretName) with both keys",
            );
            let _ = s;
            return lines;
        }
        _ => {
            lines.skip("put", "needs the keys");
            return lines;
        }
    };

    let kms = (t.aws && !b.kms_key.is_empty()).then(|| b.kms_key.clone());
    let where_ = if t.aws {
        format!("s3://{} ({})", t.bucket, t.region)
    } else {
        format!("{}/{}", t.endpoint.url(), t.bucket)
    };
    run_checks(
        &mut lines,
        &t,
        &keys,
        kms.as_deref(),
        &g.host,
        &where_,
        timeout,
    )
    .await;
    lines
}

fn env_keys() -> Option<Keys> {
    let access = std::env::var("AWS_ACCESS_KEY_ID")
        .ok()
        .filter(|s| !s.is_empty())?;
    let secret = std::env::var("AWS_SECRET_ACCESS_KEY")
        .ok()
        .filter(|s| !s.is_empty())?;
    Some(Keys {
        access,
        secret,
        token: std::env::var("AWS_SESSION_TOKEN")
            .ok()
            .filter(|s| !s.is_empty()),
    })
}

async fn run_checks(
    lines: &mut Lines,
    t: &Target,
    keys: &Keys,
    kms: Option<&str>,
    wandb_host: &str,
    where_: &str,
    timeout: Duration,
) {
    let nonce = format!(
        "{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let key = if t.key_prefix.is_empty() {
        format!("wandb-operator-check-{nonce}")
    } else {
        format!("{}/wandb-operator-check-{nonce}", t.key_prefix)
    };
    let body = format!("wandb-operator check {nonce}\n").into_bytes();
    let object_path = format!("{}/{}", t.path_prefix, uri_encode(&key, false));

    let mut extra = Vec::new();
    if let Some(kms) = kms {
        extra.push((
            "x-amz-server-side-encryption".to_string(),
            "aws:kms".to_string(),
        ));
        extra.push((
            "x-amz-server-side-encryption-aws-kms-key-id".to_string(),
            kms.to_string(),
        ));
    }
    match send(
        t,
        keys,
        "PUT",
        &object_path,
        &[],
        extra,
        body.clone(),
        timeout,
    )
    .await
    {
        Ok(r) if r.status == 200 => lines.pass("put", format!("wrote {key} to {where_}")),
        Ok(r) => {
            let (detail, hint) = s3_problem(&r, t, "PUT");
            lines.fail("put", format!("writing {key} to {where_}: {detail}"), hint);
            lines.skip("get", "needs the put");
            lines.skip("delete", "needs the put");
            if matches!(
                error_code(&r).as_str(),
                "InvalidAccessKeyId" | "SignatureDoesNotMatch"
            ) {
                lines.skip("cors", "needs keys the server accepts");
            } else {
                cors(lines, t, keys, wandb_host, timeout).await;
            }
            return;
        }
        Err((detail, hint)) => {
            lines.fail("put", detail, hint);
            for check in ["get", "delete", "cors"] {
                lines.skip(check, "needs a connection");
            }
            return;
        }
    }
    match send(t, keys, "GET", &object_path, &[], vec![], vec![], timeout).await {
        Ok(r) if r.status == 200 && r.body == body => lines.pass("get", "read it back, same bytes"),
        Ok(r) if r.status == 200 => lines.fail(
            "get",
            "read it back, but the bytes differ",
            "the server or a proxy in between changes objects",
        ),
        Ok(r) => {
            let (detail, hint) = s3_problem(&r, t, "GET");
            lines.fail("get", detail, hint);
        }
        Err((detail, hint)) => lines.fail("get", detail, hint),
    }
    match send(
        t,
        keys,
        "DELETE",
        &object_path,
        &[],
        vec![],
        vec![],
        timeout,
    )
    .await
    {
        Ok(r) if r.status == 204 || r.status == 200 => lines.pass("delete", "deleted it"),
        Ok(r) => {
            let (detail, hint) = s3_problem(&r, t, "DELETE");
            lines.fail("delete", format!("{detail} ({key} is left behind)"), hint);
        }
        Err((detail, hint)) => lines.fail("delete", detail, hint),
    }
    cors(lines, t, keys, wandb_host, timeout).await;
}

/// The CORS rules W&B's docs ask for: GET, PUT and HEAD from the W&B host.
const CORS_HINT: &str = "browsers upload to the bucket directly: add a CORS rule allowing \
    GET, PUT and HEAD from the W&B host (or *), AllowedHeaders *, ExposeHeaders ETag, \
    MaxAgeSeconds 3000 (W&B docs, \"Bring your own bucket\")";

async fn cors(lines: &mut Lines, t: &Target, keys: &Keys, wandb_host: &str, timeout: Duration) {
    let path = if t.path_prefix.is_empty() {
        "/".to_string()
    } else {
        t.path_prefix.clone()
    };
    let query = [("cors".to_string(), String::new())];
    match send(t, keys, "GET", &path, &query, vec![], vec![], timeout).await {
        Ok(r) if r.status == 200 => {
            let origin = origin(wandb_host);
            match cors_verdict(&r.text(), &origin) {
                Ok(detail) => lines.pass("cors", detail),
                Err(detail) => lines.warn("cors", detail, CORS_HINT),
            }
        }
        Ok(r) if r.status == 404 && error_code(&r) == "NoSuchCORSConfiguration" => {
            lines.warn("cors", "the bucket has no CORS rules", CORS_HINT)
        }
        Ok(r) => {
            let (detail, _) = s3_problem(&r, t, "GET ?cors");
            lines.warn(
                "cors",
                format!("cannot read the CORS rules: {detail}"),
                format!("{CORS_HINT}; to check them, allow s3:GetBucketCORS to these keys"),
            )
        }
        Err((detail, hint)) => lines.fail("cors", detail, hint),
    }
}

/// The origin of `global.host`: scheme, host and port.
fn origin(host: &str) -> String {
    let (scheme, rest) = host.split_once("://").unwrap_or(("https", host));
    let authority = rest.split('/').next().unwrap_or_default();
    format!("{scheme}://{authority}")
}

/// Whether one rule allows GET, PUT and HEAD from `origin`.
pub fn cors_verdict(xml: &str, origin: &str) -> Result<String, String> {
    let rules: Vec<&str> = xml.split("<CORSRule>").skip(1).collect();
    if rules.is_empty() {
        return Err("the bucket has no CORS rules".into());
    }
    let mut best: Option<Vec<&str>> = None;
    for rule in &rules {
        let methods = tags(rule, "AllowedMethod");
        let origins = tags(rule, "AllowedOrigin");
        let origin_ok = origins.iter().any(|o| {
            *o == "*" || o.eq_ignore_ascii_case(origin) || (o.contains('*') && wildcard(o, origin))
        });
        if !origin_ok {
            continue;
        }
        let missing: Vec<&str> = ["GET", "PUT", "HEAD"]
            .into_iter()
            .filter(|m| !methods.contains(m))
            .collect();
        if missing.is_empty() {
            return Ok(format!(
                "a rule allows GET, PUT and HEAD from {}",
                if origins.contains(&"*") { "*" } else { origin }
            ));
        }
        if best.as_ref().is_none_or(|b| missing.len() < b.len()) {
            best = Some(missing);
        }
    }
    Err(match best {
        Some(missing) => format!(
            "the CORS rules for {origin} do not allow {}",
            missing.join(", ")
        ),
        None => format!("no CORS rule allows the origin {origin}"),
    })
}

fn wildcard(pattern: &str, text: &str) -> bool {
    let (before, after) = pattern.split_once('*').unwrap_or((pattern, ""));
    text.len() >= before.len() + after.len()
        && text.to_lowercase().starts_with(&before.to_lowercase())
        && text.to_lowercase().ends_with(&after.to_lowercase())
}

fn tags<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    xml.split(open.as_str())
        .skip(1)
        .filter_map(|s| s.split(close.as_str()).next())
        .map(str::trim)
        .collect()
}

fn error_code(r: &Response) -> String {
    tags(&r.text(), "Code")
        .first()
        .map(|s| s.to_string())
        .unwrap_or_default()
}

fn s3_problem(r: &Response, t: &Target, op: &str) -> Problem {
    let text = r.text();
    let code = error_code(r);
    let message = tags(&text, "Message")
        .first()
        .map(|s| s.to_string())
        .unwrap_or_default();
    let detail = if code.is_empty() {
        format!("{op} answered HTTP {}", r.status)
    } else {
        format!("{op} answered HTTP {} {code}: {message}", r.status)
    };
    let hint = match code.as_str() {
        "InvalidAccessKeyId" => "the access key is unknown to the server: check \
            global.bucket.accessKey (or the Secret's access key)"
            .to_string(),
        "SignatureDoesNotMatch" => "the secret key is wrong: check global.bucket.secretKey \
            (or the Secret's secret key)"
            .to_string(),
        "AccessDenied" => format!(
            "the keys may not do this: allow s3:PutObject, s3:GetObject, s3:DeleteObject, \
             s3:ListBucket and s3:GetBucketCORS on {} and its objects",
            t.bucket
        ),
        "NoSuchBucket" => format!("create the bucket {} (or fix global.bucket.name)", t.bucket),
        "PermanentRedirect"
        | "AuthorizationHeaderMalformed"
        | "IllegalLocationConstraintException" => match r.header("x-amz-bucket-region") {
            Some(region) => format!("the bucket is in {region}: set global.bucket.region={region}"),
            None => "the bucket is in another region: set global.bucket.region".to_string(),
        },
        "KMS.NotFoundException" | "KMS.DisabledException" | "KMS.AccessDeniedException" => {
            "check global.bucket.kmsKey and that the keys may use it".to_string()
        }
        _ if r.status == 301 || r.status == 307 => match r.header("x-amz-bucket-region") {
            Some(region) => format!("the bucket is in {region}: set global.bucket.region={region}"),
            None => "the bucket is in another region: set global.bucket.region".to_string(),
        },
        _ if r.status == 403 => {
            "the keys may not do this: check the keys and the bucket's policy".to_string()
        }
        _ => "see the server's answer above".to_string(),
    };
    (detail, hint)
}

#[allow(clippy::too_many_arguments)]
async fn send(
    t: &Target,
    keys: &Keys,
    method: &str,
    path: &str,
    query: &[(String, String)],
    extra: Vec<(String, String)>,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<Response, Problem> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let headers = sign(
        method,
        &t.endpoint.host_header(),
        path,
        query,
        extra,
        &body,
        keys,
        &t.region,
        now,
    );
    let full = if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", canonical_query(query))
    };
    http::request(&t.endpoint, method, &full, &headers, body, None, timeout)
        .await
        .map_err(|(detail, hint)| {
            if t.endpoint.https || !detail.contains("closed") {
                (detail, hint)
            } else {
                (
                    detail,
                    "the server may want TLS: add ?tls=true to the bucket name \
                     (host:port/bucket?tls=true), as W&B reads it"
                        .into(),
                )
            }
        })
}

/// The headers of a request signed with AWS Signature Version 4: `extra`
/// plus host, x-amz-date, x-amz-content-sha256, x-amz-security-token and
/// authorization. `path` is already URI-encoded.
#[allow(clippy::too_many_arguments)]
pub fn sign(
    method: &str,
    host: &str,
    path: &str,
    query: &[(String, String)],
    extra: Vec<(String, String)>,
    body: &[u8],
    keys: &Keys,
    region: &str,
    unix_seconds: u64,
) -> Vec<(String, String)> {
    let (date, stamp) = amz_dates(unix_seconds);
    let payload = hex(digest::digest(&digest::SHA256, body).as_ref());
    let mut headers: Vec<(String, String)> = extra
        .into_iter()
        .map(|(k, v)| (k.to_lowercase(), v.trim().to_string()))
        .collect();
    headers.push(("host".into(), host.to_string()));
    headers.push(("x-amz-content-sha256".into(), payload.clone()));
    headers.push(("x-amz-date".into(), stamp.clone()));
    if let Some(token) = &keys.token {
        headers.push(("x-amz-security-token".into(), token.clone()));
    }
    headers.sort();
    let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    let signed = signed.join(";");
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let canonical = format!(
        "{method}\n{path}\n{}\n{canonical_headers}\n{signed}\n{payload}",
        canonical_query(query)
    );
    let scope = format!("{date}/{region}/s3/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
        hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
    );
    let mut key = format!("AWS4{}", keys.secret).into_bytes();
    for part in [date.as_str(), region, "s3", "aws4_request"] {
        key = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), part.as_bytes())
            .as_ref()
            .to_vec();
    }
    let signature =
        hex(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), to_sign.as_bytes()).as_ref());
    headers.push((
        "authorization".into(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
            keys.access
        ),
    ));
    headers.retain(|(k, _)| k != "host");
    headers
}

fn canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{}={}", uri_encode(k, true), uri_encode(v, true)))
        .collect();
    pairs.sort();
    pairs.join("&")
}

/// S3's URI encoding: unreserved characters stay, `/` stays in a path.
pub fn uri_encode(s: &str, encode_slash: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if !encode_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `(YYYYMMDD, YYYYMMDDTHHMMSSZ)` of a Unix time, in UTC.
fn amz_dates(unix_seconds: u64) -> (String, String) {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let date = format!("{year:04}{month:02}{day:02}");
    let stamp = format!(
        "{date}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    (date, stamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(
            amz_dates(0),
            ("19700101".to_string(), "19700101T000000Z".to_string())
        );
        // 2013-05-24T00:00:00Z, the date of AWS's signing examples.
        assert_eq!(amz_dates(1_369_353_600).1, "20130524T000000Z");
        assert_eq!(amz_dates(951_825_600).1, "20000229T120000Z");
    }

    /// AWS's documented example: GET /test.txt with a Range header
    /// ("Signature Calculations for the Authorization Header", S3 API reference).
    #[test]
    fn signs_like_aws() {
        let keys = Keys {
            access: "AKIAIOSFODNN7EXAMPLE".into(),
            secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            token: None,
        };
        let headers = sign(
            "GET",
            "examplebucket.s3.amazonaws.com",
            "/test.txt",
            &[],
            vec![("Range".into(), "bytes=0-9".into())],
            b"",
            &keys,
            "us-east-1",
            1_369_353_600,
        );
        let auth = &headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .unwrap()
            .1;
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn targets() {
        let t = target("127.0.0.1:9000/wandb", "", "").unwrap();
        assert_eq!(
            t.endpoint,
            Endpoint {
                https: false,
                host: "127.0.0.1".into(),
                port: 9000
            }
        );
        assert_eq!(
            (t.bucket.as_str(), t.path_prefix.as_str()),
            ("wandb", "/wandb")
        );
        assert_eq!(t.region, "us-east-1");
        let t = target("minio.example.com/wandb?tls=true&region=eu-1", "", "runs/").unwrap();
        assert!(t.endpoint.https);
        assert_eq!(t.endpoint.port, 443);
        assert_eq!((t.region.as_str(), t.key_prefix.as_str()), ("eu-1", "runs"));
        let t = target("my-bucket", "eu-west-1", "").unwrap();
        assert!(t.aws);
        assert_eq!(t.endpoint.host, "my-bucket.s3.eu-west-1.amazonaws.com");
        assert_eq!(t.path_prefix, "");
        let t = target("my.bucket", "", "").unwrap();
        assert_eq!(t.endpoint.host, "s3.us-east-1.amazonaws.com");
        assert_eq!(t.path_prefix, "/my.bucket");
        assert!(target("host:x/b", "", "").is_err());
    }

    #[test]
    fn cors_rules() {
        let ok = "<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod>\
            <AllowedMethod>PUT</AllowedMethod><AllowedMethod>HEAD</AllowedMethod>\
            <AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>";
        assert!(cors_verdict(ok, "https://wandb.example.com").is_ok());
        let put_missing = ok.replace("<AllowedMethod>PUT</AllowedMethod>", "");
        assert_eq!(
            cors_verdict(&put_missing, "https://w").unwrap_err(),
            "the CORS rules for https://w do not allow PUT"
        );
        let other = ok.replace(">*<", ">https://other.example.com<");
        assert!(cors_verdict(&other, "https://w").is_err());
        let pattern = ok.replace(">*<", ">https://*.example.com<");
        assert!(cors_verdict(&pattern, "https://wandb.example.com").is_ok());
        assert_eq!(
            origin("https://wandb.example.com/path"),
            "https://wandb.example.com"
        );
    }

    #[test]
    fn encoding() {
        assert_eq!(uri_encode("a b/c~", false), "a%20b/c~");
        assert_eq!(uri_encode("a/b", true), "a%2Fb");
    }
}
