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

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

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
    for entry in walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(visible)
    {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        if entry.file_type().is_file() {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}
