//! A solution of the exercise `crash`: each job runs in a child process, so a crash ends
//! only that child, and the server reads from `waitpid` how it ended.

use std::io::{self, Write as _};
use std::process::ExitCode;

use anyhow::{Context, Result};
use nix::sys::prctl::set_dumpable;
use nix::sys::resource::{Resource, setrlimit};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork};

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
    let mut workers = Vec::new();
    for job in JOBS {
        io::stdout().flush()?;
        // SAFETY: one thread, so the child is a consistent copy that may print.
        match unsafe { fork() }.context("fork")? {
            ForkResult::Child => {
                println!("job {job}: {}", square(job));
                std::process::exit(0);
            }
            ForkResult::Parent { child } => workers.push((job, child)),
        }
    }
    // New: the server only learns how each worker ended.
    for (job, child) in workers {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, 0)) => {}
            Ok(WaitStatus::Signaled(_, signal, _)) => {
                println!(
                    "job {job}: the worker died of {signal:?}; the server goes on"
                );
            }
            other => println!("job {job}: the worker ended with {other:?}"),
        }
    }
    println!("the server handled every job");
    Ok(())
}
// ANCHOR_END: run

/// A job with a bug: on input it cannot parse, it aborts the process, as a failed
/// `assert` in a C library would.
fn square(job: &str) -> u64 {
    let Ok(n) = job.parse::<u64>() else {
        std::process::abort()
    };
    n * n
}
