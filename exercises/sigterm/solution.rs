//! A solution of the exercise `sigterm`: `SIGTERM` is blocked in the main thread before
//! any other thread starts, so every thread inherits the mask and only `sigwait` takes it.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};
use nix::sys::signal::{SigSet, Signal};
use nix::unistd::getpid;

fn main() -> ExitCode {
    example_support::main!(run)
}

// ANCHOR: run
fn run() -> Result<()> {
    // New: blocked here, before the threads exist, so that all of them inherit it.
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    set.thread_block().context("pthread_sigmask")?;
    let stop = AtomicBool::new(false);
    thread::scope(|s| {
        let waiter = s.spawn(|| set.wait());
        let worker = s.spawn(|| {
            let mut rounds = 0;
            while !stop.load(Ordering::Relaxed) {
                rounds += 1;
                thread::sleep(Duration::from_millis(10));
            }
            rounds
        });
        println!(
            "pid {}: working; stop me with `kill {}`",
            getpid(),
            getpid()
        );
        let signal = waiter.join().unwrap().context("sigwait")?;
        stop.store(true, Ordering::Relaxed);
        let rounds = worker.join().unwrap();
        println!("got {signal:?}: the worker stopped after {rounds} rounds");
        Ok(())
    })
}
// ANCHOR_END: run
