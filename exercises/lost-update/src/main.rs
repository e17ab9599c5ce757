//! Exercise `lost-update` (the task is in README.md; `cargo exercises lost-update` checks
//! it).
//!
//! Four tellers, four threads, each deposit 10 into one account.

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
    // The tellers deposit at the same moment: the barrier lets them go together, as
    // the scheduler may on any run.
    let all_ready = Barrier::new(TELLERS);
    thread::scope(|s| {
        for _ in 0..TELLERS {
            s.spawn(|| {
                let seen = *balance.lock().unwrap();
                all_ready.wait();
                *balance.lock().unwrap() = seen + 10;
            });
        }
    });
    let balance = balance.into_inner().unwrap();
    println!("balance: {balance} after {TELLERS} deposits of 10");
    Ok(())
}
// ANCHOR_END: run
