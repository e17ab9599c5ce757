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
use std::process::{Command, ExitCode};

/// Runs the whole suite from the repository root `root`; exits 0 only if formatting, lints
/// and every test passed.
pub fn run(root: &Path) -> ExitCode {
    let log = crate::target_dir(root).join("skipped-tests.txt");
    // Skips are appended by the tests of this run only.
    let _ = std::fs::remove_file(&log);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // test_support::in_ci's rule: `CI` set, and not empty, `false` or `0`.
    let under_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");

    let mut skipped_here = Vec::new();
    // A tool of the toolchain (from rustup `component`) that is not installed: a loud skip
    // of `what`, an error under CI.
    let mut missing = |tool: &str, component: &str, what: &str| -> Result<(), ExitCode> {
        if under_ci {
            eprintln!(
                "error: {tool} not found in the toolchain; run `rustup component add {component}`"
            );
            return Err(ExitCode::FAILURE);
        }
        let why =
            format!("{what}: {tool} not found in the toolchain (rustup component add {component})");
        eprintln!("*** SKIPPED {why}");
        skipped_here.push(why);
        Ok(())
    };
    let sysroot = sysroot(root);
    let tool = |name: &str| {
        let path = sysroot.as_ref()?.join("bin").join(name);
        path.is_file().then_some(path)
    };

    let fmt = match tool("rustfmt") {
        Some(_) => Command::new(&cargo)
            .args(["fmt", "--all", "--check"])
            .current_dir(root)
            .status()
            .map(Some),
        None => match missing("rustfmt", "rustfmt", "formatting was not checked") {
            Ok(()) => Ok(None),
            Err(code) => return code,
        },
    };
    match fmt {
        Ok(None) => {}
        Ok(Some(status)) if status.success() => {}
        Ok(Some(_)) => {
            eprintln!(
                "error: some files are not formatted (the diff is above); run `cargo fmt --all`"
            );
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("error: could not run cargo fmt: {e}");
            return ExitCode::FAILURE;
        }
    }

    let mut test = Command::new(&cargo);
    test.args(["test", "--workspace", "--all-targets", "--no-fail-fast"])
        .current_dir(root);
    match tool("clippy-driver") {
        Some(driver) => {
            let mut wrapper = OsString::from("build.rustc-workspace-wrapper='");
            wrapper.push(driver.as_os_str());
            wrapper.push("'");
            test.arg("--config")
                .arg(wrapper)
                // cargo-clippy's way of passing its arguments to the driver.
                .env("CLIPPY_ARGS", "-Dwarnings__CLIPPY_HACKERY__");
        }
        None => {
            if let Err(code) = missing("clippy-driver", "clippy", "the code was not linted") {
                return code;
            }
        }
    }
    let status = match test.status() {
        Ok(status) => status,
        Err(e) => {
            eprintln!("error: could not run cargo test: {e}");
            return ExitCode::FAILURE;
        }
    };

    let skips = std::fs::read_to_string(&log).unwrap_or_default();
    let skips: Vec<&str> = skipped_here
        .iter()
        .map(String::as_str)
        .chain(skips.lines().filter(|l| !l.is_empty()))
        .collect();
    if skips.is_empty() {
        println!("\nNo test was skipped.");
    } else {
        println!(
            "\n{} tests were skipped (they checked nothing):",
            skips.len()
        );
        for line in &skips {
            println!("  {line}");
        }
    }
    match status.code() {
        Some(0) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
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
