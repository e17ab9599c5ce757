//! Threads of one process share memory, so a lock is memory plus a way to sleep: a
//! `Mutex` makes an update exclusive, a `Condvar` lets a thread sleep until another
//! changes the data the mutex protects.

use std::process::ExitCode;
use std::sync::{Condvar, Mutex};
use std::thread;

use anyhow::{Context, Result, ensure};

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run() -> Result<()> {
    println!("Threads of one process, sharing a Mutex and a Condvar:");
    // ANCHOR: mutex
    let counter = Mutex::new(0u64);
    thread::scope(|s| -> Result<()> {
        for _ in 0..4 {
            thread::Builder::new()
                .spawn_scoped(s, || {
                    for _ in 0..1000 {
                        *counter.lock().unwrap() += 1; // unlocked at the `;`
                    }
                })
                .context("spawning a thread")?;
        }
        Ok(())
    })?;
    let total = counter.into_inner()?;
    println!("  Mutex: 4 threads × 1000 increments of one counter: {total}");
    // ANCHOR_END: mutex
    ensure!(total == 4000, "the Mutex lost increments");

    // ANCHOR: condvar
    let slot: Mutex<Option<u32>> = Mutex::new(None); // holds one item at a time
    let changed = Condvar::new();
    let mut received = Vec::new();
    thread::scope(|s| -> Result<()> {
        thread::Builder::new()
            .spawn_scoped(s, || {
                for item in 1..=5 {
                    let empty = slot.lock().unwrap();
                    let mut slot = changed.wait_while(empty, |s| s.is_some()).unwrap();
                    *slot = Some(item);
                    changed.notify_one();
                }
            })
            .context("spawning a thread")?;
        for _ in 1..=5 {
            let full = slot.lock().unwrap();
            let mut slot = changed.wait_while(full, |s| s.is_none()).unwrap();
            received.extend(slot.take());
            changed.notify_one();
        }
        Ok(())
    })?;
    println!("  Condvar: a producer handed over 1..=5 one at a time: {received:?}");
    // ANCHOR_END: condvar
    ensure!(received == [1, 2, 3, 4, 5], "the consumer got {received:?}");
    println!("No increment was lost, and every item was handed over in order.");
    Ok(())
}
