//! `cargo run -p pipes --bin thread-channel`: the request and response of `pipes`,
//! between two threads of one process, over channels. Sending a `String` moves its
//! pointer, length and capacity; its bytes stay where they are, and the response comes
//! back in the very buffer the request left in.

use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;

use anyhow::{Context, Result, anyhow, ensure};

fn main() -> ExitCode {
    example_support::main!(run)
}

// ANCHOR: thread-channel
/// Answers each request with the same string in upper case, until the sender hangs up.
fn worker(requests: Receiver<String>, responses: Sender<String>) {
    let pid = std::process::id();
    for mut request in requests {
        let at = request.as_ptr();
        println!(
            "worker thread in pid {pid}: got request {request:?}, bytes at {at:p}"
        );
        request.make_ascii_uppercase(); // in place: the response is the same buffer
        let _ = responses.send(request);
    }
}

fn run() -> Result<()> {
    let pid = std::process::id();
    let (request_tx, request_rx) = mpsc::channel::<String>();
    let (response_tx, response_rx) = mpsc::channel::<String>();
    let request = String::from("hello, worker");
    let at = request.as_ptr();
    println!(
        "main   thread in pid {pid}: sending request {request:?}, bytes at {at:p}"
    );

    let worker = thread::Builder::new()
        .spawn(move || worker(request_rx, response_tx))
        .context("spawning a thread")?;
    request_tx.send(request)?; // moves pointer, length and capacity; the bytes stay put
    let response = response_rx.recv().context("receiving the response")?;
    let back = response.as_ptr();
    println!(
        "main   thread in pid {pid}: got response {response:?}, bytes at {back:p}"
    );
    drop(request_tx); // ends the worker's loop
    worker
        .join()
        .map_err(|_| anyhow!("the worker thread panicked"))?;
    // ANCHOR_END: thread-channel

    ensure!(response == "HELLO, WORKER", "got {response:?}");
    ensure!(back == at, "the bytes were copied");
    println!("One buffer, handed from thread to thread: its bytes were never copied.");
    Ok(())
}
