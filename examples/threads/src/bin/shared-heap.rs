//! Threads write into a vector that `main` owns and into a global variable; once they
//! have finished, `main` sees every write: there is only one copy of this memory.
//!
//! Run it with `cargo run -p threads --bin shared-heap`.

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use anyhow::{Context, Result, ensure};

fn main() -> ExitCode {
    example_support::main!(run)
}

/// A global variable: one copy per process, whichever thread touches it.
static GLOBAL_WRITES: AtomicUsize = AtomicUsize::new(0);

fn run() -> Result<()> {
    println!("Threads write into memory that main owns");
    // ANCHOR: shared-heap
    let mut slots = vec![0_u32; 3]; // one buffer on the heap, owned by main
    thread::scope(|s| -> Result<()> {
        for (i, slot) in (1..).zip(slots.iter_mut()) {
            thread::Builder::new()
                .spawn_scoped(s, move || {
                    *slot = 100 * i; // writes straight into main's vector
                    GLOBAL_WRITES.fetch_add(1, Ordering::Relaxed); // and into a global
                })
                .context("spawning a thread")?;
        }
        Ok(())
    })?; // the scope waits for every thread it started
    let global = GLOBAL_WRITES.load(Ordering::Relaxed);
    println!("main sees its vector as {slots:?} and the global at {global}");
    // ANCHOR_END: shared-heap

    ensure!(slots == [100, 200, 300], "main saw {slots:?}");
    ensure!(global == 3, "the global is {global}, expected 3");
    println!(
        "Each of the 3 threads wrote its own slot and bumped the global: main sees"
    );
    println!("every write, because there is only one copy of this memory.");
    Ok(())
}
