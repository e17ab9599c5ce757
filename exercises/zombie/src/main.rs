//! Exercise `zombie` (the task is in README.md; `cargo exercises zombie` checks it).
//!
//! The program runs three jobs, each in a child process of its own, and returns.

use std::io::{self, Write as _};
use std::process::ExitCode;

use anyhow::{Context, Result};
use nix::unistd::{ForkResult, fork};

fn main() -> ExitCode {
    example_support::main!(run)
}

// ANCHOR: run
fn run() -> Result<()> {
    for job in 1..=3 {
        // What is still in stdout's buffer would be printed by the child too.
        io::stdout().flush()?;
        // SAFETY: one thread, so the child is a consistent copy that may print.
        match unsafe { fork() }.context("fork")? {
            ForkResult::Child => {
                println!("job {job}: {job} squared is {}", job * job);
                std::process::exit(0);
            }
            ForkResult::Parent { child } => {
                println!("started job {job} in child {child}");
            }
        }
    }
    Ok(())
}
// ANCHOR_END: run
