//! Exercise `async-block` (the task is in README.md; `cargo exercises async-block` checks
//! it).
//!
//! On a runtime with one thread, a task sends three squares over a channel and the main
//! task adds them up.

use std::process::ExitCode;
use std::sync::mpsc;

use anyhow::{Context, Result};

fn main() -> ExitCode {
    example_support::main!(run)
}

// ANCHOR: run
fn run() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        let (tx, rx) = mpsc::channel();
        let sender = tokio::spawn(async move {
            for n in 1..=3 {
                tx.send(n * n).expect("the receiver is there");
            }
            let thread = std::thread::current();
            println!("sent from thread {}", thread.name().unwrap_or("unnamed"));
        });
        let mut total = 0;
        for _ in 1..=3 {
            total += rx.recv().context("receiving")?;
        }
        sender.await.context("the sender")?;
        println!("total: {total}");
        Ok(())
    })
}
// ANCHOR_END: run
