//! What the supervisor programs share: the worker they run (this same program, started
//! again with `--worker`), a wait with a time limit, and a guard that never leaves a
//! worker behind.
//!
//! * `cargo run -p supervisor`: wait for a worker with a timeout, kill it when it
//!   overruns.
//! * `cargo run -p supervisor --bin restart`: restart a worker that crashes while the
//!   others carry on.
//! * `cargo run -p supervisor --bin stop-threads`: a thread can only be asked to stop.

use std::io::{BufRead, Write};
use std::ops::{Deref, DerefMut};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::sys::prctl::set_dumpable;
use nix::sys::resource::{Resource, setrlimit};

// ANCHOR: worker
/// The worker: reads one job per line from stdin and answers each on stdout with its
/// square, until stdin ends. The job `crash` stands for any bug that kills a process.
pub fn worker() -> Result<()> {
    let mut out = std::io::stdout();
    for job in std::io::stdin().lock().lines() {
        let job = job.context("reading a job")?;
        if job == "crash" {
            crash();
        }
        let n: u64 = job.parse().with_context(|| format!("a job {job:?}"))?;
        writeln!(out, "{}", n * n).context("answering")?;
    }
    Ok(())
}

/// Ends this process with SIGABRT, as a failed assertion in C does.
fn crash() -> ! {
    // No core dump: a core size limit of 0 and a non-dumpable process write none.
    if setrlimit(Resource::RLIMIT_CORE, 0, 0).is_ok() && set_dumpable(false).is_ok() {
        std::process::abort();
    }
    std::process::exit(70) // better not to crash than to leave a core file behind
}
// ANCHOR_END: worker

// ANCHOR: start
/// Starts this same program as a worker, its stdin and stdout pipes to us.
pub fn start_worker() -> Result<Worker> {
    let program = std::env::current_exe().context("finding our own program")?;
    let child = Command::new(program)
        .arg("--worker")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("spawning a worker")?;
    Ok(Worker(child))
}
// ANCHOR_END: start

// ANCHOR: wait-timeout
/// Waits for `child` to end, at most `limit`. std has no wait with a timeout: ask
/// `try_wait` (waitpid with WNOHANG) again and again, sleeping a little in between.
pub fn wait_timeout(child: &mut Child, limit: Duration) -> Result<Option<ExitStatus>> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().context("waitpid")? {
            return Ok(Some(status));
        }
        if start.elapsed() >= limit {
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(10));
    }
}
// ANCHOR_END: wait-timeout

// ANCHOR: guard
/// A started worker. Dropping a `std::process::Child` neither kills nor reaps the
/// process, so a worker still running when an error ends the supervisor is killed and
/// reaped here.
pub struct Worker(pub Child);

impl Drop for Worker {
    fn drop(&mut self) {
        // Both do nothing once the worker has been reaped.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
// ANCHOR_END: guard

impl Deref for Worker {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl DerefMut for Worker {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}
