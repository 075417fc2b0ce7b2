//! The example apps (`examples/axum_app.rs`, `examples/actix_app.rs`) as child processes,
//! configured only through their environment.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use url::Url;

/// The web framework an example app runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framework {
    Axum,
    Actix,
}

impl Framework {
    fn example(self) -> &'static str {
        match self {
            Self::Axum => "axum_app",
            Self::Actix => "actix_app",
        }
    }
}

/// The crate's features this test binary was built with: the examples are built with the
/// same, so they reuse its build of the library.
fn features() -> Vec<&'static str> {
    [
        ("axum", cfg!(feature = "axum")),
        ("actix", cfg!(feature = "actix")),
        ("testing", cfg!(feature = "testing")),
        ("redis", cfg!(feature = "redis")),
        ("sql", cfg!(feature = "sql")),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect()
}

/// Builds both example apps once per test run, in the target directory and profile of
/// this test binary; the directory holding them.
fn build_examples() -> Result<PathBuf, String> {
    static BUILT: Mutex<Option<Result<PathBuf, String>>> = Mutex::new(None);
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(result) = built.as_ref() {
        return result.clone();
    }
    let exe = std::env::current_exe().map_err(|err| err.to_string())?;
    // target/<profile>/deps/browser-<hash>
    let profile_dir = exe
        .ancestors()
        .nth(2)
        .ok_or("the test binary is not in a target directory")?;
    let target_dir = profile_dir.parent().ok_or("no target directory")?;
    let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") => "dev",
        Some(other) => other,
        None => "dev",
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "--quiet",
            "--no-default-features",
            "--profile",
            profile,
        ])
        .args(["--example", "axum_app", "--example", "actix_app"])
        .arg("--features")
        .arg(features().join(","))
        .arg("--target-dir")
        .arg(target_dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("cargo build: {err}"));
    let result = output.and_then(|output| {
        if output.status.success() {
            Ok(profile_dir.join("examples"))
        } else {
            Err(format!(
                "building the example apps failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    });
    *built = Some(result.clone());
    result
}

/// Keeps the last lines of a child's output, for failure messages.
fn drain(stream: impl AsyncRead + Unpin + Send + 'static, keep: Arc<Mutex<String>>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut kept = keep.lock().unwrap();
            if kept.len() < 256 * 1024 {
                kept.push_str(&line);
                kept.push('\n');
            }
        }
    });
}

/// A running example app; dropping it kills the process.
pub struct ExampleApp {
    pub url: Url,
    _child: Child,
    log: Arc<Mutex<String>>,
}

impl ExampleApp {
    /// Starts `framework`'s example listening on `port`, with `env` as its only settings.
    pub async fn start(framework: Framework, port: u16, env: &[(String, String)]) -> Self {
        let dir = tokio::task::spawn_blocking(build_examples)
            .await
            .expect("build task")
            .unwrap_or_else(|err| panic!("{err}"));
        let mut child = Command::new(dir.join(framework.example()))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn,tower_oidc=info")
            .env("BIND", format!("127.0.0.1:{port}"))
            .envs(env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("spawn {}: {err}", framework.example()));
        let log = Arc::new(Mutex::new(String::new()));
        drain(child.stderr.take().expect("stderr"), Arc::clone(&log));
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let listening = tokio::time::timeout(Duration::from_secs(20), async {
            while let Ok(Some(line)) = stdout.next_line().await {
                if let Some(url) = line.strip_prefix("listening on ") {
                    return Url::parse(url.trim()).ok();
                }
            }
            None
        })
        .await;
        let Ok(Some(url)) = listening else {
            panic!(
                "{} did not start; its output:\n{}",
                framework.example(),
                log.lock().unwrap()
            );
        };
        drain(stdout.into_inner(), Arc::clone(&log));
        Self {
            url,
            _child: child,
            log,
        }
    }

    pub fn at(&self, path: &str) -> Url {
        self.url.join(path).expect("url")
    }

    pub fn log(&self) -> String {
        self.log.lock().map(|log| log.clone()).unwrap_or_default()
    }
}

impl Drop for ExampleApp {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- example app output ---\n{}", self.log());
        }
    }
}
