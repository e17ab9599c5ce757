//! `cargo xtask pdf`: the book's print page (`print.html`, every chapter on one page) printed to
//! `book/processes-vs-threads.pdf` by headless Chromium (DevTools' `Page.printToPDF`): light
//! theme, the diagrams as vector graphics with real text, each chapter's answers opened in the
//! section before its `## Run it` (xtask/src/build.rs), one bookmark per heading, page numbers in
//! the footer. Wrapping code, figures kept whole and headings kept with what follows are
//! theme/book.css's print rules.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use fantoccini::Client;
use serde_json::json;

use crate::chromium::{self, cdp};

/// The PDF's file name, in the built book's folder.
pub const FILE_NAME: &str = "processes-vs-threads.pdf";

/// The footer, "page / pages": Chromium's templates need a font size of their own (default 0).
const FOOTER: &str = r#"<div style="font-size: 10px; width: 100%; text-align: center; color: #444;"><span class="pageNumber"></span> / <span class="totalPages"></span></div>"#;

/// Opens `url` (normally the book's `print.html`) in `client`, and returns it printed. The
/// session's later pages, too, open light and cannot print themselves.
pub async fn print(client: &Client, url: &str) -> Result<Vec<u8>> {
    // The printed book is light, whatever theme the reader chose. print.html prints itself once
    // loaded, which makes headless Chromium refuse the print job it is then sent.
    let light = "localStorage.setItem('mdbook-theme', 'light'); window.print = () => {};";
    let script = json!({ "source": light });
    client.issue_cmd(cdp("Page.addScriptToEvaluateOnNewDocument", script)).await?;
    client.issue_cmd(cdp("Emulation.clearDeviceMetricsOverride", json!({}))).await?;
    client.goto(url).await.with_context(|| format!("opening {url}"))?;
    let fonts = "return document.fonts.ready.then(() => true)";
    client.execute(fonts, vec![]).await.context("waiting for the fonts")?;
    let pdf = client
        .issue_cmd(cdp(
            "Page.printToPDF",
            json!({
                "printBackground": true, "paperWidth": 8.27, "paperHeight": 11.69,
                "marginTop": 0.6, "marginBottom": 0.7, "marginLeft": 0.6, "marginRight": 0.6,
                "displayHeaderFooter": true, "headerTemplate": "<span></span>",
                "footerTemplate": FOOTER, "generateTaggedPDF": true, "generateDocumentOutline": true,
            }),
        ))
        .await
        .context("Page.printToPDF")?;
    let data = pdf["data"].as_str().context("Page.printToPDF returned no data")?;
    base64::engine::general_purpose::STANDARD.decode(data).context("decoding the PDF")
}

/// `cargo xtask pdf`: builds the book into `dir`, prints it to `dir/processes-vs-threads.pdf`,
/// returns that path. `tmp` holds Chromium's profile meanwhile.
pub fn run(root: &Path, dir: &Path, tmp: &Path) -> Result<PathBuf> {
    let Some(driver) = chromium::Driver::start(tmp)? else {
        bail!("printing the PDF {}", chromium::INSTALL_HINT);
    };
    crate::build::build(root, dir, false)?.fail_on_warnings()?;
    let dir = dir.canonicalize().with_context(|| format!("finding {}", dir.display()))?;
    let url = url::Url::from_file_path(dir.join("print.html")).expect("an absolute path");
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let bytes = rt.block_on(async {
        let client = driver.session().await?;
        let pdf = print(&client, url.as_str()).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
        pdf
    })?;
    let out = dir.join(FILE_NAME);
    std::fs::write(&out, bytes).with_context(|| format!("writing {}", out.display()))?;
    Ok(out)
}
