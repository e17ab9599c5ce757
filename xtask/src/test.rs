//! `cargo xtask test`: the README's test command.
//!
//! 1. `cargo fmt --all --check`: stops here if a file is not formatted.
//! 2. `cargo test --workspace --all-targets --no-fail-fast` (no doctests: the workspace has
//!    none, and each crate's empty doctest run cost half a second), with Clippy's driver
//!    compiling the workspace's own crates (`build.rustc-workspace-wrapper`, as `cargo clippy` does it), so one build
//!    both lints every target (`-D warnings`) and produces the test binaries. A separate
//!    `cargo clippy` would compile every dependency a second time, in check mode.
//! 3. Lists every test that skipped itself because something it needs is missing on this
//!    machine (a browser, `strace`, root for the tests that switch to user `nobody`). Each skip
//!    is also printed where it happens, past the test harness's output capture; under CI a skip
//!    fails its test instead (see `test_support::skipped`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

// The one rule for "under CI", shared by source with test-support (which xtask does not build
// for `cargo book`).
#[path = "../../crates/test-support/src/ci.rs"]
mod ci;

/// Runs the whole suite from the repository root `root`: an error if formatting is off or a
/// tool is missing under CI, `Ok(false)` if a lint or a test failed.
pub fn run(root: &Path) -> Result<bool> {
    let log = crate::target_dir(root).join("skipped-tests.txt");
    // Skips are appended by the tests of this run only.
    let _ = std::fs::remove_file(&log);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let sysroot = sysroot(root);
    let mut skipped = Vec::new();
    // A tool of the toolchain (rustup's `component`), or a loud skip of `what` (under CI, an
    // error).
    let mut tool = |name: &str, component: &str, what: &str| -> Result<Option<PathBuf>> {
        let path = sysroot.as_ref().map(|s| s.join("bin").join(name));
        let path = path.filter(|p| p.is_file());
        if path.is_none() {
            let why = format!(
                "{what}: {name} not found in the toolchain (rustup component add {component})"
            );
            if ci::in_ci() {
                bail!("{why}");
            }
            eprintln!("*** SKIPPED {why}");
            skipped.push(why);
        }
        Ok(path)
    };
    if tool("rustfmt", "rustfmt", "formatting was not checked")?.is_some() {
        let mut fmt = Command::new(&cargo);
        fmt.args(["fmt", "--all", "--check"]).current_dir(root);
        ensure!(
            fmt.status().context("running cargo fmt")?.success(),
            "some files are not formatted (the diff is above); run `cargo fmt --all`"
        );
    }
    let mut test = Command::new(&cargo);
    test.args(["test", "--workspace", "--all-targets", "--no-fail-fast"])
        .current_dir(root);
    if let Some(driver) = tool("clippy-driver", "clippy", "the code was not linted")? {
        let mut wrapper = OsString::from("build.rustc-workspace-wrapper='");
        wrapper.push(driver.as_os_str());
        wrapper.push("'");
        // cargo-clippy's way of passing its arguments to the driver.
        test.arg("--config")
            .arg(wrapper)
            .env("CLIPPY_ARGS", "-Dwarnings__CLIPPY_HACKERY__");
    }
    let passed = test.status().context("running cargo test")?.success();

    let log = std::fs::read_to_string(&log).unwrap_or_default();
    skipped.extend(log.lines().filter(|l| !l.is_empty()).map(str::to_owned));
    match skipped.len() {
        0 => println!("\nNo test was skipped."),
        n => println!("\n{n} tests were skipped (they checked nothing):"),
    }
    for line in &skipped {
        println!("  {line}");
    }
    Ok(passed)
}

/// The sysroot of the toolchain that builds the workspace, where `rustfmt` and
/// `clippy-driver` are when the toolchain has them.
fn sysroot(root: &Path) -> Option<PathBuf> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    // From the root, so that rustup picks the toolchain rust-toolchain.toml pins.
    let out = Command::new(rustc)
        .args(["--print", "sysroot"])
        .current_dir(root)
        .output()
        .ok()?;
    let sysroot = String::from_utf8(out.stdout).ok()?;
    Some(PathBuf::from(sysroot.trim()))
}
