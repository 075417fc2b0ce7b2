//! The private key of `private_key_jwt` (OpenID Connect Core 1.0, section 9; RFC 7523):
//! read from a PEM file or a JWKS file, checked by signing once when the configuration is
//! built, never printed.

use std::fmt;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The kind of a private key, which decides the algorithms it can sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Rsa,
    /// P-256.
    Ec,
    /// Ed25519.
    Ed,
}

/// A client's signing key: the key, its `kid`, and the certificate thumbprint when the
/// PEM file carries the certificate too (Microsoft Entra ID identifies keys by it).
#[derive(Clone)]
pub(crate) struct ClientKey {
    key: EncodingKey,
    kind: KeyKind,
    /// An algorithm the key names for itself (a JWK's `alg`).
    alg: Option<Algorithm>,
    kid: String,
    x5t_s256: Option<String>,
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientKey")
            .field("kind", &self.kind)
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl ClientKey {
    /// A PEM file (a PKCS#8 or PKCS#1 private key, optionally followed or preceded by its
    /// certificate) or a JWKS file (the first private key in it).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let key = if text.trim_start().starts_with('{') {
            Self::from_jwks(text)?
        } else {
            Self::from_pem(text)?
        };
        // A key that cannot sign is found now, not at the first login.
        key.header(key.default_algorithm())
            .and_then(|header| {
                jsonwebtoken::encode(&header, &serde_json::json!({"probe": true}), &key.key)
                    .map_err(|err| format!("the key cannot sign: {err}"))
            })
            .map(|_| key)
    }

    fn from_pem(text: &str) -> Result<Self, String> {
        let blocks = pem_blocks(text);
        let mut x5t_s256 = None;
        let mut found = None;
        for (label, block) in &blocks {
            match label.as_str() {
                "CERTIFICATE" if x5t_s256.is_none() => {
                    let der = pem_body(block)?;
                    x5t_s256 = Some(URL_SAFE_NO_PAD.encode(Sha256::digest(&der)));
                }
                "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" if found.is_none() => {
                    found = Some(pem_key(label, block)?);
                }
                "ENCRYPTED PRIVATE KEY" => {
                    return Err("the private key is encrypted; give it unencrypted".into())
                }
                _ => {}
            }
        }
        let Some((key, kind)) = found else {
            return Err("no private key (`-----BEGIN PRIVATE KEY-----`) in the file".into());
        };
        let kid = thumbprint(&key, kind)?;
        Ok(Self {
            key,
            kind,
            alg: None,
            kid,
            x5t_s256,
        })
    }

    fn from_jwks(text: &str) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Jwks {
            keys: Vec<PrivateJwk>,
        }
        let jwks: Jwks = serde_json::from_str(text)
            .or_else(|_| {
                serde_json::from_str::<PrivateJwk>(text).map(|key| Jwks { keys: vec![key] })
            })
            .map_err(|_| "not a JWKS (`{\"keys\": [...]}`) nor a JWK".to_owned())?;
        let jwk = jwks
            .keys
            .into_iter()
            .find(|key| key.d.is_some() && key.key_use.as_deref() != Some("enc"))
            .ok_or("the JWKS has no private signing key (a key with `d`)")?;
        let (key, kind) = jwk.encoding_key()?;
        let alg = match &jwk.alg {
            Some(alg) => Some(
                alg.parse::<Algorithm>()
                    .map_err(|_| format!("the key's `alg` `{alg}` is not supported"))?,
            ),
            None => None,
        };
        let kid = match jwk.kid {
            Some(kid) => kid,
            None => thumbprint(&key, kind)?,
        };
        let key = Self {
            key,
            kind,
            alg,
            kid,
            x5t_s256: None,
        };
        if let Some(alg) = alg {
            if !key.can_sign(alg) {
                return Err(format!(
                    "the key's `alg` {alg:?} does not fit a {kind:?} key"
                ));
            }
        }
        Ok(key)
    }

    /// The key signing with `alg` always, if it can.
    pub(crate) fn with_algorithm(mut self, alg: Algorithm) -> Result<Self, String> {
        if !self.can_sign(alg) {
            return Err(format!("a {:?} key cannot sign {alg:?}", self.kind));
        }
        self.alg = Some(alg);
        Ok(self)
    }

    #[cfg(test)]
    pub(crate) fn kind(&self) -> KeyKind {
        self.kind
    }

    fn can_sign(&self, alg: Algorithm) -> bool {
        use Algorithm::*;
        matches!(
            (self.kind, alg),
            (KeyKind::Rsa, RS256 | RS384 | RS512 | PS256 | PS384 | PS512)
                | (KeyKind::Ec, ES256)
                | (KeyKind::Ed, EdDSA)
        )
    }

    fn default_algorithm(&self) -> Algorithm {
        self.alg.unwrap_or(match self.kind {
            KeyKind::Rsa => Algorithm::RS256,
            KeyKind::Ec => Algorithm::ES256,
            KeyKind::Ed => Algorithm::EdDSA,
        })
    }

    /// The algorithm to sign with: the key's own `alg`; else, for RSA, RS256 unless the
    /// provider lists algorithms without it and with PS256.
    pub(crate) fn algorithm(&self, supported: Option<&[String]>) -> Algorithm {
        if let Some(alg) = self.alg {
            return alg;
        }
        let listed = |name: &str| supported.is_some_and(|list| list.iter().any(|a| a == name));
        match self.kind {
            KeyKind::Rsa if supported.is_some() && !listed("RS256") && listed("PS256") => {
                Algorithm::PS256
            }
            _ => self.default_algorithm(),
        }
    }

    /// The JOSE header of an assertion signed with `alg`.
    pub(crate) fn header(&self, alg: Algorithm) -> Result<Header, String> {
        if !self.can_sign(alg) {
            return Err(format!("a {:?} key cannot sign {alg:?}", self.kind));
        }
        let mut header = Header::new(alg);
        header.kid = Some(self.kid.clone());
        header.x5t_s256.clone_from(&self.x5t_s256);
        Ok(header)
    }

    pub(crate) fn encoding_key(&self) -> &EncodingKey {
        &self.key
    }
}

