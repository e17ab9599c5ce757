//! Exercise `sigterm` (the task is in README.md; `cargo exercises sigterm` checks it).
//!
//! A worker thread works until the program receives `SIGTERM`, which a second thread waits
//! for with `sigwait`; then the program stops the worker and ends cleanly.

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
    let stop = AtomicBool::new(false);
    thread::scope(|s| {
        let waiter = s.spawn(|| {
            let mut set = SigSet::empty();
            set.add(Signal::SIGTERM);
            set.thread_block()?;
            set.wait()
        });
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
