//! The usual way to take signals in a threaded program: block them in every thread,
//! and let one thread wait for them with `sigwait`. No handler runs; the waiting thread
//! gets each signal as an ordinary value, and may do anything with it.

use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;

use anyhow::{Context, Result, anyhow, ensure};
use nix::sys::signal::{SigSet, Signal, kill};
use nix::unistd::getpid;

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run() -> Result<()> {
    // ANCHOR: block
    let signals = SigSet::from_iter([Signal::SIGUSR1, Signal::SIGTERM]);
    println!("Main thread: blocks SIGUSR1 and SIGTERM before it starts any thread");
    signals.thread_block().context("pthread_sigmask")?; // inherited by new threads
    // ANCHOR_END: block
    let received = thread::scope(|s| -> Result<_> {
        let (events, received) = mpsc::channel();
        // ANCHOR: waiter
        let waiter = thread::Builder::new()
            .spawn_scoped(s, move || -> Result<()> {
                loop {
                    let signal = signals.wait().context("sigwait")?;
                    // An ordinary thread: it may allocate, lock and print.
                    println!("Signal thread: sigwait returned {signal}");
                    events.send(signal)?;
                    if signal == Signal::SIGTERM {
                        return Ok(());
                    }
                }
            })
            .context("spawning a thread")?;
        // ANCHOR_END: waiter
        // ANCHOR: send
        let mut got = Vec::new();
        for signal in [Signal::SIGUSR1, Signal::SIGTERM] {
            println!("Main thread: kill(pid {}, {signal})", getpid());
            kill(getpid(), signal).context("kill")?;
            let Ok(event) = received.recv() else { break };
            println!("Main thread: the signal thread passed on {event}");
            got.push(event);
        }
        // ANCHOR_END: send
        waiter
            .join()
            .map_err(|_| anyhow!("the signal thread panicked"))??;
        Ok(got)
    })?;
    ensure!(
        received == [Signal::SIGUSR1, Signal::SIGTERM],
        "received {received:?}"
    );
    println!("Both signals reached one thread, as values, and no handler ran.");
    Ok(())
}