/// The RFC 7638 thumbprint of the key's public part: its `kid` when it has none.
fn thumbprint(key: &EncodingKey, kind: KeyKind) -> Result<String, String> {
    let alg = match kind {
        KeyKind::Rsa => Algorithm::RS256,
        KeyKind::Ec => Algorithm::ES256,
        KeyKind::Ed => Algorithm::EdDSA,
    };
    jsonwebtoken::jwk::Jwk::from_encoding_key(key, alg)
        .and_then(|jwk| jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256))
        .map_err(|err| format!("the key is not usable: {err}"))
}

/// `(label, whole block)` for each `-----BEGIN label-----` … `-----END label-----`.
fn pem_blocks(text: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines().map(str::trim) {
        if let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|rest| rest.strip_suffix("-----"))
        {
            current = Some((label.to_owned(), format!("{line}\n")));
        } else if let Some((label, mut block)) = current.take() {
            block.push_str(line);
            block.push('\n');
            if line.starts_with("-----END ") {
                blocks.push((label, block));
            } else {
                current = Some((label, block));
            }
        }
    }
    blocks
}

fn pem_body(block: &str) -> Result<Vec<u8>, String> {
    let body: String = block
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    STANDARD
        .decode(body)
        .map_err(|_| "a PEM block is not valid base64".to_owned())
}

/// The key of a PEM block and its kind. PKCS#8 names its algorithm by OID.
fn pem_key(label: &str, block: &str) -> Result<(EncodingKey, KeyKind), String> {
    const RSA_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    const EC_OID: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    const P256_OID: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    const ED25519_OID: &[u8] = &[0x2b, 0x65, 0x70];
    let der = pem_body(block)?;
    let has = |oid: &[u8]| der.windows(oid.len()).take(40).any(|w| w == oid);
    let bad = |err: jsonwebtoken::errors::Error| format!("the private key is not valid: {err}");
    match label {
        "RSA PRIVATE KEY" => Ok((
            EncodingKey::from_rsa_pem(block.as_bytes()).map_err(bad)?,
            KeyKind::Rsa,
        )),
        "EC PRIVATE KEY" => {
            Err("an EC key must be PKCS#8 (`openssl pkcs8 -topk8 -nocrypt -in key.pem`)".into())
        }
        _ if has(RSA_OID) => Ok((
            EncodingKey::from_rsa_pem(block.as_bytes()).map_err(bad)?,
            KeyKind::Rsa,
        )),
        _ if has(EC_OID) && has(P256_OID) => Ok((
            EncodingKey::from_ec_pem(block.as_bytes()).map_err(bad)?,
            KeyKind::Ec,
        )),
        _ if has(EC_OID) => Err("only P-256 EC keys are supported (ES256)".into()),
        _ if has(ED25519_OID) => Ok((
            EncodingKey::from_ed_pem(block.as_bytes()).map_err(bad)?,
            KeyKind::Ed,
        )),
        _ => Err("the private key is neither RSA, P-256 nor Ed25519".into()),
    }
}

