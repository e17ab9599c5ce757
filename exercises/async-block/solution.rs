//! A solution of the exercise `async-block`: tokio's channel, whose `recv` is awaited, so
//! the runtime's thread runs the sending task while the main task waits.

use std::process::ExitCode;

use anyhow::{Context, Result};
use tokio::sync::mpsc;

fn main() -> ExitCode {
    example_support::main!(run)
}

// ANCHOR: run
fn run() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        // New: an async channel; waiting on it gives the thread back to the runtime.
        let (tx, mut rx) = mpsc::unbounded_channel();
        let sender = tokio::spawn(async move {
            for n in 1..=3 {
                tx.send(n * n).expect("the receiver is there");
            }
            let thread = std::thread::current();
            println!("sent from thread {}", thread.name().unwrap_or("unnamed"));
        });
        let mut total = 0;
        for _ in 1..=3 {
            total += rx.recv().await.context("the sender is gone")?;
        }
        sender.await.context("the sender")?;
        println!("total: {total}");
        Ok(())
    })
}
// ANCHOR_END: run
