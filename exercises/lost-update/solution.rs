//! A solution of the exercise `lost-update`: each deposit reads, checks and writes the
//! balance under one lock.

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
                // New: one guard from the read to the write: no teller slips in.
                let mut guard = balance.lock().unwrap();
                let seen = *guard;
                thread::sleep(CHECKING);
                *guard = seen + 10;
            });
        }
    });
    let balance = balance.into_inner().unwrap();
    println!("balance: {balance} after {TELLERS} deposits of 10");
    Ok(())
}
// ANCHOR_END: run