/// A private JWK (RFC 7517, RFC 7518 section 6, RFC 8037).
#[derive(Deserialize)]
struct PrivateJwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    key_use: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    d: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    p: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    dp: Option<String>,
    #[serde(default)]
    dq: Option<String>,
    #[serde(default)]
    qi: Option<String>,
}

impl PrivateJwk {
    fn member(&self, value: &Option<String>, name: &str) -> Result<Vec<u8>, String> {
        let value = value
            .as_deref()
            .ok_or_else(|| format!("the {} JWK has no `{name}`", self.kty))?;
        URL_SAFE_NO_PAD
            .decode(value.trim_end_matches('='))
            .map_err(|_| format!("the JWK's `{name}` is not base64url"))
    }

    /// The key as the DER jsonwebtoken signs with: PKCS#1 for RSA, PKCS#8 otherwise.
    fn encoding_key(&self) -> Result<(EncodingKey, KeyKind), String> {
        match (self.kty.as_str(), self.crv.as_deref()) {
            ("RSA", _) => {
                let mut fields = vec![vec![0u8]];
                for (value, name) in [
                    (&self.n, "n"),
                    (&self.e, "e"),
                    (&self.d, "d"),
                    (&self.p, "p"),
                    (&self.q, "q"),
                    (&self.dp, "dp"),
                    (&self.dq, "dq"),
                    (&self.qi, "qi"),
                ] {
                    fields.push(self.member(value, name)?);
                }
                let body: Vec<u8> = fields.iter().flat_map(|f| der_integer(f)).collect();
                Ok((EncodingKey::from_rsa_der(&der(0x30, &body)), KeyKind::Rsa))
            }
            ("EC", Some("P-256")) => {
                let d = fixed(self.member(&self.d, "d")?, 32, "d")?;
                let x = fixed(self.member(&self.x, "x")?, 32, "x")?;
                let y = fixed(self.member(&self.y, "y")?, 32, "y")?;
                // PKCS#8 of a P-256 key: fixed prefix, then the SEC1 private key with its
                // public point.
                let mut pkcs8 =
                    hex("308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420");
                pkcs8.extend_from_slice(&d);
                pkcs8.extend_from_slice(&hex("a14403420004"));
                pkcs8.extend_from_slice(&x);
                pkcs8.extend_from_slice(&y);
                Ok((EncodingKey::from_ec_der(&pkcs8), KeyKind::Ec))
            }
            ("OKP", Some("Ed25519")) => {
                let d = fixed(self.member(&self.d, "d")?, 32, "d")?;
                let mut pkcs8 = hex("302e020100300506032b657004220420");
                pkcs8.extend_from_slice(&d);
                Ok((EncodingKey::from_ed_der(&pkcs8), KeyKind::Ed))
            }
            (kty, crv) => Err(format!(
                "unsupported key type `{kty}`{}: use RSA, EC P-256 or OKP Ed25519",
                crv.map(|crv| format!(" ({crv})")).unwrap_or_default()
            )),
        }
    }
}

