//! `cargo run -p async-tasks --bin panic`: a panic stays in its task; a fault ends the process.
//!
//! 1. One task panics. The runtime catches the panic at the task's edge, as `join` does for
//!    a thread: awaiting that task gives a `JoinError`, and the other tasks finish.
//! 2. In a child process, a task writes to address 0. The kernel sends SIGSEGV to the
//!    thread that ran it, and the signal's default action ends the whole process: runtime,
//!    threads and every task. (The same happens to a faulting thread, see the Crashes
//!    chapter.)

use std::process::ExitCode;

use anyhow::{Context, Result, ensure};
use crashes::{Crash, crash};
use example_support::child::fork_child;
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run() -> Result<()> {
    println!("1. A task panics; the others go on:");
    contained()?;
    println!("2. A task faults, in a child process:");
    // SAFETY: no runtime and no other thread exists yet in this process.
    let child = unsafe { fork_child("async-tasks", "child", faulting_task) }?;
    let pid = child.pid();
    let status = child.status()?;
    let WaitStatus::Signaled(_, signal, _) = status else {
        anyhow::bail!("expected the child to be killed by SIGSEGV, it {status:?}");
    };
    println!("  child pid {pid} was killed by {signal}");
    ensure!(
        signal == Signal::SIGSEGV,
        "the child was killed by {signal}"
    );
    println!("A panic ends one task; a fault ends the process and all its tasks.");
    Ok(())
}

// ANCHOR: contained
fn contained() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        let doomed = tokio::spawn(async { panic!("task 1 gives up") });
        let healthy = tokio::spawn(async { 6 * 7 });
        match doomed.await {
            Err(e) if e.is_panic() => {
                println!("  task 1: a JoinError, the panic caught")
            }
            other => anyhow::bail!("task 1 ended with {other:?}"),
        }
        let answer = healthy.await.context("task 2")?;
        println!("  task 2: finished with {answer}");
        ensure!(answer == 42, "task 2 computed {answer}");
        Ok(())
    })
}
// ANCHOR_END: contained

// ANCHOR: fault
fn faulting_task() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        // SIGSEGV goes to the worker thread running this task, and ends the process.
        let _ = tokio::spawn(async { crash(Crash::Segfault) }).await;
    });
    Ok(())
}
// ANCHOR_END: fault
