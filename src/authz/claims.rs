//! Finding a claim by name or by a dotted path into nested objects.

use serde_json::{Map, Value};

/// `realm_access.roles` walks into nested objects (Keycloak). A claim whose own name holds
/// dots (Auth0's `https://example.com/roles`) is found first by its exact name.
pub(crate) fn lookup<'a>(claims: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(path) {
        return Some(value);
    }
    let mut parts = path.split('.');
    let mut current = claims.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}

/// Whether `value` holds `wanted`: an array element equal to it, a string equal to it, or
/// one of the words of a space-separated string (`scope`).
pub(crate) fn contains(value: &Value, wanted: &str) -> bool {
    match value {
        Value::Array(items) => items.iter().any(|item| scalar_equals(item, wanted)),
        Value::String(text) => text == wanted || text.split_whitespace().any(|word| word == wanted),
        other => scalar_equals(other, wanted),
    }
}

/// Claims written in configuration as text match strings, numbers and booleans alike.
fn scalar_equals(value: &Value, wanted: &str) -> bool {
    match value {
        Value::String(text) => text == wanted,
        Value::Number(number) => wanted.parse::<f64>().ok() == number.as_f64(),
        Value::Bool(flag) => wanted.parse::<bool>().ok() == Some(*flag),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn paths_and_membership() {
        let claims = json!({
            "groups": ["admins", "data-platform"],
            "realm_access": {"roles": ["offline_access", "admin"]},
            "https://example.com/roles": ["editor"],
            "scope": "openid read:data write:data",
            "level": 3
        });
        let claims = claims.as_object().expect("object");
        assert!(contains(
            lookup(claims, "groups").expect("groups"),
            "admins"
        ));
        assert!(contains(
            lookup(claims, "realm_access.roles").expect("roles"),
            "admin"
        ));
        assert!(contains(
            lookup(claims, "https://example.com/roles").expect("ns"),
            "editor"
        ));
        assert!(contains(
            lookup(claims, "scope").expect("scope"),
            "read:data"
        ));
        assert!(!contains(lookup(claims, "scope").expect("scope"), "read"));
        assert!(contains(lookup(claims, "level").expect("level"), "3"));
        assert!(lookup(claims, "realm_access.missing").is_none());
        assert!(lookup(claims, "groups.admins").is_none());
    }
}
