//! Secrets holding credentials: given in the values, or generated once. Each
//! is written only when the values don't name an existing Secret.

use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleRef, Subject};
use wandb_values::ValueOrRef;

use crate::context::{Ctx, non_empty};
use crate::env::{OLAP_FEATURES, olap_secret_name, olap_settings};
use crate::objects::{Manifest, Object};

use super::{SecretValue, Section, meta, secret};

/// Every credentials Secret, and the binding the internal JWTs need.
pub(super) fn credentials(ctx: &Ctx) -> Vec<Manifest> {
    const SECTIONS: &[Section] = &[
        license,
        mysql,
        clickhouse,
        smtp,
        oidc,
        olap,
        session_key,
        oidc_reviewer,
    ];
    SECTIONS.iter().flat_map(|section| section(ctx)).collect()
}

fn license(ctx: &Ctx) -> Vec<Manifest> {
    let g = &ctx.values.global;
    if !g.license_secret.name.is_empty() {
        return Vec::new();
    }
    let key = ctx.license_key();
    vec![secret(
        ctx,
        "license",
        &ctx.license_secret(),
        vec![(key.as_str(), SecretValue::Given(g.license.clone()))],
    )]
}

/// MySQL's passwords, and its CA certificate when given inline.
fn mysql(ctx: &Ctx) -> Vec<Manifest> {
    let mysql = &ctx.values.global.mysql;
    let mut out = Vec::new();
    if mysql.password_secret.name.is_empty() {
        let password = match mysql.password.plain() {
            Some(p) if !p.is_empty() => SecretValue::Given(p.to_string()),
            _ => SecretValue::Generated(64),
        };
        out.push(secret(
            ctx,
            "mysql",
            &ctx.mysql_password_secret(),
            vec![
                ("MYSQL_ROOT_PASSWORD", SecretValue::Generated(64)),
                ("MYSQL_PASSWORD", password),
            ],
        ));
    }
    if let ValueOrRef::Value(ca) = &mysql.ca_cert
        && !ca.is_empty()
    {
        out.push(secret(
            ctx,
            "mysql",
            &ctx.name("mysql-ca-cert"),
            vec![("MYSQL_CA_CERT", SecretValue::Given(ca.to_string()))],
        ));
    }
    out
}

fn clickhouse(ctx: &Ctx) -> Vec<Manifest> {
    let clickhouse = &ctx.values.global.clickhouse;
    if !clickhouse.password_secret.name.is_empty() || clickhouse.password.is_ref() {
        return Vec::new();
    }
    let password = match clickhouse.password.plain() {
        Some(p) if !p.is_empty() => SecretValue::Given(p.to_string()),
        _ => SecretValue::Generated(64),
    };
    vec![secret(
        ctx,
        "clickhouse",
        &ctx.clickhouse_secret(),
        vec![("CLICKHOUSE_PASSWORD", password)],
    )]
}

fn smtp(ctx: &Ctx) -> Vec<Manifest> {
    let password = &ctx.values.global.email.smtp.password;
    if password.is_ref() {
        return Vec::new();
    }
    vec![secret(
        ctx,
        "smtp",
        &ctx.name("smtp-secret"),
        vec![(
            "SMTP_PASSWORD",
            SecretValue::Given(password.text().to_string()),
        )],
    )]
}

/// The OIDC client secret, when given inline.
fn oidc(ctx: &Ctx) -> Vec<Manifest> {
    let oidc = &ctx.values.global.auth.oidc;
    if oidc.secret.is_empty() || !oidc.oidc_secret.name.is_empty() {
        return Vec::new();
    }
    vec![secret(
        ctx,
        "oidc",
        &ctx.oidc_secret(),
        vec![(
            oidc.oidc_secret.secret_key.as_str(),
            SecretValue::Given(oidc.secret.clone()),
        )],
    )]
}

/// The password of each enabled OLAP feature's database.
fn olap(ctx: &Ctx) -> Vec<Manifest> {
    let mut out = Vec::new();
    for feature in OLAP_FEATURES {
        let settings = olap_settings(ctx, feature);
        if settings.enabled && !settings.password.is_ref() {
            let key = format!("{}_PASSWORD", feature.prefix);
            out.push(secret(
                ctx,
                "olap",
                &olap_secret_name(ctx, feature),
                vec![(
                    key.as_str(),
                    SecretValue::Given(settings.password.text().to_string()),
                )],
            ));
        }
    }
    out
}

/// The key gorilla signs sessions with, and where its JWKs are served.
fn session_key(ctx: &Ctx) -> Vec<Manifest> {
    let g = &ctx.values.global;
    vec![secret(
        ctx,
        "app",
        &ctx.name("gorilla-session-key"),
        vec![
            ("GORILLA_SESSION_KEY", SecretValue::Generated(32)),
            (
                "GORILLA_AUTH_JWK_URL",
                SecretValue::Given(
                    non_empty(&g.auth.jwk_url).unwrap_or_else(|| {
                        format!("http://{}:8083/api/jwks.json", ctx.name("app"))
                    }),
                ),
            ),
        ],
    )]
}

/// Lets anyone read the cluster's service-account issuer, so the internal
/// JWTs' issuers can be verified. Only when an internal JWT map is given.
fn oidc_reviewer(ctx: &Ctx) -> Vec<Manifest> {
    if ctx.values.app.internal_jwt_map.is_empty() {
        return Vec::new();
    }
    let mut metadata = meta(ctx, &ctx.name("oidc-reviewer"), "app");
    // Cluster-scoped.
    metadata.namespace = None;
    vec![Manifest::new(
        "app",
        Object::ClusterRoleBinding(ClusterRoleBinding {
            metadata,
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "ClusterRole".into(),
                name: "system:service-account-issuer-discovery".into(),
            },
            subjects: Some(vec![Subject {
                kind: "Group".into(),
                name: "system:unauthenticated".into(),
                api_group: Some("rbac.authorization.k8s.io".into()),
                namespace: None,
            }]),
        }),
    )]
}
