//! A race condition in safe Rust: a counter incremented by `load` then `store` loses
//! updates. First forced (a `Barrier` makes exactly one update get lost, every run),
//! then left to the scheduler; then the two fixes, a `Mutex` and `fetch_add`.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Barrier, Mutex, RwLock};
use std::thread;

use anyhow::{Context, Result, ensure};
use clap::Parser;

/// Lose updates to a counter shared by threads, then fix it.
#[derive(Parser)]
struct Args {
    /// Threads in the race left to the scheduler and in the fixes.
    #[arg(long, default_value_t = 4,
          value_parser = clap::value_parser!(u64).range(1..=64))]
    threads: u64,
    /// Increments made by each thread.
    #[arg(long, default_value_t = 300_000,
          value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    iterations: u64,
}

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run(
    Args {
        threads,
        iterations,
    }: Args,
) -> Result<()> {
    println!("Each increment loads the counter, then stores what it loaded + 1.");

    println!("Forced: main and one thread each load, meet at a Barrier, then store.");
    // ANCHOR: race-forced
    let counter = AtomicU64::new(0);
    let barrier = Barrier::new(2);
    let racer = || {
        let seen = counter.load(Relaxed); // read the counter...
        barrier.wait(); // ...wait until the other thread has read it too...
        counter.store(seen + 1, Relaxed); // ...and write back: both store 1
        seen
    };
    let (main_saw, other_saw) = thread::scope(|s| -> Result<_> {
        let other = thread::Builder::new()
            .spawn_scoped(s, racer)
            .context("spawning a thread")?;
        let main_saw = racer(); // main is the second racer
        Ok((main_saw, other.join().unwrap()))
    })?;
    // ANCHOR_END: race-forced
    println!("  main loaded {main_saw} and stored {}", main_saw + 1);
    println!(
        "  the other thread loaded {other_saw} and stored {}",
        other_saw + 1
    );
    let observed = counter.into_inner();
    report(observed, 2, "")?;
    ensure!(
        (main_saw, other_saw, observed) == (0, 0, 1),
        "both threads should load 0 and the counter end at 1"
    );

    println!("Left to the scheduler: {threads} threads x {iterations} increments.");
    // ANCHOR: race-stats
    let counter = AtomicU64::new(0);
    in_threads(threads, iterations, || {
        let seen = counter.load(Relaxed);
        counter.store(seen + 1, Relaxed); // overwrites any store since the load
    })?;
    report(counter.into_inner(), threads * iterations, " this run")?;
    // ANCHOR_END: race-stats

    let expected = threads * iterations;
    println!("Fixed with a Mutex<u64>: lock, add 1, unlock.");
    // ANCHOR: fix-mutex
    let counter = Mutex::new(0u64);
    in_threads(threads, iterations, || {
        *counter.lock().unwrap() += 1; // the lock is held from the read to the write
    })?;
    let observed = counter.into_inner()?;
    // ANCHOR_END: fix-mutex
    report(observed, expected, "")?;
    ensure!(observed == expected, "the Mutex lost updates");

    println!("Fixed with AtomicU64::fetch_add(1): read, add and write in one step.");
    // ANCHOR: fix-atomic
    let counter = AtomicU64::new(0);
    in_threads(threads, iterations, || {
        counter.fetch_add(1, Relaxed); // one atomic read-modify-write instruction
    })?;
    let observed = counter.into_inner();
    // ANCHOR_END: fix-atomic
    report(observed, expected, "")?;
    ensure!(observed == expected, "fetch_add lost updates");
    println!("The race lost updates; both fixes lost none.");
    Ok(())
}

/// Runs `increment` `iterations` times on each of `threads` threads. They wait at a
/// gate until all of them exist, so that they overlap as much as the machine allows.
fn in_threads(
    threads: u64,
    iterations: u64,
    increment: impl Fn() + Sync,
) -> Result<()> {
    let gate = RwLock::new(());
    thread::scope(|s| {
        let closed = gate.write().unwrap(); // held while the threads are created
        for _ in 0..threads {
            thread::Builder::new()
                .spawn_scoped(s, || {
                    drop(gate.read().unwrap()); // waits until `closed` is dropped
                    for _ in 0..iterations {
                        increment();
                    }
                })
                .context("spawning a thread")?; // an early return opens the gate too
        }
        drop(closed);
        Ok(())
    })
}

/// Prints the counter next to the value it should have had. Increments can be lost,
/// never invented: each store writes one more than a value an earlier store wrote.
fn report(observed: u64, expected: u64, this_run: &str) -> Result<()> {
    ensure!(
        observed <= expected,
        "{observed} is more than the {expected} increments"
    );
    let lost = expected - observed;
    println!("  counter = {observed}, should be {expected}: lost {lost}{this_run}");
    Ok(())
}
