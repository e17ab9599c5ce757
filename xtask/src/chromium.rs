//! Debian's headless Chromium, driven over WebDriver by `fantoccini` through `chromedriver`:
//! shared by `cargo xtask pdf` and the browser tests (tests/browser.rs).

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use serde_json::{Value, json};

/// What to install when Chromium or chromedriver is missing, in one line.
pub const INSTALL_HINT: &str = "needs `chromium` and `chromedriver` on PATH; on Debian or Ubuntu: \
                                sudo apt-get install chromium chromium-driver";

/// Chromium's flags. The sandbox needs user namespaces that containers and CI runners as root
/// often lack; the rest keep Chromium from talking to anything but the pages it is sent to.
pub const FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
];

/// Chromium and chromedriver from `PATH`, or `None`.
pub fn find() -> Option<(PathBuf, PathBuf)> {
    let chromium = ["chromium", "chromium-browser"]
        .iter()
        .find_map(|name| on_path(name))?;
    let chromedriver = on_path("chromedriver")?;
    Some((chromium, chromedriver))
}

/// The first executable called `name` in a folder of `PATH`.
pub fn on_path(name: &str) -> Option<PathBuf> {
    which::which(name).ok()
}

/// A chromedriver process on a free loopback port, and the folder that holds Chromium's profile,
/// home and TMPDIR. Dropping it kills and reaps chromedriver, then removes the folder.
pub struct Driver {
    child: Child,
    /// chromedriver's URL.
    pub url: String,
    /// Chromium's profile folder (removed on drop).
    pub profile: PathBuf,
}

impl Driver {
    /// Starts `chromedriver` with a fresh profile folder below `tmp_root`.
    pub fn start(chromedriver: &Path, tmp_root: &Path) -> anyhow::Result<Driver> {
        use anyhow::Context as _;
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let profile = tmp_root.join(format!("chromium-{}-{n}", std::process::id()));
        let tmp = profile.join("tmp");
        std::fs::create_dir_all(&tmp)
            .with_context(|| format!("creating Chromium's profile folder {}", tmp.display()))?;
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .context("finding a free loopback port")?;
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            // Chromium keeps crash reports and its certificate store under $HOME: keep them in
            // the temporary folder too, so a run leaves nothing in the user's home.
            .env("HOME", &profile)
            .env("XDG_CONFIG_HOME", profile.join(".config"))
            .env("XDG_CACHE_HOME", profile.join(".cache"))
            // Chromium's scoped temporary folders, too.
            .env("TMPDIR", &tmp)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", chromedriver.display()))?;
        let mut driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            profile,
        };
        let start = Instant::now();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = driver.child.try_wait() {
                anyhow::bail!("chromedriver exited at start ({status})");
            }
            if start.elapsed() > Duration::from_secs(20) {
                anyhow::bail!("chromedriver did not listen on port {port} within 20 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(driver)
    }

    /// WebDriver capabilities for `chromium` with a profile of its own under this driver's
    /// folder (two sessions sharing one would share one browser); `logging` asks chromedriver
    /// to keep the console and the DevTools network events.
    pub fn capabilities(&self, chromium: &Path, logging: bool) -> Capabilities {
        static SESSION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = SESSION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut args: Vec<String> = FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!(
            "--user-data-dir={}",
            self.profile.join(format!("chromium-{n}")).display()
        ));
        let mut caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": args,
            },
            "timeouts": { "pageLoad": 30_000, "script": 30_000, "implicit": 0 },
        });
        if logging {
            caps["goog:chromeOptions"]["perfLoggingPrefs"] =
                json!({ "enableNetwork": true, "enablePage": false });
            caps["goog:loggingPrefs"] = json!({ "browser": "ALL", "performance": "ALL" });
        }
        match caps {
            Value::Object(map) => map,
            _ => unreachable!("an object"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Chromium may still be flushing its profile for a moment after chromedriver is gone.
        for _ in 0..20 {
            if std::fs::remove_dir_all(&self.profile).is_ok() || !self.profile.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// `POST /session/{id}/{path}` with a JSON body: chromedriver's own commands that fantoccini has
/// no method for (the logs, DevTools commands).
#[derive(Debug)]
pub struct SessionCommand {
    path: &'static str,
    body: Value,
}

impl SessionCommand {
    pub fn new(path: &'static str, body: Value) -> SessionCommand {
        SessionCommand { path, body }
    }

    /// A Chrome DevTools Protocol command (`goog/cdp/execute`).
    pub fn cdp(cmd: &str, params: Value) -> SessionCommand {
        SessionCommand::new("goog/cdp/execute", json!({ "cmd": cmd, "params": params }))
    }
}

impl WebDriverCompatibleCommand for SessionCommand {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/{}",
            session.unwrap_or("none"),
            self.path
        ))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// Connects a WebDriver session to `driver`, starting `chromium`.
pub async fn connect(
    driver: &Driver,
    chromium: &Path,
    logging: bool,
) -> anyhow::Result<fantoccini::Client> {
    let mut builder =
        fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
    builder.capabilities(driver.capabilities(chromium, logging));
    match tokio::time::timeout(Duration::from_secs(60), builder.connect(&driver.url)).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => anyhow::bail!("chromedriver could not start {}: {e}", chromium.display()),
        Err(_) => anyhow::bail!(
            "chromedriver did not start {} within 60 s",
            chromium.display()
        ),
    }
}
