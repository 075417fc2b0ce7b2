//! The registered claims of RFC 7519 (section 4.1) a verified token must satisfy: the
//! required ones present, `iss` and `aud` as expected where present, and the times.

use serde_json::{Map, Value};

use super::jwt::{Rules, TokenError};

/// Checks `claims` against `rules` at `now` (Unix seconds). `iss` and `aud` are checked
/// when present (and must be present when listed in `rules.required`); an empty
/// `rules.audiences` leaves `aud` unchecked.
pub(crate) fn check(
    claims: &Map<String, Value>,
    rules: &Rules<'_>,
    now: u64,
) -> Result<(), TokenError> {
    if let Some(missing) = rules
        .required
        .iter()
        .find(|claim| claims.get(**claim).is_none_or(Value::is_null))
    {
        return Err(TokenError::MissingClaim((*missing).to_owned()));
    }
    let now = now as f64;
    let leeway = rules.leeway_secs as f64;
    if let Some(exp) = claims.get("exp") {
        let exp = exp.as_f64().ok_or(TokenError::InvalidClaim("exp"))?;
        if exp + leeway < now {
            return Err(TokenError::Expired);
        }
    }
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf.as_f64().ok_or(TokenError::InvalidClaim("nbf"))?;
        if nbf > now + leeway {
            return Err(TokenError::NotYetValid);
        }
    }
    if let Some(iat) = claims.get("iat") {
        let iat = iat.as_f64().ok_or(TokenError::InvalidClaim("iat"))?;
        if iat > now + leeway {
            return Err(TokenError::InvalidClaim("iat"));
        }
    }
    if let Some(iss) = claims.get("iss") {
        if iss.as_str() != Some(rules.issuer) {
            return Err(TokenError::WrongIssuer);
        }
    }
    if let Some(aud) = claims.get("aud") {
        if !rules.audiences.is_empty() && !names_an_audience(aud, rules.audiences) {
            return Err(TokenError::WrongAudience);
        }
    }
    Ok(())
}

/// `aud` is a string or an array of strings; one of them must be ours.
fn names_an_audience(aud: &Value, ours: &[String]) -> bool {
    let ours = |value: &Value| {
        value
            .as_str()
            .is_some_and(|aud| ours.iter().any(|mine| mine == aud))
    };
    match aud {
        Value::Array(values) => values.iter().any(ours),
        value => ours(value),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn rules<'a>(audiences: &'a [String], required: &'a [&'static str]) -> Rules<'a> {
        Rules {
            issuer: "https://op.example",
            audiences,
            algorithms: &[],
            leeway_secs: 60,
            required,
        }
    }

    fn check_json(claims: Value, rules: &Rules<'_>) -> Result<(), TokenError> {
        check(claims.as_object().expect("object"), rules, NOW)
    }

    #[test]
    fn times_with_leeway() {
        let aud = ["me".to_owned()];
        let rules = rules(&aud, &["exp"]);
        assert!(check_json(json!({"exp": NOW - 59}), &rules).is_ok());
        assert_eq!(
            check_json(json!({"exp": NOW - 61}), &rules),
            Err(TokenError::Expired)
        );
        assert_eq!(
            check_json(json!({"exp": "soon"}), &rules),
            Err(TokenError::InvalidClaim("exp"))
        );
        assert_eq!(
            check_json(json!({}), &rules),
            Err(TokenError::MissingClaim("exp".into()))
        );
        assert_eq!(
            check_json(json!({"exp": NOW + 9, "nbf": NOW + 61}), &rules),
            Err(TokenError::NotYetValid)
        );
        assert_eq!(
            check_json(json!({"exp": NOW + 9, "iat": NOW + 61}), &rules),
            Err(TokenError::InvalidClaim("iat"))
        );
        assert!(check_json(
            json!({"exp": NOW as f64 + 9.5, "iat": NOW, "nbf": NOW + 30}),
            &rules
        )
        .is_ok());
    }

    #[test]
    fn issuer_and_audience() {
        let aud = ["me".to_owned()];
        let any_audience = rules(&[], &[]);
        let rules = rules(&aud, &[]);
        assert!(check_json(
            json!({"iss": "https://op.example", "aud": ["x", "me"]}),
            &rules
        )
        .is_ok());
        assert_eq!(
            check_json(json!({"iss": "https://op.example/"}), &rules),
            Err(TokenError::WrongIssuer)
        );
        assert_eq!(
            check_json(json!({"iss": 1}), &rules),
            Err(TokenError::WrongIssuer)
        );
        assert_eq!(
            check_json(json!({"aud": "you"}), &rules),
            Err(TokenError::WrongAudience)
        );
        assert_eq!(
            check_json(json!({"aud": []}), &rules),
            Err(TokenError::WrongAudience)
        );
        assert!(
            check_json(json!({}), &rules).is_ok(),
            "absent and not required"
        );
        assert!(check_json(json!({"aud": "you"}), &any_audience).is_ok());
    }
}
