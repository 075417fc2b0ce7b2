//! The user the mock provider signs in.

use serde_json::{Map, Value};

/// The user the authorize endpoint approves without asking.
///
/// Each login snapshots the user: changing it later affects new logins, and
/// refreshes of grants whose `sub` equals the new user's (profile updates
/// show through a refresh, a different person does not).
#[derive(Clone, Debug)]
pub struct MockUser {
    /// Subject identifier (`sub`).
    pub sub: String,
    /// `email` claim.
    pub email: Option<String>,
    /// `email_verified` claim.
    pub email_verified: Option<bool>,
    /// `name` claim.
    pub name: Option<String>,
    /// `given_name` claim.
    pub given_name: Option<String>,
    /// `family_name` claim.
    pub family_name: Option<String>,
    /// Further claims, added to the ID token (unless minimal) and userinfo;
    /// they never replace a claim the mock sets itself.
    pub extra: Map<String, Value>,
}

impl MockUser {
    /// A user with the given `sub`, the verified email `{sub}@example.com`
    /// and no other profile claims.
    pub fn new(sub: impl Into<String>) -> Self {
        let sub = sub.into();
        MockUser {
            email: Some(format!("{sub}@example.com")),
            email_verified: Some(true),
            sub,
            name: None,
            given_name: None,
            family_name: None,
            extra: Map::new(),
        }
    }

    /// Adds the claim `name` to [`extra`](Self::extra), for the ID token and userinfo.
    ///
    /// ```
    /// use serde_json::json;
    /// use tower_oidc::testing::MockUser;
    ///
    /// let admin = MockUser::new("root").claim("groups", json!(["admins"])).claim("tenant", "acme");
    /// assert_eq!(admin.extra["groups"], json!(["admins"]));
    /// ```
    #[must_use]
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(name.into(), value.into());
        self
    }

    /// The profile claims (`email`, `email_verified`, `name`, `given_name`,
    /// `family_name`, then `extra`), without `sub`.
    pub(crate) fn profile_claims(&self) -> Map<String, Value> {
        let mut claims = Map::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                claims.insert(key.to_owned(), value);
            }
        };
        put("email", self.email.clone().map(Value::String));
        put("email_verified", self.email_verified.map(Value::Bool));
        put("name", self.name.clone().map(Value::String));
        put("given_name", self.given_name.clone().map(Value::String));
        put("family_name", self.family_name.clone().map(Value::String));
        for (key, value) in &self.extra {
            claims.entry(key.clone()).or_insert_with(|| value.clone());
        }
        claims
    }
}

impl Default for MockUser {
    /// Alice Example, `sub` `alice`, with the verified email `alice@example.com`.
    fn default() -> Self {
        MockUser {
            sub: "alice".to_owned(),
            email: Some("alice@example.com".to_owned()),
            email_verified: Some(true),
            name: Some("Alice Example".to_owned()),
            given_name: Some("Alice".to_owned()),
            family_name: Some("Example".to_owned()),
            extra: Map::new(),
        }
    }
}
