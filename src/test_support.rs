//! Helpers shared by the unit tests.

use serde_json::{Map, Value};

/// The members of a JSON object literal (`json!({...})`); anything else is empty.
pub(crate) fn claims(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}
