//! Debian's headless Chromium driven over WebDriver by `fantoccini` through `chromedriver`:
//! shared by `cargo xtask pdf` and the browser tests (tests/browser.rs).

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use fantoccini::wd::WebDriverCompatibleCommand;
use serde_json::{Value, json};

/// What to install when Chromium or chromedriver is missing, in one line.
pub const INSTALL_HINT: &str = "needs `chromium` and `chromedriver` on PATH; on Debian or Ubuntu: \
                                sudo apt-get install chromium chromium-driver";

/// Chromium's flags: no sandbox (it needs user namespaces that containers and CI runners as root
/// often lack), and no talking to anything but the pages it is sent to.
const FLAGS: &str = "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
                     --disable-background-networking --disable-component-update --disable-sync";

/// chromedriver on a loopback port, with Chromium's `HOME` and `TMPDIR` (so its profiles, crash
/// reports and certificate store) in one folder. Dropping it kills and reaps chromedriver, then
/// removes the folder; close the sessions first, as a killed chromedriver leaves Chromium running.
pub struct Driver {
    child: Child,
    url: String,
    chromium: PathBuf,
    home: PathBuf,
}

impl Driver {
    /// Starts chromedriver with a fresh folder below `tmp`, or `Ok(None)` without Chromium or
    /// chromedriver on `PATH`.
    pub fn start(tmp: &Path) -> Result<Option<Driver>> {
        let chromium = which::which("chromium").or_else(|_| which::which("chromium-browser"));
        let (Ok(chromium), Ok(chromedriver)) = (chromium, which::which("chromedriver")) else {
            return Ok(None);
        };
        let home = tmp.join(format!("chromium-{}", std::process::id()));
        std::fs::create_dir_all(home.join("tmp"))
            .with_context(|| format!("creating {}", home.display()))?;
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port();
        let mut child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .env("HOME", &home)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_CACHE_HOME")
            .env("TMPDIR", home.join("tmp"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", chromedriver.display()))?;
        // It says when it listens; the thread then drains its output until it exits.
        let out = BufReader::new(child.stdout.take().expect("piped"));
        let (ready, started) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if line.contains("started successfully") {
                    let _ = ready.send(());
                }
            }
        });
        let url = format!("http://127.0.0.1:{port}");
        let driver = Driver { child, url, chromium, home };
        if started.recv_timeout(Duration::from_secs(20)).is_err() {
            bail!("chromedriver did not start within 20 s");
        }
        Ok(Some(driver))
    }

    /// A new Chromium session (in a profile of its own), which keeps its console log.
    pub async fn session(&self) -> Result<fantoccini::Client> {
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": self.chromium, "args": FLAGS.split_whitespace().collect::<Vec<_>>() },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let Value::Object(caps) = caps else { unreachable!("an object") };
        let mut builder = fantoccini::ClientBuilder::new(
            hyper_util::client::legacy::connect::HttpConnector::new(),
        );
        builder.capabilities(caps);
        let connect = tokio::time::timeout(Duration::from_secs(60), builder.connect(&self.url));
        let what = format!("starting {} through chromedriver", self.chromium.display());
        connect.await.context("no answer in 60 s").context(what.clone())?.context(what)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

/// `POST /session/{id}/{path}` with a JSON body: chromedriver's commands that fantoccini has no
/// method for, `se/log` (the console) and `goog/cdp/execute` (DevTools, see [`cdp`]).
#[derive(Debug)]
pub struct SessionCommand(pub &'static str, pub Value);

/// A Chrome DevTools Protocol command.
pub fn cdp(cmd: &str, params: Value) -> SessionCommand {
    SessionCommand("goog/cdp/execute", json!({ "cmd": cmd, "params": params }))
}

impl WebDriverCompatibleCommand for SessionCommand {
    fn endpoint(&self, base: &url::Url, id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/{}", id.unwrap_or("none"), self.0))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.1.to_string()))
    }
}
