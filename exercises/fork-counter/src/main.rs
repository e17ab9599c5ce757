//! Exercise `fork-counter` (the task is in README.md; `cargo exercises fork-counter` checks
//! it).
//!
//! Three child processes each count one visit; the parent reports the total.

use std::io::{self, Write as _};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::{Context, Result};
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, fork};

fn main() -> ExitCode {
    example_support::main!(run)
}

// ANCHOR: run
fn run() -> Result<()> {
    let visits = Mutex::new(0);
    let mut children = Vec::new();
    for _ in 0..3 {
        io::stdout().flush()?;
        // SAFETY: one thread, so the child is a consistent copy of this process.
        match unsafe { fork() }.context("fork")? {
            ForkResult::Child => {
                *visits.lock().unwrap() += 1;
                println!("visit from pid {}", std::process::id());
                std::process::exit(0);
            }
            ForkResult::Parent { child } => children.push(child),
        }
    }
    for child in children {
        waitpid(child, None).context("waitpid")?;
    }
    println!("visits: {}", visits.lock().unwrap());
    Ok(())
}
// ANCHOR_END: run
