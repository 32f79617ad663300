//! The OpenAPI 3.1 document of the JSON API, served at
//! `/api/openapi.json` (no token: it describes, it holds no data) and
//! checked in as `docs/openapi.json`.
//!
//! It is generated from the handlers (`#[utoipa::path]` on each one in
//! [`super::api`]) and the request and answer types themselves
//! (`#[derive(ToSchema)]`), so it follows the code. What every endpoint
//! shares is added here once, by [`Shared`]: the bearer token scheme and
//! the error answers with their `{"error": {kind, message, field, hint}}`
//! body. The documents that have a schema of their own elsewhere (a
//! check, a transition, a maintenance window) are described as objects
//! with a pointer to their reference text, rather than duplicated.

use std::borrow::Cow;

use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

/// Where the document is served.
pub(crate) const PATH: &str = "/api/openapi.json";

/// A named, open object schema described by `text`.
fn opaque(text: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(text))
        .additional_properties(Some(AdditionalProperties::FreeForm(true)))
        .into()
}

macro_rules! opaque_doc {
    ($(#[$doc:meta])* $name:ident, $shown:literal, $text:literal) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub(crate) struct $name;
        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                opaque($text)
            }
        }
        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($shown)
            }
        }
    };
}

opaque_doc!(
    /// A check as the API answers it.
    CheckDoc,
    "Check",
    "A check as `qu check show --json` prints it (id, name, type, target, interval, timeout, \
     probe settings, alerts, policy, disabled); HTTP credentials are masked. See \
     docs/configuration.md."
);
opaque_doc!(
    /// A committed transition.
    TransitionDoc,
    "Transition",
    "A committed check transition: check_id, check_name, from, to, at (RFC 3339) and the \
     evidence (each node's vote) that decided it."
);
opaque_doc!(
    /// A maintenance window.
    WindowDoc,
    "MaintenanceWindow",
    "A maintenance window or silence: id, checks, when (once or weekly), duration and reason."
);

/// The bearer scheme and the error answers every endpoint shares.
struct Shared;

/// The error answers an operation can give: every one 401 and 503, a
/// write also 403, 404 and 409, one with a body also 413 and 422.
fn errors(method: &str, op: &Operation) -> Vec<(&'static str, &'static str)> {
    let mut out = vec![
        (
            "401",
            "No token, or one that is unknown, malformed or revoked.",
        ),
        (
            "503",
            "No quorum, or the master cannot be reached; nothing changed.",
        ),
    ];
    let has_path_param = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    if method != "get" {
        out.push(("403", "A read token tried to write."));
        out.push((
            "409",
            "The name is taken, or a member is too old for the change.",
        ));
    }
    if has_path_param || method != "get" {
        out.push(("404", "No such check or window."));
    }
    if op.request_body.is_some() {
        out.push(("413", "The body is larger than 16 KiB."));
        out.push((
            "422",
            "Bad input: the CLI's own error text; `field` names the field.",
        ));
    }
    out
}

impl Modify for Shared {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("qut_<id>_<secret> from `qu token create`")
                    .build(),
            ),
        );
        let bearer = SecurityRequirement::new("bearer", Vec::<String>::new());
        for item in doc.paths.paths.values_mut() {
            let ops = [
                ("get", &mut item.get),
                ("post", &mut item.post),
                ("patch", &mut item.patch),
                ("delete", &mut item.delete),
            ];
            for (method, op) in ops {
                let Some(op) = op.as_mut() else { continue };
                op.security = Some(vec![bearer.clone()]);
                for (code, text) in errors(method, op) {
                    let content = ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build();
                    op.responses
                        .responses
                        .entry(code.into())
                        .or_insert_with(|| {
                            ResponseBuilder::new()
                                .description(text)
                                .content("application/json", content)
                                .into()
                        });
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "quptime HTTP API",
        description = "The JSON API every node of a quptime cluster serves under /api/v1/ \
                       (`qu serve --http`). Reads come from the node's replicated state; writes \
                       go to the master, through the same use cases as the CLI. See docs/api.md."
    ),
    paths(
        super::api::status,
        super::api::list_checks,
        super::api::add_check,
        super::api::get_check,
        super::api::edit_check,
        super::api::remove_check,
        super::api::enable_check,
        super::api::disable_check,
        super::api::channels,
        super::api::transitions,
        super::api::list_maintenance,
        super::api::add_maintenance,
        super::api::remove_maintenance,
    ),
    components(schemas(super::api::ErrorBody, crate::state::Rejected)),
    modifiers(&Shared)
)]
struct ApiDoc;

/// The document as served: pretty JSON, one trailing newline.
pub(crate) fn document() -> String {
    match ApiDoc::openapi().to_pretty_json() {
        Ok(json) => json + "\n",
        // The document is built from static types; encoding cannot fail
        // short of a bug, which the tests would show.
        Err(e) => format!("{{\"error\": \"cannot encode the OpenAPI document: {e}\"}}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_is_documented_with_its_errors() {
        let doc: serde_json::Value = serde_json::from_str(&document()).expect("json");
        for (method, path, _) in super::super::api::endpoints() {
            let m = method.as_str().to_ascii_lowercase();
            let op = &doc["paths"][path][&m];
            assert!(op.is_object(), "{m} {path} is not in the document");
            assert!(op["responses"]["401"].is_object(), "{m} {path}: no 401");
            assert_eq!(op["security"][0]["bearer"], serde_json::json!([]));
        }
        assert!(doc["components"]["schemas"]["Status"].is_object());
        let spec = doc["components"]["schemas"]["CheckSpec"].to_string();
        assert!(
            spec.contains("\"target\"") && spec.contains("\"interval\""),
            "{spec}"
        );
        let status = doc["components"]["schemas"]["CheckStatus"].to_string();
        assert!(status.contains("\"uptime\""), "{status}");
    }
}
