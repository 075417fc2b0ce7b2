//! Environment files as deployments write them: `export NAME='value'`, `NAME=value`,
//! `NAME: value` (values files), comments and blank lines.

use std::collections::HashMap;

use super::ConfigError;

/// Parses `text` (from `file`, named in errors) into variables.
///
/// # Errors
///
/// A line that is neither blank, a comment nor `NAME=value`; the error names `file:line`.
pub(super) fn parse(file: &str, text: &str) -> Result<HashMap<String, String>, ConfigError> {
    let mut vars = HashMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let split = line
            .find(['=', ':'])
            .map(|at| (line[..at].trim(), line[at + 1..].trim()));
        let Some((name, raw)) = split.filter(|(name, _)| is_name(name)) else {
            return Err(ConfigError::new(
                format!("{file}:{}", number + 1),
                "expected `NAME=value`",
            ));
        };
        vars.insert(name.to_owned(), unquote(raw));
    }
    Ok(vars)
}

fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

fn unquote(raw: &str) -> String {
    let bytes = raw.as_bytes();
    if bytes.len() >= 2 {
        let (first, last) = (bytes[0], bytes[bytes.len() - 1]);
        if first == b'\'' && last == b'\'' {
            return raw[1..raw.len() - 1].to_owned();
        }
        if first == b'"' && last == b'"' {
            return raw[1..raw.len() - 1]
                .replace("\\\"", "\"")
                .replace("\\\\", "\\");
        }
    }
    // An unquoted value ends at a comment.
    raw.split(" #").next().unwrap_or(raw).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_styles() {
        let vars = parse(
            "x.env",
            "# comment\nexport A='one two'\nB=\"say \\\"hi\\\"\"\n\nC: plain # note\nexport D=\nE=a=b\n",
        )
        .expect("valid");
        assert_eq!(vars["A"], "one two");
        assert_eq!(vars["B"], "say \"hi\"");
        assert_eq!(vars["C"], "plain");
        assert_eq!(vars["D"], "");
        assert_eq!(vars["E"], "a=b");
        let err = parse("x.env", "A=1\nnot a line\n").unwrap_err();
        assert_eq!(err.setting(), "x.env:2");
    }
}
