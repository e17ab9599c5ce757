//! A signal sent to a process (`kill`) is handled by one of its threads: one that does
//! not block it. With the signal blocked in every thread but one, that one handles it.

use std::ffi::c_int;
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering::SeqCst};
use std::sync::mpsc;
use std::thread;

use anyhow::{Context, Result, anyhow, ensure};
use nix::sys::signal::{
    SaFlags, SigAction, SigHandler, SigSet, Signal, kill, sigaction,
};
use nix::unistd::{getpid, gettid};

fn main() -> ExitCode {
    example_support::main!(run)
}

// ANCHOR: handler
/// The thread id of the thread that ran the handler last.
static HANDLED_BY: AtomicI32 = AtomicI32::new(0);

extern "C" fn record_thread(_signal: c_int) {
    // Only async-signal-safe work in a handler: a system call and an atomic store.
    HANDLED_BY.store(gettid().as_raw(), SeqCst);
}
// ANCHOR_END: handler

fn run() -> Result<()> {
    // ANCHOR: block
    println!(
        "Main thread, tid {}: installs a handler for SIGUSR1, blocks it",
        gettid()
    );
    let handler = SigHandler::Handler(record_thread);
    let action = SigAction::new(handler, SaFlags::empty(), SigSet::empty());
    // SAFETY: the handler is async-signal-safe (see `record_thread`).
    unsafe { sigaction(Signal::SIGUSR1, &action) }.context("sigaction")?;
    let usr1 = SigSet::from(Signal::SIGUSR1);
    usr1.thread_block().context("pthread_sigmask")?; // new threads inherit the mask
    // ANCHOR_END: block

    let receiver_tid = thread::scope(|s| -> Result<_> {
        // Each thread says when it is ready, so that they start one after the other.
        let (ready, thread_ready) = mpsc::channel();
        let mut stops = Vec::new();
        for n in 1..=2 {
            let (stop, stopped) = mpsc::channel::<()>();
            stops.push(stop);
            let ready = ready.clone();
            thread::Builder::new()
                .spawn_scoped(s, move || {
                    println!("Thread {n}, tid {}: keeps SIGUSR1 blocked", gettid());
                    let _ = ready.send(());
                    let _ = stopped.recv();
                })
                .context("spawning a thread")?;
            thread_ready.recv()?;
        }
        // ANCHOR: receiver
        let receiver = thread::Builder::new()
            .spawn_scoped(s, move || -> Result<i32> {
                println!("Thread 3, tid {}: waits with SIGUSR1 unblocked", gettid());
                let _ = ready.send(());
                // sigsuspend: unblock every signal and sleep, in one step, until a
                // handler has run.
                SigSet::empty().suspend().context("sigsuspend")?;
                Ok(gettid().as_raw())
            })
            .context("spawning a thread")?;
        thread_ready.recv()?;
        // ANCHOR_END: receiver
        // ANCHOR: kill
        println!("Main thread: kill(pid {}, SIGUSR1)", getpid());
        kill(getpid(), Signal::SIGUSR1).context("kill")?;
        // ANCHOR_END: kill
        receiver.join().map_err(|_| anyhow!("thread 3 panicked"))?
    })?;
    let handled_by = HANDLED_BY.load(SeqCst);
    let which = if handled_by == receiver_tid {
        "thread 3, the one not blocking it"
    } else {
        "not thread 3"
    };
    println!("The handler ran in tid {handled_by}: {which}");
    ensure!(
        handled_by == receiver_tid,
        "thread 3 (tid {receiver_tid}) did not handle it"
    );
    println!("A process-directed signal went to the one thread that did not block it.");
    Ok(())
}
