//! A child process crashes; its parent carries on. Two children crash for real (an
//! invalid memory write: SIGSEGV; `abort()`: SIGABRT), and the parent reads from
//! `waitpid` how each one died.

use std::process::ExitCode;

use anyhow::{Context, Result, bail, ensure};
use crashes::{Crash, NULL, crash};
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork, getpid};

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run() -> Result<()> {
    println!("A child process crashes; its parent carries on:");
    for (how, expected) in [
        (Crash::Segfault, Signal::SIGSEGV),
        (Crash::Abort, Signal::SIGABRT),
    ] {
        let status = fork_and_crash(how)?;
        let WaitStatus::Signaled(pid, signal, false) = status else {
            bail!("expected the child to be killed, no core dump: {status:?}");
        };
        ensure!(
            signal == expected,
            "expected {expected}, the child got {signal}"
        );
        let number = signal as i32;
        println!(
            "  parent pid {}: waitpid says child pid {pid} was killed by {signal} \
             (signal {number}), no core dump",
            getpid()
        );
    }
    println!("  parent pid {}: still running.", getpid());
    println!("Another process's crash reached the parent only as an exit status.");
    Ok(())
}

fn fork_and_crash(how: Crash) -> Result<WaitStatus> {
    // ANCHOR: child-segfault
    // SAFETY: the process is single-threaded, so the child may run any code; it prints
    // one line and crashes.
    match unsafe { fork() }.context("fork()")? {
        ForkResult::Child => {
            match how {
                Crash::Segfault => {
                    println!("  child  pid {}: writing to address {NULL:p}", getpid())
                }
                Crash::Abort => println!("  child  pid {}: calling abort()", getpid()),
            }
            crash(how)
        }
        ForkResult::Parent { child } => waitpid(child, None).context("waitpid()"),
    }
    // ANCHOR_END: child-segfault
}
