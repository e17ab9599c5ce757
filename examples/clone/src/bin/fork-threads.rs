//! `fork` in a process with several threads: the child has exactly one thread, a copy
//! of the one that called `fork`. The others are not copied.

use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;

use anyhow::{Context, Result, anyhow, bail, ensure};
use nix::sys::stat::stat;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork, getpid, gettid};

fn main() -> ExitCode {
    example_support::main!(run)
}

// ANCHOR: count
/// How many threads this process has. /proc gives the directory /proc/PID/task a link
/// count of 2 plus one per thread, as if each thread were a subdirectory. stat(2) is
/// async-signal-safe, so a forked child may call this.
fn thread_count() -> nix::Result<u64> {
    Ok(stat(c"/proc/self/task")?.st_nlink - 2)
}
// ANCHOR_END: count

fn run() -> Result<()> {
    println!("pid {}: {} thread", getpid(), thread_count()?);
    let in_child = thread::scope(|s| -> Result<u64> {
        // Three threads that wait until the end of the scope.
        let mut stops = Vec::new();
        for _ in 0..3 {
            let (stop, stopped) = mpsc::channel::<()>();
            stops.push(stop);
            thread::Builder::new()
                .spawn_scoped(s, move || stopped.recv())
                .context("spawning a thread")?;
        }
        let forker = thread::Builder::new()
            .spawn_scoped(s, fork_and_count)
            .context("spawning a thread")?;
        forker
            .join()
            .map_err(|_| anyhow!("the forking thread panicked"))?
    })?;
    ensure!(in_child == 1, "the child had {in_child} threads");
    println!("fork copies only the calling thread: the child ran with one thread.");
    Ok(())
}

// ANCHOR: fork
fn fork_and_count() -> Result<u64> {
    let before = thread_count()?;
    println!(
        "Thread tid {} forks; this process has {before} threads",
        gettid()
    );
    // SAFETY: the child calls only stat(2) and _exit(2), both async-signal-safe:
    // another thread may have held a lock at the moment of the fork, and nobody would
    // release it in the child.
    match unsafe { fork() }.context("fork")? {
        ForkResult::Child => {
            let threads = thread_count().map_or(255, |n| n.min(254) as i32);
            // SAFETY: _exit ends the child at once, running no code of the parent's.
            unsafe { libc::_exit(threads) }
        }
        ForkResult::Parent { child } => {
            // The child reports its thread count as its exit status.
            match waitpid(child, None).context("waitpid")? {
                WaitStatus::Exited(_, threads) => {
                    println!("The child, pid {child}, counted {threads} thread");
                    Ok(threads as u64)
                }
                status => bail!("the child ended with {status:?}"),
            }
        }
    }
}
// ANCHOR_END: fork
