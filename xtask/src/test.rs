//! `cargo xtask test`: the README's test command. Runs `cargo test --workspace --no-fail-fast`
//! and then lists every test that skipped itself because something it needs is missing on this
//! machine (a browser, `strace`, root for the tests that switch to user `nobody`). Each skip is
//! also printed where it happens, past the test harness's output capture; under CI a skip fails
//! its test instead (see `test_support::skipped`).

use std::path::Path;
use std::process::{Command, ExitCode};

/// Runs the whole suite from the repository root `root`; exits as `cargo test` did.
pub fn run(root: &Path) -> ExitCode {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let log = target.join("skipped-tests.txt");
    // Skips are appended by the tests of this run only.
    let _ = std::fs::remove_file(&log);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["test", "--workspace", "--no-fail-fast"])
        .current_dir(root)
        .status();
    let status = match status {
        Ok(status) => status,
        Err(e) => {
            eprintln!("error: could not run cargo test: {e}");
            return ExitCode::FAILURE;
        }
    };
    let skips = std::fs::read_to_string(&log).unwrap_or_default();
    let skips: Vec<&str> = skips.lines().filter(|l| !l.is_empty()).collect();
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
