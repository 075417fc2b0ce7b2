//! Headless Chromium driven through chromedriver: one driver and one fresh profile per
//! browser, both gone when it is dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Map, Value};
use tokio::process::{Child, Command};
use tokio::sync::{Semaphore, SemaphorePermit};
use url::Url;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long a page may take to reach the state a test waits for.
const WAIT: Duration = Duration::from_secs(15);
/// Browsers open at once: Chromium is heavy and the machine may have two cores.
const AT_ONCE: usize = 2;

/// Why the browser tests cannot run here, if they cannot.
pub fn missing_prerequisite() -> Option<String> {
    for path in [CHROMIUM, CHROMEDRIVER] {
        if !Path::new(path).is_file() {
            return Some(format!(
                "{path} is missing; install Debian's `chromium` and `chromium-driver`"
            ));
        }
    }
    None
}

fn browsers() -> &'static Semaphore {
    static BROWSERS: OnceLock<Semaphore> = OnceLock::new();
    BROWSERS.get_or_init(|| Semaphore::new(AT_ONCE))
}

/// A port nothing listens on, below Linux's ephemeral range (32768 and up) so that no
/// outgoing connection or `:0` listener takes it between now and its use.
pub fn free_port() -> u16 {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let base = 20_000 + (std::process::id() as usize * 97) % 10_000;
    for _ in 0..2_000 {
        let offset = NEXT.fetch_add(7, Ordering::Relaxed) % 12_000;
        let port = u16::try_from(20_000 + (base - 20_000 + offset) % 12_000).expect("port");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between 20000 and 32000");
}

/// What a browser is started with beyond the defaults.
#[derive(Default)]
pub struct BrowserOptions {
    /// Origins (`http://host:port`) whose cookies the browser refuses.
    pub refuse_cookies_from: Vec<String>,
}

/// A Chromium session. Dropping it ends the session's processes and deletes its profile.
pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: PathBuf,
    _permit: SemaphorePermit<'static>,
}

impl Browser {
    pub async fn start(options: BrowserOptions) -> Self {
        let permit = browsers().acquire().await.expect("semaphore");
        static PROFILES: AtomicUsize = AtomicUsize::new(0);
        let profile = std::env::temp_dir().join(format!(
            "tower-oidc-chromium-{}-{}",
            std::process::id(),
            PROFILES.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).expect("profile dir");
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chromedriver");
        let webdriver = format!("http://127.0.0.1:{port}");
        let mut builder = ClientBuilder::rustls().expect("rustls connector");
        builder.capabilities(capabilities(&profile, &options));
        let started = Instant::now();
        let client = loop {
            match builder.connect(&webdriver).await {
                Ok(client) => break client,
                Err(err) if started.elapsed() < WAIT => {
                    let _ = err;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => panic!("chromedriver at {webdriver}: {err}"),
            }
        };
        Self {
            client,
            driver,
            profile,
            _permit: permit,
        }
    }

    pub async fn goto(&self, url: &Url) {
        self.client
            .goto(url.as_str())
            .await
            .unwrap_or_else(|err| panic!("open {url}: {err}"));
    }

    pub async fn url(&self) -> Url {
        self.client.current_url().await.expect("current url")
    }

    /// The text of the page's body, as a user reads it; empty while a page loads.
    pub async fn text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    pub async fn title(&self) -> String {
        self.client.title().await.expect("title")
    }

    /// Waits until `ready` holds for the current URL and page text; the last of both if
    /// it does not within [`WAIT`].
    pub async fn wait_until(
        &self,
        what: &str,
        ready: impl Fn(&Url, &str) -> bool,
    ) -> (Url, String) {
        let started = Instant::now();
        loop {
            let url = self.url().await;
            let text = self.text().await;
            if ready(&url, &text) {
                return (url, text);
            }
            if started.elapsed() > WAIT {
                panic!("waited {WAIT:?} for {what}; at {url}:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `script` (a function body; `arguments[0]` is the callback) and waits for its
    /// answer.
    pub async fn run_async(&self, script: &str) -> Value {
        self.client
            .execute_async(script, Vec::new())
            .await
            .unwrap_or_else(|err| panic!("script failed: {err}\n{script}"))
    }

    /// Cookies the browser holds for the current page.
    pub async fn cookies(&self) -> Vec<(String, String)> {
        self.client
            .get_all_cookies()
            .await
            .expect("cookies")
            .into_iter()
            .map(|cookie| (cookie.name().to_owned(), cookie.value().to_owned()))
            .collect()
    }

    /// Saves a PNG of the viewport as `target/browser-screenshots/{name}.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Saves screenshots of the page as a desktop and as a phone shows it.
    pub async fn screenshots(&self, name: &str) {
        self.client
            .set_window_size(1024, 768)
            .await
            .expect("resize");
        self.screenshot(&format!("{name}-desktop")).await;
        self.client.set_window_size(390, 760).await.expect("resize");
        self.screenshot(&format!("{name}-phone")).await;
        self.client
            .set_window_size(1024, 768)
            .await
            .expect("resize");
    }
}

impl Browser {
    /// Ends the session: Chromium quits, then its driver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver quits the browsers it started when it gets SIGTERM; SIGKILL would
        // leave them running.
        if let Some(pid) = self.driver.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(2) {
                if matches!(self.driver.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.driver.start_kill();
        // A driver stopped while a test fails leaves its Chromium running: end the
        // processes started with this browser's own profile directory.
        kill_processes_using(&self.profile);
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Sends SIGKILL to every process whose command line names `profile` as its user data
/// directory: the Chromium processes of one [`Browser`], and nothing else.
fn kill_processes_using(profile: &Path) {
    let marker = format!("--user-data-dir={}", profile.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if cmdline
            .split(|&b| b == 0)
            .any(|arg| arg == marker.as_bytes())
        {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", pid])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// `target/browser-screenshots`, next to the test binary's own target directory.
pub fn screenshot_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/browser-<hash>
    let target = exe
        .ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("browser-screenshots")
}

fn capabilities(profile: &Path, options: &BrowserOptions) -> Map<String, Value> {
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--no-proxy-server",
        "--password-store=basic",
        "--window-size=1024,768",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect::<Vec<_>>();
    let mut blocked = Map::new();
    for origin in &options.refuse_cookies_from {
        blocked.insert(format!("{origin},*"), json!({ "setting": 2 }));
    }
    let prefs = json!({
        "profile": { "content_settings": { "exceptions": { "cookies": blocked } } },
    });
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": args,
            "prefs": prefs,
        },
    });
    match capabilities {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}
