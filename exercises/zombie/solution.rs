//! A solution of the exercise `zombie`: the parent waits for each child it forked.

use std::io::{self, Write as _};
use std::process::ExitCode;

use anyhow::{Context, Result};
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, fork};

fn main() -> ExitCode {
    example_support::main!(run)
}

// ANCHOR: run
fn run() -> Result<()> {
    let mut children = Vec::new();
    for job in 1..=3 {
        io::stdout().flush()?;
        // SAFETY: one thread, so the child is a consistent copy that may print.
        match unsafe { fork() }.context("fork")? {
            ForkResult::Child => {
                println!("job {job}: {job} squared is {}", job * job);
                std::process::exit(0);
            }
            ForkResult::Parent { child } => {
                println!("started job {job} in child {child}");
                children.push(child);
            }
        }
    }
    // New: collect each child's exit status; the kernel then frees its pid. Every
    // child is waited for before an error can end `run`.
    let statuses: Vec<_> = children.iter().map(|&c| waitpid(c, None)).collect();
    for (child, status) in children.iter().zip(statuses) {
        println!("reaped child {child}: {:?}", status.context("waitpid")?);
    }
    Ok(())
}
// ANCHOR_END: run
