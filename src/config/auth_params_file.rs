//! Files of extra authorization parameters: a JSON object of names and values, or an
//! Authlib client registration (as flaskoidc hands it over) with them under
//! `authorize_params`.

use super::env::Found;
use super::ConfigError;

/// The parameters in the file `found` names.
///
/// # Errors
///
/// The file cannot be read, is not a JSON object, or holds a parameter that is not a
/// string, number or boolean; the error names the variable.
pub(super) fn read(found: &Found) -> Result<Vec<(String, String)>, ConfigError> {
    let text = std::fs::read_to_string(found.value.trim())
        .map_err(|err| found.error(format!("cannot read the file: {err}")))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|err| found.error(format!("not a JSON object: {err}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| found.error("must hold a JSON object"))?;
    // In an Authlib registration the authorization parameters sit under `authorize_params`;
    // its other settings do not apply here.
    let object = match object.get("authorize_params") {
        Some(serde_json::Value::Object(params)) => params,
        _ => object,
    };
    object
        .iter()
        .filter(|(name, value)| {
            let nested = value.is_object() || value.is_array();
            if nested {
                tracing::warn!(parameter = %name, "ignored: not an authorization parameter");
            }
            !nested
        })
        .map(|(name, value)| match value {
            serde_json::Value::String(text) => Ok((name.clone(), text.clone())),
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) => {
                Ok((name.clone(), value.to_string()))
            }
            _ => Err(found.error(format!(
                "parameter `{name}` must be a string, number or boolean"
            ))),
        })
        .collect()
}
