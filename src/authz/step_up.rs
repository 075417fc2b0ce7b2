//! Step-up authentication (RFC 9470): the answers to an identity whose sign-in is not
//! strong or fresh enough.

use http::header::WWW_AUTHENTICATE;
use http::{HeaderValue, StatusCode};

use super::denied::StepUp;
use crate::response::{self, CoreResponse};

const ERROR: &str = "insufficient_user_authentication";

/// `401` with the RFC 9470 challenge naming what a new token needs.
pub(crate) fn insufficient(step_up: &StepUp, set_cookies: Vec<HeaderValue>) -> CoreResponse {
    let mut response = response::unauthorized(
        "a stronger or more recent sign-in is required",
        Some(ERROR),
        set_cookies,
    );
    let mut challenge = format!("Bearer error=\"{ERROR}\"");
    if let Some(acr_values) = &step_up.acr_values {
        challenge.push_str(&format!(", acr_values=\"{}\"", quoted(acr_values)));
    }
    if let Some(max_age) = step_up.max_age {
        challenge.push_str(&format!(", max_age={max_age}"));
    }
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}

/// A redirect to the login route asking the provider for `step_up`, returning to
/// `return_to`.
pub(crate) fn sign_in_again(
    login_path: &str,
    return_to: &str,
    step_up: &StepUp,
    set_cookies: Vec<HeaderValue>,
) -> CoreResponse {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("next", return_to);
    if let Some(acr_values) = &step_up.acr_values {
        query.append_pair("acr_values", acr_values);
    }
    if let Some(max_age) = step_up.max_age {
        query.append_pair("max_age", &max_age.to_string());
    }
    let target = format!("{login_path}?{}", query.finish());
    response::redirect(StatusCode::FOUND, &target, set_cookies)
}

/// The inside of an RFC 7235 quoted string.
fn quoted(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_control())
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            _ => vec![c],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_names_the_classes_and_the_age() {
        let step_up = StepUp {
            acr_values: Some("urn:a \"b\"".into()),
            max_age: Some(300),
        };
        let response = insufficient(&step_up, Vec::new());
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            "Bearer error=\"insufficient_user_authentication\", \
             acr_values=\"urn:a \\\"b\\\"\", max_age=300"
        );
    }

    #[test]
    fn browsers_sign_in_again_and_return() {
        let step_up = StepUp {
            acr_values: Some("urn:example:mfa".into()),
            max_age: None,
        };
        let response = sign_in_again("/login", "/admin?tab=1", &step_up, Vec::new());
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_eq!(
            response.headers()[http::header::LOCATION],
            "/login?next=%2Fadmin%3Ftab%3D1&acr_values=urn%3Aexample%3Amfa"
        );
    }
}
