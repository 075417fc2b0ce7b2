//! `oidc-provider` in a node child process: started with one client, killed on drop.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use url::Url;

pub const CLIENT_ID: &str = "tower-oidc-interop";
pub const CLIENT_SECRET: &str = "interop-client-secret-0123456789abcdef";
const READY_TIMEOUT: Duration = Duration::from_secs(20);

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// Why the interop tests cannot run here, if they cannot.
pub fn missing_prerequisite() -> Option<String> {
    let node = std::process::Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !matches!(node, Ok(status) if status.success()) {
        return Some("`node` is not on PATH".into());
    }
    let package = interop_dir().join("node_modules/oidc-provider/package.json");
    if !package.is_file() {
        return Some(format!(
            "{} is missing; run `npm ci` in tests/interop",
            package.display()
        ));
    }
    None
}

/// What the provider is started with.
pub struct ProviderOptions {
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub access_token_ttl: Duration,
    /// The host of the issuer URL; the provider listens on 127.0.0.1 whatever it is.
    pub issuer_host: &'static str,
    /// Claims added to some accounts' userinfo: `{"account": {"claim": value}}`.
    pub extra_claims: Value,
    /// Further variables for provider.mjs (`EXTRA_CLIENTS`, `REQUIRE_PAR`, `TLS_*`, …).
    pub env: Vec<(&'static str, String)>,
    /// With `TLS_CERT_FILE` in `env`: the CA that signed the provider's certificate.
    pub tls_ca: Option<Vec<u8>>,
    /// `DPOP` of provider.mjs: empty, `1` (introspection on) or `nonce`.
    pub dpop: &'static str,
}

impl Default for ProviderOptions {
    fn default() -> Self {
        Self {
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            access_token_ttl: Duration::from_secs(3600),
            issuer_host: "127.0.0.1",
            extra_claims: Value::Object(Default::default()),
            env: Vec::new(),
            tls_ca: None,
            dpop: "",
        }
    }
}

/// A running `oidc-provider`. Dropping it kills the process (and closes its stdin, on which
/// it exits by itself too).
pub struct OidcProvider {
    pub issuer: Url,
    _child: Child,
    _stdin: Option<ChildStdin>,
    stderr: Arc<Mutex<String>>,
    http: reqwest::Client,
}

/// Keeps the last lines of a child's output, for failure messages.
fn drain(stream: impl AsyncRead + Unpin + Send + 'static, keep: Arc<Mutex<String>>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut kept = keep.lock().unwrap();
            if kept.len() < 64 * 1024 {
                kept.push_str(&line);
                kept.push('\n');
            }
        }
    });
}

impl OidcProvider {
    pub async fn start(options: &ProviderOptions) -> Self {
        let mut child = Command::new("node")
            .arg(interop_dir().join("provider.mjs"))
            .current_dir(interop_dir())
            .env("PORT", "0")
            .env("CLIENT_ID", CLIENT_ID)
            .env("CLIENT_SECRET", CLIENT_SECRET)
            .env("REDIRECT_URIS", options.redirect_uris.join(","))
            .env(
                "POST_LOGOUT_REDIRECT_URIS",
                options.post_logout_redirect_uris.join(","),
            )
            .env(
                "ACCESS_TOKEN_TTL",
                options.access_token_ttl.as_secs().max(1).to_string(),
            )
            .env("ISSUER_HOST", options.issuer_host)
            .env("EXTRA_CLAIMS", options.extra_claims.to_string())
            .envs(options.env.iter().map(|(name, value)| (name, value)))
            .env("DPOP", options.dpop)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn node tests/interop/provider.mjs");
        let stderr = Arc::new(Mutex::new(String::new()));
        drain(child.stderr.take().expect("stderr"), Arc::clone(&stderr));
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let ready = tokio::time::timeout(READY_TIMEOUT, async {
            while let Some(line) = stdout.next_line().await.ok().flatten() {
                if let Some(port) = line.strip_prefix("READY ") {
                    return port.trim().parse::<u16>().ok();
                }
            }
            None
        })
        .await;
        let port = match ready {
            Ok(Some(port)) => port,
            Ok(None) => panic!(
                "provider.mjs exited before READY; stderr:\n{}",
                stderr.lock().unwrap()
            ),
            Err(_) => panic!(
                "provider.mjs not READY within {READY_TIMEOUT:?}; stderr:\n{}",
                stderr.lock().unwrap()
            ),
        };
        drain(stdout.into_inner(), Arc::new(Mutex::new(String::new())));
        let mut http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .no_proxy();
        if let Some(ca) = &options.tls_ca {
            http = http.tls_certs_merge([reqwest::Certificate::from_pem(ca).expect("CA")]);
        }
        let scheme = if options.tls_ca.is_some() {
            "https"
        } else {
            "http"
        };
        Self {
            issuer: Url::parse(&format!("{scheme}://{}:{port}", options.issuer_host))
                .expect("issuer"),
            http: http.build().expect("client"),
            _stdin: child.stdin.take(),
            _child: child,
            stderr,
        }
    }

    /// The issuer as oidc-provider writes it: no trailing slash.
    pub fn issuer(&self) -> String {
        self.issuer.as_str().trim_end_matches('/').to_owned()
    }

    pub fn origin(&self) -> String {
        self.issuer.origin().ascii_serialization()
    }

    /// Successful token-endpoint grants of this kind so far (`revocation`: successful
    /// revocation requests).
    pub async fn grants(&self, grant_type: &str) -> u64 {
        let stats: Value = self
            .http
            .get(self.issuer.join("/__test/stats").expect("url"))
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("stats json");
        stats[grant_type].as_u64().unwrap_or(0)
    }

    /// What the provider printed on stderr, for failure messages.
    pub fn log(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- oidc-provider stderr ---\n{}", self.log());
        }
    }
}
