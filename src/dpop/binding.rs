//! Whether an access token is bound to a key (`cnf`, RFC 7800), and to which.

use serde_json::{Map, Value};

use super::DpopMode;
use crate::config::Config;
use crate::response::CoreResponse;
use crate::session::SessionData;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Binding<'a> {
    /// A plain bearer token.
    Unbound,
    /// Bound to the DPoP key of this RFC 7638 thumbprint.
    Jkt(&'a str),
    /// Bound some other way (a certificate, a malformed `cnf`): never usable here.
    Unverifiable,
}

/// The binding the token's claims (or its introspection answer) state.
pub(crate) fn of(claims: &Map<String, Value>) -> Binding<'_> {
    match claims.get("cnf") {
        Some(Value::Object(cnf)) => match cnf.get("jkt") {
            Some(Value::String(jkt)) if !jkt.is_empty() => Binding::Jkt(jkt),
            _ => Binding::Unverifiable,
        },
        Some(_) => Binding::Unverifiable,
        None => {
            let dpop_type = claims
                .get("token_type")
                .and_then(Value::as_str)
                .is_some_and(|kind| kind.eq_ignore_ascii_case("dpop"));
            if dpop_type {
                Binding::Unverifiable
            } else {
                Binding::Unbound
            }
        }
    }
}

/// The answer to a `Bearer` credential that must not pass: in `required` mode any, else a
/// token bound to a key (RFC 9449, section 7.1). `session` is the verified token, when
/// known yet.
pub(crate) fn refuse_as_bearer(
    config: &Config,
    session: Option<&SessionData>,
) -> Option<CoreResponse> {
    if config.dpop.mode == DpopMode::Required {
        return Some(super::challenge::required(
            "this service accepts DPoP-bound tokens only",
        ));
    }
    let session = session?;
    if of(&session.claims) == Binding::Unbound {
        return None;
    }
    tracing::info!("a key-bound token was sent as a bearer token");
    Some(if config.dpop.mode == DpopMode::Off {
        crate::response::unauthorized(
            "invalid bearer token: it is bound to a key and is not usable as a bearer token",
            Some("invalid_token"),
            Vec::new(),
        )
    } else {
        super::challenge::invalid_token(
            "the token is bound to a key: send it with the DPoP scheme and a proof",
        )
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::test_support::claims;

    #[test]
    fn cnf_and_token_type_state_the_binding() {
        assert_eq!(of(&claims(json!({"sub": "a"}))), Binding::Unbound);
        assert_eq!(
            of(&claims(json!({"cnf": {"jkt": "abc"}}))),
            Binding::Jkt("abc")
        );
        for bound in [
            json!({"cnf": {"x5t#S256": "abc"}}),
            json!({"cnf": {"jkt": ""}}),
            json!({"cnf": "abc"}),
            json!({"token_type": "DPoP"}),
        ] {
            assert_eq!(of(&claims(bound.clone())), Binding::Unverifiable, "{bound}");
        }
    }
}
