//! Builds the book in-process with `mdbook-driver` and this crate's two preprocessors (diagrams
//! drawn as SVG, and the questions), so neither the `mdbook` CLI nor any plugin has to be
//! installed. The stock `mdbook build` builds the same `book.toml`, running the preprocessors
//! through `cargo xtask diagrams-preprocessor` and `cargo xtask questions-preprocessor`. The Pages
//! workflow builds with `cargo xtask build`, the code path the tests exercise, and adds the PDF,
//! the EPUB and the tarball.

pub mod build;
pub mod chromium;
pub mod diagrams;
pub mod epub;
pub mod pdf;
pub mod questions;
pub mod serve;
pub mod tarball;

use std::path::PathBuf;

/// Where the book's tools keep temporary files: `target/tmp` (under `CARGO_TARGET_DIR` if set).
pub fn tmp_dir(root: &std::path::Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("tmp")
}

/// The repository root (where `book.toml` and the workspace `Cargo.toml` live).
pub fn root() -> PathBuf {
    let xtask_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask_dir
        .parent()
        .expect("xtask sits one level below the repository root")
        .to_owned()
}

/// Runs `preprocessor` as the stock `mdbook` CLI runs a preprocessor command: `supports
/// RENDERER` says yes to every renderer; otherwise the book comes as JSON on stdin and goes back
/// on stdout.
pub fn preprocess_stdio(
    preprocessor: &dyn mdbook_preprocessor::Preprocessor,
    supports: Option<&str>,
) -> anyhow::Result<()> {
    if supports.is_some() {
        return Ok(());
    }
    let (ctx, book) =
        mdbook_preprocessor::parse_input(std::io::stdin()).map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let book = preprocessor
        .run(&ctx, book)
        .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    serde_json::to_writer(std::io::stdout(), &book)?;
    Ok(())
}
