//! Exercise `time-limit` (the task is in README.md; `cargo exercises time-limit` checks
//! it).
//!
//! A supervisor runs three helper programs, one after the other, and reports how each
//! ended. The second never ends.

use std::process::{Command, ExitCode};

use anyhow::{Context, Result};

fn main() -> ExitCode {
    example_support::main!(run)
}

const HELPERS: [&[&str]; 3] = [&["true"], &["sleep", "infinity"], &["false"]];

// ANCHOR: run
fn run() -> Result<()> {
    for helper in HELPERS {
        let name = helper.join(" ");
        let spawned = Command::new(helper[0]).args(&helper[1..]).spawn();
        let mut child = spawned.with_context(|| name.clone())?;
        let status = child.wait().context("wait")?;
        println!("{name}: {status}");
    }
    Ok(())
}
// ANCHOR_END: run
