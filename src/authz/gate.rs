//! The per-route check both framework adapters run: the same answers on axum and actix-web.

use super::found::Authentication;
use super::Require;
use crate::rejection::IdentityRejection;
use crate::request::accepts_html;
use crate::response::CoreResponse;

/// What the gate decided about a request.
pub(crate) enum Verdict {
    /// On to the application.
    Pass,
    /// Answered here, never reaching the application.
    Refuse(CoreResponse),
}

/// Lets a request through `require`, or says what to answer instead: `500` JSON when the
/// layer did not handle the request (a setup mistake, as the extractors answer it), `401`
/// when no one is signed in, `403` (a page when `accept` takes HTML) when the signed-in
/// identity fails a rule. `accept` holds every `Accept` header value; it is read only on
/// a denial.
pub(crate) fn gate<'a>(
    found: Option<&Authentication>,
    require: &Require,
    accept: impl IntoIterator<Item = &'a [u8]>,
) -> Verdict {
    let Some(authentication) = found else {
        return Verdict::Refuse(IdentityRejection::LayerMissing.to_response());
    };
    let Some(identity) = &authentication.identity else {
        return Verdict::Refuse(IdentityRejection::NotSignedIn.to_response());
    };
    match require.check(identity) {
        Ok(()) => Verdict::Pass,
        Err(denied) => Verdict::Refuse(authentication.context.deny_at(
            identity,
            &denied,
            accepts_html(accept),
            authentication.return_to().as_deref(),
            Vec::new(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use http::header::CONTENT_TYPE;
    use http::StatusCode;
    use serde_json::json;

    use super::*;
    use crate::authz::found::AuthContext;
    use crate::identity::Identity;

    fn found(identity: Option<Identity>) -> Authentication {
        Authentication {
            identity,
            context: Arc::new(AuthContext {
                logout_path: "/logout".into(),
                login_path: "/login".into(),
                denied_page: None,
            }),
            target: Some(http::uri::PathAndQuery::from_static("/admin?tab=keys")),
        }
    }

    fn refused(verdict: Verdict) -> CoreResponse {
        match verdict {
            Verdict::Refuse(response) => response,
            Verdict::Pass => panic!("let through"),
        }
    }

    fn body(response: &CoreResponse) -> serde_json::Value {
        serde_json::from_slice(response.body()).expect("json")
    }

    const HTML: &[u8] = b"text/html,application/xhtml+xml";

    #[test]
    fn a_missing_layer_is_json_whatever_the_client_accepts() {
        let response = refused(gate(None, &Require::new(), [HTML]));
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(body(&response)["error"], "layer_missing");
    }

    #[test]
    fn no_one_signed_in_is_401() {
        let response = refused(gate(Some(&found(None)), &Require::new(), [HTML]));
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_eq!(response.headers()["cache-control"], "no-store");
    }

    #[test]
    fn a_failing_identity_gets_the_page_or_json() {
        let admins = Require::new().claim_contains("groups", "admins");
        let alice = found(Some(Identity::for_tests(json!({"groups": []}), None)));
        let page = refused(gate(
            Some(&alice),
            &admins,
            [b"text/plain".as_slice(), HTML],
        ));
        assert_eq!(page.status(), StatusCode::FORBIDDEN);
        assert!(page.headers()[CONTENT_TYPE]
            .to_str()
            .expect("ascii")
            .starts_with("text/html"));
        let json = refused(gate(
            Some(&alice),
            &admins,
            [b"application/json".as_slice()],
        ));
        assert_eq!(json.status(), StatusCode::FORBIDDEN);
        assert_eq!(body(&json)["error"], "forbidden");
        refused(gate(Some(&alice), &admins, std::iter::empty()));
    }

    #[test]
    fn a_passing_identity_goes_through() {
        let admins = Require::new().claim_contains("groups", "admins");
        let boss = found(Some(Identity::for_tests(
            json!({"groups": ["admins"]}),
            None,
        )));
        assert!(matches!(gate(Some(&boss), &admins, [HTML]), Verdict::Pass));
    }
}
