//! A vector passed from thread to thread over channels arrives in the very buffer it
//! was allocated in: moving it to another thread copies a pointer, not the numbers.
//!
//! Run it with `cargo run -p threads --bin channel`.

use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;

use anyhow::{Context, Result, ensure};

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run() -> Result<()> {
    println!("Messages between threads over channels");
    // ANCHOR: channel
    let (to_worker, worker_inbox) = mpsc::channel::<Vec<u32>>();
    let (to_main, main_inbox) = mpsc::channel::<Vec<u32>>();
    let allocated_at = thread::scope(|s| -> Result<usize> {
        thread::Builder::new()
            .spawn_scoped(s, move || {
                // Runs until the producer hangs up (drops its sender).
                for mut numbers in worker_inbox {
                    numbers.iter_mut().for_each(|n| *n *= 10);
                    to_main.send(numbers).unwrap(); // and on to main
                }
            })
            .context("spawning the worker thread")?;
        let producer = thread::Builder::new()
            .spawn_scoped(s, move || {
                let numbers = vec![1, 2, 3]; // allocated on the heap by this thread
                let address = numbers.as_ptr().addr();
                to_worker.send(numbers).unwrap(); // hands the vector to the worker
                address
            })
            .context("spawning the producer thread")?;
        Ok(producer.join().unwrap())
    })?;
    let received = main_inbox.recv().context("the worker sent nothing")?;
    // ANCHOR_END: channel
    let arrived_at = received.as_ptr();
    println!("producer thread: sent [1, 2, 3], allocated at {allocated_at:#x}");
    println!("worker thread:   multiplied each number by 10 and passed the vector on");
    println!("main thread:     received {received:?}, in the buffer at {arrived_at:p}");

    ensure!(received == [10, 20, 30], "main received {received:?}");
    ensure!(
        arrived_at.addr() == allocated_at,
        "the vector arrived in a different buffer"
    );
    println!("the vector arrived in the buffer it was allocated in: yes");
    println!(
        "Sending moved the vector (pointer, length, capacity) from thread to thread;"
    );
    println!("the numbers themselves were never copied.");
    Ok(())
}
