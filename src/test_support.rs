//! Helpers shared by the unit tests.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::config::{Config, ConfigError};

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
