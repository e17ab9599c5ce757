//! Exercise `lost-update` (the task is in README.md; `cargo exercises lost-update` checks
//! it).
//!
//! Four tellers, four threads, each deposit 10 into one account.

use std::process::ExitCode;
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use anyhow::Result;

fn main() -> ExitCode {
    example_support::main!(run)
}

const TELLERS: usize = 4;
/// How long a teller takes to check a deposit, between reading the balance and writing it.
const CHECKING: Duration = Duration::from_millis(50);

// ANCHOR: run
fn run() -> Result<()> {
    let balance = Mutex::new(0);
    thread::scope(|s| {
        for _ in 0..TELLERS {
            s.spawn(|| {
                let seen = *balance.lock().unwrap();
                thread::sleep(CHECKING);
                *balance.lock().unwrap() = seen + 10;
            });
        }
    });
    let balance = balance.into_inner().unwrap();
    println!("balance: {balance} after {TELLERS} deposits of 10");
    Ok(())
}
// ANCHOR_END: run
