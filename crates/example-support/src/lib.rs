//! Shared by the example programs, so that each example's `main.rs` can tell its one story.
//!
//! * [`main`] runs an example body and turns an error into one clear line on stderr and exit
//!   code 1, never a panic backtrace: `fork: error: fork(): EAGAIN: Resource temporarily unavailable`.
//! * [`Hygiene`] records the open file descriptors at the start and, at the end, checks that the
//!   example left no child process (zombie or alive) and no descriptor behind.
//! * [`child`] (Linux only) forks a child that runs one closure, and reaps it exactly once.

use std::fs;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

#[cfg(target_os = "linux")]
pub mod child;
#[cfg(target_os = "linux")]
pub mod fd;

/// Run an example's body. `Ok` exits 0; an error prints `NAME: error: CAUSE: CAUSE…` on one line
/// and exits 1.
pub fn main(name: &str, body: impl FnOnce() -> Result<()>) -> ExitCode {
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{name}: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Number of file descriptors this process has open right now (not counting the one used to
/// read the list).
pub fn open_fds() -> Result<usize> {
    let entries = fs::read_dir("/proc/self/fd").context("reading /proc/self/fd")?;
    // read_dir holds one descriptor of its own while it lists the directory.
    Ok(entries.count().saturating_sub(1))
}

/// Pids of this process's children that still exist, running or zombie, from every thread's
/// `/proc/self/task/<tid>/children` (a child belongs to the thread that created it).
pub fn live_children() -> Result<Vec<u32>> {
    let mut pids = Vec::new();
    for task in fs::read_dir("/proc/self/task").context("reading /proc/self/task")? {
        let children = task?.path().join("children");
        let text = match fs::read_to_string(&children) {
            Ok(text) => text,
            // A thread that was just joined can disappear between the listing and the read.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("reading {}", children.display())),
        };
        pids.extend(
            text.split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok()),
        );
    }
    Ok(pids)
}

/// Checks that an example cleans up after itself: create it first thing in `main`, call
/// [`Hygiene::check`] last.
pub struct Hygiene {
    fds_at_start: usize,
}

impl Hygiene {
    pub fn start() -> Result<Self> {
        Ok(Hygiene {
            fds_at_start: open_fds()?,
        })
    }

    /// Fails unless every child was reaped and every descriptor opened since [`Hygiene::start`]
    /// was closed. Prints one line saying so.
    pub fn check(self) -> Result<()> {
        self.verify()?;
        println!("Clean exit: no child process left, no file descriptor leaked.");
        Ok(())
    }

    /// The same checks as [`Hygiene::check`] without its line on stdout, for programs whose
    /// stdout must hold nothing but a machine-readable report.
    pub fn verify(self) -> Result<()> {
        let children = live_children()?;
        if !children.is_empty() {
            bail!("children left behind (not reaped): {children:?}");
        }
        // The count itself depends on what the caller passed down (a terminal, cargo's
        // jobserver), so only its comparison with the start matters.
        let fds = open_fds()?;
        if fds != self.fds_at_start {
            bail!(
                "file descriptors leaked: {} open at start, {fds} at the end",
                self.fds_at_start
            );
        }
        Ok(())
    }
}
