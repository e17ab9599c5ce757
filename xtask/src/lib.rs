//! Builds the book in-process with `mdbook-driver` and its two preprocessors (`mdbook-mermaid`
//! and this crate's questions), so neither the `mdbook` CLI nor any plugin has to be installed.
//! The stock `mdbook build` (with `mdbook-mermaid` on PATH) builds the same `book.toml`, running
//! the questions through `cargo xtask questions-preprocessor`. The Pages workflow builds with
//! `cargo xtask build`, the code path the tests exercise, and adds the PDF and the tarball.

pub mod build;
pub mod chromium;
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
