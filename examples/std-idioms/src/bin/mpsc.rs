//! `cargo run -p std-idioms --bin mpsc`: messages between threads with `std::sync::mpsc`.
//!
//! Several producers, one consumer. Each sender is a clone; the receiver's loop ends when the
//! last sender is dropped, as a pipe's reader sees end of file when the last writer closes.

use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;

use anyhow::{Result, ensure};

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run() -> Result<()> {
    println!("Three producers send to one consumer over std::sync::mpsc:");
    // ANCHOR: mpsc
    let (tx, rx) = mpsc::channel();
    let mut producers = Vec::new();
    for id in 0..3 {
        let tx = tx.clone();
        producers.push(thread::spawn(move || {
            for n in 0..3 {
                tx.send((id, n)).unwrap();
            }
        }));
    }
    drop(tx); // only the producers' clones are left

    let mut received: Vec<(i32, i32)> = rx.iter().collect(); // ends after the last drop
    for producer in producers {
        producer.join().unwrap();
    }
    // ANCHOR_END: mpsc
    received.sort();
    println!("  received {} messages: {received:?}", received.len());
    ensure!(received.len() == 9, "expected 9 messages");
    println!("The loop ended by itself when the last sender was dropped.");
    Ok(())
}
