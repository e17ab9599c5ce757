//! What `cargo xtask` runs (the alias in `.cargo/config.toml`). The README's test command,
//! `cargo xtask test`, needs none of xtask's dependencies (mdBook, tokio, a WebDriver client),
//! so it runs from this small crate: the test build then compiles those dependencies once, for
//! the whole workspace, with the features every member asks for. Every other command is handed
//! to the xtask package with `cargo run`.

use std::path::PathBuf;

pub mod test;

// The one rule for "under CI", shared by source with test-support (this crate has no
// dependencies).
#[path = "../../../crates/test-support/src/ci.rs"]
mod ci;
pub use ci::in_ci;

/// The repository root: this crate sits in `xtask/entry/`.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("xtask/entry sits two levels below the repository root")
        .to_owned()
}