fn fixed(value: Vec<u8>, len: usize, name: &str) -> Result<Vec<u8>, String> {
    if value.len() == len {
        Ok(value)
    } else {
        Err(format!("the JWK's `{name}` is not {len} bytes"))
    }
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// A DER element: tag, length, contents.
fn der(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(contents);
    out
}

/// A non-negative DER INTEGER from big-endian bytes.
fn der_integer(value: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = value.iter().copied().skip_while(|&b| b == 0).collect();
    let mut contents = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|&b| b & 0x80 != 0) {
        contents.push(0);
    }
    contents.extend_from_slice(&trimmed);
    der(0x02, &contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made with `openssl genpkey`; the JWKS files hold the same keys as private JWKs.
    const EC_PEM: &str = include_str!("../testing/keys/client_ec.pem");
    const KEYS: &[(&str, &str, KeyKind)] = &[
        (
            EC_PEM,
            include_str!("../testing/keys/client_ec.jwks.json"),
            KeyKind::Ec,
        ),
        (
            include_str!("../testing/keys/client_rsa.pem"),
            include_str!("../testing/keys/client_rsa.jwks.json"),
            KeyKind::Rsa,
        ),
        (
            include_str!("../testing/keys/client_ed.pem"),
            include_str!("../testing/keys/client_ed.jwks.json"),
            KeyKind::Ed,
        ),
    ];

    /// The JWK form signs what the PEM form's public key verifies, with the same `kid`.
    #[test]
    fn jwks_and_pem_files_give_the_same_keys() {
        for &(pem, jwks, kind) in KEYS {
            let from_pem = ClientKey::parse(pem).expect("pem");
            let from_jwks = ClientKey::parse(jwks).expect("jwks");
            assert_eq!(from_pem.kind(), kind);
            assert_eq!(from_jwks.kind(), kind);
            assert_eq!(from_pem.kid, from_jwks.kid, "{kind:?}");
            let algs: &[Algorithm] = match kind {
                KeyKind::Rsa => &[Algorithm::RS256, Algorithm::PS256],
                KeyKind::Ec => &[Algorithm::ES256],
                KeyKind::Ed => &[Algorithm::EdDSA],
            };
            let public = jsonwebtoken::jwk::Jwk::from_encoding_key(&from_pem.key, algs[0])
                .expect("public jwk");
            let decoding = jsonwebtoken::DecodingKey::from_jwk(&public).expect("decoding key");
            for &alg in algs {
                let header = from_jwks.header(alg).expect("header");
                assert_eq!(header.kid.as_deref(), Some(from_pem.kid.as_str()));
                let token = jsonwebtoken::encode(
                    &header,
                    &serde_json::json!({"sub": "c", "aud": "x"}),
                    &from_jwks.key,
                )
                .expect("sign");
                let mut validation = jsonwebtoken::Validation::new(alg);
                validation.set_audience(&["x"]);
                validation.required_spec_claims.clear();
                jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &validation)
                    .unwrap_or_else(|err| panic!("{kind:?} {alg:?}: {err}"));
            }
            assert!(from_pem.header(Algorithm::HS256).is_err());
        }
    }

    #[test]
    fn rsa_keys_follow_the_provider_list() {
        let key = ClientKey::parse(KEYS[1].0).expect("rsa");
        let list = |algs: &[&str]| algs.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
        assert_eq!(key.algorithm(None), Algorithm::RS256);
        assert_eq!(
            key.algorithm(Some(&list(&["RS256", "PS256"]))),
            Algorithm::RS256
        );
        assert_eq!(
            key.algorithm(Some(&list(&["PS256", "ES256"]))),
            Algorithm::PS256
        );
        let pinned = key.clone().with_algorithm(Algorithm::PS256).expect("PS256");
        assert_eq!(pinned.algorithm(Some(&list(&["RS256"]))), Algorithm::PS256);
        assert!(key.with_algorithm(Algorithm::ES256).is_err());
    }

    #[test]
    fn der_integers_are_minimal_and_positive() {
        assert_eq!(der_integer(&[0]), [0x02, 0x01, 0x00]);
        assert_eq!(der_integer(&[0, 0x7f]), [0x02, 0x01, 0x7f]);
        assert_eq!(der_integer(&[0x80]), [0x02, 0x02, 0x00, 0x80]);
        let long = der(0x30, &[0u8; 200]);
        assert_eq!(&long[..3], &[0x30, 0x81, 200]);
    }

    #[test]
    fn pem_keys_are_recognised_and_garbage_refused() {
        let key = ClientKey::parse(EC_PEM).expect("EC key");
        assert_eq!(key.kind(), KeyKind::Ec);
        assert_eq!(key.algorithm(None), Algorithm::ES256);
        assert!(!format!("{key:?}").contains("PRIVATE"));
        for bad in [
            "",
            "not a key",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
            r#"{"keys": []}"#,
            r#"{"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]}"#,
        ] {
            assert!(ClientKey::parse(bad).is_err(), "{bad}");
        }
    }
}
