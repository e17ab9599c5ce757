//! `cargo xtask pdf`: the book's print page (`print.html`, every chapter on one page) printed to
//! `book/processes-vs-threads.pdf` by headless Chromium, through chromedriver and the DevTools
//! command `Page.printToPDF`: light theme (the diagrams are vector graphics, their labels real
//! text), each chapter's answers at its end (xtask/src/build.rs), one bookmark per heading (the
//! document outline), page numbers in the footer. Code blocks wrap, indented, instead of
//! running off the page; figures and headings are not split from what belongs to them (the
//! print rules in theme/book.css).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use fantoccini::Client;
use serde_json::{Value, json};

use crate::chromium::{self, SessionCommand};

/// The PDF's file name, in the built book's folder.
pub const FILE_NAME: &str = "processes-vs-threads.pdf";

/// How long the print page may take to load its fonts.
const SETTLE: Duration = Duration::from_secs(60);

/// The page footer: "page / pages", centred. Chromium's header and footer templates need their
/// own font size (the default is 0).
const FOOTER: &str = r#"<div style="font-size: 10px; width: 100%; text-align: center; color: #444;"><span class="pageNumber"></span> / <span class="totalPages"></span></div>"#;

/// Prints the page at `url` (normally the book's `print.html`), already open or not, in the
/// session `client`, and returns the PDF's bytes.
pub async fn print(client: &Client, url: &str) -> Result<Vec<u8>> {
    // Readers' systems may prefer a dark scheme; the printed book is light.
    cdp(
        client,
        "Emulation.setEmulatedMedia",
        json!({ "features": [{ "name": "prefers-color-scheme", "value": "light" }] }),
    )
    .await?;
    // print.html calls window.print() once loaded; headless Chromium would then refuse a second
    // print job ("Page is already being printed"). Loaded this way, it prints only when asked.
    let script = cdp(
        client,
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": "window.print = () => {};" }),
    )
    .await?;
    let result = print_loaded(client, url).await;
    if let Some(id) = script["identifier"].as_str() {
        cdp(
            client,
            "Page.removeScriptToEvaluateOnNewDocument",
            json!({ "identifier": id }),
        )
        .await?;
    }
    result
}

async fn print_loaded(client: &Client, url: &str) -> Result<Vec<u8>> {
    client
        .goto(url)
        .await
        .with_context(|| format!("opening {url}"))?;
    // A theme the reader chose earlier is kept in localStorage: choose light, and reload.
    let light = client
        .execute(
            "const light = document.documentElement.classList.contains('light'); \
             if (!light) localStorage.setItem('mdbook-theme', 'light'); return light;",
            vec![],
        )
        .await?;
    if light != Value::Bool(true) {
        client
            .refresh()
            .await
            .context("reloading in the light theme")?;
    }
    wait_until(
        client,
        "the fonts to load in the light theme",
        "return document.fonts.status === 'loaded' && \
         document.documentElement.classList.contains('light')",
    )
    .await?;
    let pdf = cdp(
        client,
        "Page.printToPDF",
        json!({
            "printBackground": true,
            "paperWidth": 8.27,
            "paperHeight": 11.69,
            "marginTop": 0.6,
            "marginBottom": 0.7,
            "marginLeft": 0.6,
            "marginRight": 0.6,
            "displayHeaderFooter": true,
            "headerTemplate": "<span></span>",
            "footerTemplate": FOOTER,
            "generateTaggedPDF": true,
            "generateDocumentOutline": true,
        }),
    )
    .await?;
    let data = pdf["data"]
        .as_str()
        .context("Page.printToPDF returned no data")?;
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .context("decoding the PDF")
}

async fn cdp(client: &Client, cmd: &str, params: Value) -> Result<Value> {
    client
        .issue_cmd(SessionCommand::cdp(cmd, params))
        .await
        .with_context(|| format!("DevTools command {cmd}"))
}

async fn wait_until(client: &Client, what: &str, condition: &str) -> Result<()> {
    let start = Instant::now();
    loop {
        if client.execute(condition, vec![]).await? == Value::Bool(true) {
            return Ok(());
        }
        if start.elapsed() > SETTLE {
            bail!("gave up waiting for {what} after {SETTLE:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `file://` URL of `print.html` in the built book `dir`.
pub fn print_page_url(dir: &Path) -> Result<String> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("finding the built book {}", dir.display()))?;
    let mut url = url::Url::from_directory_path(&dir)
        .map_err(|()| anyhow::anyhow!("{} is not an absolute path", dir.display()))?;
    url = url.join("print.html")?;
    Ok(url.to_string())
}

/// `cargo xtask pdf`: builds the book into `dir` (unless `built` already), prints it to
/// `dir/processes-vs-threads.pdf`, returns that path. `tmp` holds Chromium's profile.
pub fn run(root: &Path, dir: &Path, tmp: &Path) -> Result<PathBuf> {
    let Some((chromium, chromedriver)) = chromium::find() else {
        bail!("printing the PDF {}", chromium::INSTALL_HINT);
    };
    let built = crate::build::build(root, dir, false)?;
    if !built.warnings.is_empty() {
        bail!("mdBook warned:\n{}", built.warnings.join("\n"));
    }
    let url = print_page_url(dir)?;
    let driver = chromium::Driver::start(&chromedriver, tmp)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let bytes = rt.block_on(async {
        let client = chromium::connect(&driver, &chromium, false).await?;
        let result = print(&client, &url).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
        result
    })?;
    drop(driver);
    let out = dir.join(FILE_NAME);
    std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    Ok(out)
}
