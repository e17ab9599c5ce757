//! Builds the book in-process with `mdbook-driver` and this crate's preprocessors (diagrams
//! drawn as SVG, the questions, the examples page), so neither the `mdbook` CLI nor any plugin
//! has to be installed. The stock `mdbook build` builds the same `book.toml`, running the
//! preprocessors through `cargo xtask preprocessor NAME`. The Pages workflow builds with `cargo
//! xtask build`, the code path the tests exercise, and adds the PDF, the EPUB and the tarball.

pub mod build;
pub mod chromium;
pub mod diagrams;
pub mod epub;
pub mod examples;
pub mod pdf;
pub mod questions;
pub mod serve;
pub mod tarball;
pub mod test;

use std::path::{Component, Path, PathBuf};
use std::sync::LazyLock;

use anyhow::{Context, Result};
use regex::Regex;

/// Where the book's tools keep temporary files: `target/tmp` (under `CARGO_TARGET_DIR` if set).
pub fn tmp_dir(root: &Path) -> PathBuf {
    target_dir(root).join("tmp")
}

/// Cargo's target directory: `CARGO_TARGET_DIR` if set, else `target/` in the checkout.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// The checkout xtask was run in: the first folder holding `book.toml` and `Cargo.toml`, from
/// the current directory upward. Found at run time, not compiled in: clones that share one
/// `CARGO_TARGET_DIR` share one xtask binary, and each must build its own book.
pub fn root() -> Result<PathBuf> {
    let here = std::env::current_dir().context("reading the current directory")?;
    here.ancestors()
        .find(|d| d.join("book.toml").is_file() && d.join("Cargo.toml").is_file())
        .map(Path::to_owned)
        .with_context(|| {
            format!(
                "{} is not inside the book's repository (no book.toml and Cargo.toml above it)",
                here.display()
            )
        })
}

/// The workspace's packages and their targets (`cargo metadata --no-deps`).
pub fn workspace(root: &Path) -> Result<cargo_metadata::Metadata> {
    cargo_metadata::MetadataCommand::new()
        .current_dir(root)
        .no_deps()
        .exec()
        .context("running cargo metadata")
}

/// Every file below `dir`, sorted, leaving out hidden files and `target/` folders.
pub fn files_below(dir: &Path) -> Result<Vec<PathBuf>> {
    let visible = |e: &walkdir::DirEntry| {
        let name = e.file_name().to_string_lossy();
        e.depth() == 0 || !(name.starts_with('.') || name == "target")
    };
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name().into_iter().filter_entry(visible) {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        if entry.file_type().is_file() {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}

/// An `{{#include FILE:SELECTOR}}` (or `rustdoc_include`) of a chapter.
pub struct Include {
    /// As written in the chapter.
    pub directive: String,
    /// The file, from the chapter's folder, with `..` resolved.
    pub file: PathBuf,
    /// The anchor or line range after the `:`.
    pub selector: Option<String>,
}

/// The includes of `text`, the chapter at `page`: the one parser of the build's checks, the
/// questions and the examples page.
pub fn includes(page: &Path, text: &str) -> Vec<Include> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\{\{#(?:rustdoc_)?include\s+([^}\s]+)\s*\}\}").expect("a valid regex")
    });
    let include = |c: regex::Captures| {
        let (name, selector) = c[1].split_once(':').unzip();
        let mut file = page.parent().unwrap_or(page).to_owned();
        for part in Path::new(name.unwrap_or(&c[1])).components() {
            match part {
                Component::ParentDir => _ = file.pop(),
                part => file.push(part),
            }
        }
        let selector = selector.map(str::to_owned);
        Include { directive: c[0].to_owned(), file, selector }
    };
    RE.captures_iter(text).map(include).collect()
}
