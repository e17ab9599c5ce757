//! A solution of the exercise `lost-update`: each deposit reads and writes the balance
//! under one lock, after the barrier.

use std::process::ExitCode;
use std::sync::{Barrier, Mutex};
use std::thread;

use anyhow::Result;

fn main() -> ExitCode {
    example_support::main("lost-update", run)
}

const TELLERS: usize = 4;

// ANCHOR: run
fn run() -> Result<()> {
    let balance = Mutex::new(0);
    let all_ready = Barrier::new(TELLERS);
    thread::scope(|s| {
        for _ in 0..TELLERS {
            s.spawn(|| {
                all_ready.wait();
                // New: one lock from the read to the write; no teller slips in between.
                *balance.lock().unwrap() += 10;
            });
        }
    });
    let balance = balance.into_inner().unwrap();
    println!("balance: {balance} after {TELLERS} deposits of 10");
    Ok(())
}
// ANCHOR_END: run
