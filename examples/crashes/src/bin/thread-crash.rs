//! A thread crashes: its whole process dies. A forked child starts a worker thread that
//! writes to an invalid address while the child's main thread waits for it in `join`;
//! the parent watches from outside and reads from `waitpid` how the child ended.

use std::process::ExitCode;
use std::thread;

use anyhow::{Context, Result, bail};
use crashes::{Crash, NULL, crash};
use example_support::child::in_child;
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork, getpid, gettid};

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run() -> Result<()> {
    println!("A thread crashes: its whole process dies.");
    // ANCHOR: thread-segfault-report
    // SAFETY: the process is single-threaded, so the child may run any code, threads
    // included.
    let child = match unsafe { fork() }.context("fork()")? {
        ForkResult::Child => in_child("thread-crash", "child", main_thread),
        ForkResult::Parent { child } => child,
    };
    let status = waitpid(child, None).context("waitpid()")?;
    // ANCHOR_END: thread-segfault-report
    if status == WaitStatus::Exited(child, 1) {
        std::process::exit(1); // the child could not start its worker, and said why
    }
    let WaitStatus::Signaled(pid, Signal::SIGSEGV, false) = status else {
        bail!("expected the child to be killed by SIGSEGV, no core dump: {status:?}");
    };
    let me = getpid();
    println!("parent pid {me}: child pid {pid} was killed by SIGSEGV, no core dump");
    println!("The fault in one thread ended every thread of the child.");
    Ok(())
}

/// The child's main thread: starts a worker that crashes, and waits for it.
fn main_thread() -> Result<()> {
    println!(
        "main thread   pid {}: starting a worker and waiting for it",
        getpid()
    );
    // ANCHOR: thread-segfault
    let worker = thread::Builder::new()
        .spawn(|| {
            println!(
                "worker thread tid {}: writing to address {NULL:p}",
                gettid()
            );
            crash(Crash::Segfault)
        })
        .context("spawning a thread")?;
    let _ = worker.join(); // the main thread is alive, waiting right here
    println!("main thread: join() returned, I am still alive"); // never printed
    // ANCHOR_END: thread-segfault
    Ok(())
}
