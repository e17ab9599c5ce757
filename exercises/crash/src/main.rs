//! Exercise `crash` (the task is in README.md; `cargo exercises crash` checks it).
//!
//! A server handles four jobs, each in a thread of its own. One job crashes.

use std::process::ExitCode;
use std::thread;

use anyhow::{Context, Result};
use nix::sys::prctl::set_dumpable;
use nix::sys::resource::{Resource, setrlimit};

fn main() -> ExitCode {
    example_support::main!(|| {
        // The crash is on purpose: it leaves no core dump (forked children inherit both).
        setrlimit(Resource::RLIMIT_CORE, 0, 0).context("setrlimit")?;
        set_dumpable(false).context("prctl")?;
        run()
    })
}

const JOBS: [&str; 4] = ["7", "12", "oops", "5"];

// ANCHOR: run
fn run() -> Result<()> {
    thread::scope(|s| {
        for job in JOBS {
            s.spawn(move || println!("job {job}: {}", square(job)));
        }
    });
    println!("the server handled every job");
    Ok(())
}
// ANCHOR_END: run

// ANCHOR: square
/// A job with a bug: on input it cannot parse, it aborts the process, as a failed
/// `assert` in a C library would.
fn square(job: &str) -> u64 {
    let Ok(n) = job.parse::<u64>() else {
        std::process::abort()
    };
    n * n
}
// ANCHOR_END: square
