//! A thread cannot be killed: std has no call for it. It stops when it decides to, so
//! the only way to stop one early is to ask, in a way it checks: a flag, or a channel.
//!
//! Run it with `cargo run -p supervisor --bin stop-threads`.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc;
use std::thread;

use anyhow::{Context, Result, ensure};

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run() -> Result<()> {
    // ANCHOR: flag
    println!("1. A worker that checks a stop flag between rounds of work.");
    let stop = AtomicBool::new(false);
    let (started, has_started) = mpsc::channel();
    let rounds = thread::scope(|s| -> Result<u64> {
        let worker = thread::Builder::new().spawn_scoped(s, || {
            let mut rounds = 0u64;
            while !stop.load(Relaxed) {
                rounds += 1; // a round of work
                if rounds == 1 {
                    started.send(()).expect("main thread waits");
                }
            }
            rounds
        });
        let worker = worker.context("spawning a thread")?;
        has_started.recv().expect("the worker started");
        stop.store(true, Relaxed); // a request: nothing happens until the worker looks
        Ok(worker.join().expect("worker panicked"))
    })?;
    ensure!(rounds >= 1);
    println!("   asked it to stop; it stopped after {rounds} rounds");
    // ANCHOR_END: flag

    // ANCHOR: channel
    println!(
        "2. A worker waiting for jobs on a channel: closing the channel stops it."
    );
    let (jobs, incoming) = mpsc::channel::<u64>();
    let done = thread::scope(|s| -> Result<usize> {
        // The loop over the channel ends once every sender is gone.
        let worker = thread::Builder::new()
            .spawn_scoped(s, move || incoming.iter().count())
            .context("spawning a thread")?;
        jobs.send(1)?;
        jobs.send(2)?;
        drop(jobs);
        Ok(worker.join().expect("worker panicked"))
    })?;
    println!("   it did {done} jobs, then saw the channel closed and returned");
    ensure!(done == 2);
    // ANCHOR_END: channel

    // ANCHOR: ignore
    println!("3. A worker that never checks: asking changes nothing.");
    let stop = AtomicBool::new(false);
    let (progress, steps) = mpsc::sync_channel(0); // each send waits for our recv
    let after_request = thread::scope(|s| -> Result<Vec<u32>> {
        let worker = thread::Builder::new().spawn_scoped(s, move || {
            for step in 1..=3 {
                progress.send(step).expect("main thread reads");
            }
        });
        let worker = worker.context("spawning a thread")?;
        let first = steps.recv().expect("step 1");
        stop.store(true, Relaxed); // the worker never reads it
        println!("   step {first} done; asked it to stop");
        let rest: Vec<u32> = steps.iter().collect(); // until the worker returns
        worker.join().expect("worker panicked");
        Ok(rest)
    })?;
    println!(
        "   it went on with steps {after_request:?} and returned when it was done"
    );
    ensure!(after_request == [2, 3]);
    // ANCHOR_END: ignore
    println!("A thread stops only by itself: it has to be asked, and it has to look.");
    Ok(())
}
