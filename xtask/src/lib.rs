//! Builds the book in-process with `mdbook-driver` and the `mdbook-mermaid` preprocessor, so
//! neither the `mdbook` CLI nor any plugin has to be installed. The stock `mdbook build` (with
//! `mdbook-mermaid` on PATH) builds the same `book.toml`; the hosting workflow does that.

pub mod build;
pub mod serve;
pub mod test;

use std::path::PathBuf;

/// The repository root (where `book.toml` and the workspace `Cargo.toml` live).
pub fn root() -> PathBuf {
    let xtask_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask_dir
        .parent()
        .expect("xtask sits one level below the repository root")
        .to_owned()
}
