//! The callback's check of a step-up sign-in: when the login asked for `acr_values` or
//! `max_age`, the ID token must show them met. A user who strips the parameters from the
//! authorization request, or a provider that ignores them, does not pass.

use serde_json::{Map, Value};

use super::login_params;
use crate::session::login_state::PendingLogin;

/// Whether the login asked for a stronger or fresher sign-in.
pub(crate) fn asked(pending: &PendingLogin) -> bool {
    ["acr_values", "max_age"]
        .iter()
        .any(|name| login_params::find(&pending.params, name).is_some())
}

/// `Err` says what the ID token lacks.
pub(crate) fn check(pending: &PendingLogin, claims: &Map<String, Value>) -> Result<(), String> {
    if let Some(values) = login_params::find(&pending.params, "acr_values") {
        let acr = claims.get("acr").and_then(Value::as_str);
        if !acr.is_some_and(|acr| values.split(' ').any(|value| value == acr)) {
            return Err("the sign-in did not reach the authentication level asked for".into());
        }
    }
    if let Some(max_age) = login_params::find(&pending.params, "max_age") {
        let max_age: u64 = max_age.parse().unwrap_or(0);
        let auth_time = claims.get("auth_time").and_then(Value::as_u64);
        if auth_time.is_none_or(|at| crate::authz::auth_too_old(at, max_age)) {
            return Err("the provider did not authenticate the user recently enough".into());
        }
    }
    Ok(())
}
