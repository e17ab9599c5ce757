//! `cargo run -p std-idioms`: threads the way the Rust Book starts them.
//!
//! `thread::spawn` takes a closure that must be `'static`: the thread may outlive the
//! function that started it, so it cannot borrow that function's locals. Shared data goes
//! behind an `Arc` (shared ownership, counted atomically) and a `Mutex`, and each thread
//! gets its own clone of the `Arc`. Scoped threads (`thread::scope`), which most examples in
//! this book use, lift the `'static` bound: they are joined before the scope ends, so they
//! may borrow.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::thread;

use anyhow::{Result, ensure};

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run() -> Result<()> {
    println!("Four threads, one counter behind Arc<Mutex<u64>>:");
    // ANCHOR: arc-mutex
    let counter = Arc::new(Mutex::new(0_u64));
    let mut handles = Vec::new();
    for _ in 0..4 {
        let counter = Arc::clone(&counter);
        handles.push(thread::spawn(move || {
            for _ in 0..1000 {
                *counter.lock().unwrap() += 1;
            }
        }));
    }
    for handle in handles {
        handle.join().unwrap();
    }
    let total = *counter.lock().unwrap();
    println!("  total = {total}");
    // ANCHOR_END: arc-mutex
    ensure!(total == 4000, "lost updates: {total}");

    println!("The same with scoped threads, borrowing a local Mutex:");
    // ANCHOR: scoped
    let counter = Mutex::new(0_u64);
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..1000 {
                    *counter.lock().unwrap() += 1;
                }
            });
        }
    }); // every thread is joined here
    let total = counter.into_inner().unwrap();
    println!("  total = {total}");
    // ANCHOR_END: scoped
    ensure!(total == 4000, "lost updates: {total}");
    println!("No Arc, no move, no 'static: the scope outlives its threads.");
    Ok(())
}
