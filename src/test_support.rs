//! Helpers shared by the unit tests.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::config::{Config, ConfigError};
use crate::session::SessionData;

/// The members of a JSON object literal (`json!({...})`); anything else is empty.
pub(crate) fn claims(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

/// The configuration the environment `vars` (and nothing else) give.
pub(crate) fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_lookup(|name| map.get(name).cloned())
}

/// A session of `user_id` with `claims`, valid for ever.
pub(crate) fn session(user_id: &str, claims: Value) -> SessionData {
    SessionData::of_credential(user_id.to_owned(), self::claims(claims), 0, u64::MAX)
}
