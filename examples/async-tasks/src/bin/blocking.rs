//! `cargo run -p async-tasks --bin blocking`: a task gives up its thread only at an `.await`.
//!
//! On a runtime with one thread, task A waits for a message that task B sends. If A waits by
//! blocking the thread (a std channel's `recv_timeout`), B cannot run until A gives up. If A
//! hands the blocking wait to `spawn_blocking` and awaits it, B runs at once. The order of the
//! events, not their timing, shows the difference.

use std::process::ExitCode;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use anyhow::{Context, Result, ensure};

fn main() -> ExitCode {
    example_support::main!(run)
}

type Log = Arc<Mutex<Vec<String>>>;

fn log(events: &Log, event: &str) {
    println!("  {event}");
    events.lock().unwrap().push(event.to_owned());
}

fn run() -> Result<()> {
    println!("1. Task A blocks the runtime's only thread while it waits for task B:");
    let blocked = on_one_thread(false)?;
    println!("2. Task A awaits the wait, run by spawn_blocking on another thread:");
    let awaited = on_one_thread(true)?;
    ensure!(
        blocked[1] == "A: gave up waiting; B never ran",
        "{blocked:?}"
    );
    ensure!(
        awaited[1] == "B: runs, and sends A its message",
        "{awaited:?}"
    );
    println!(
        "A task that blocks stalls every task on its thread; one that awaits does not."
    );
    Ok(())
}

// ANCHOR: blocking
fn on_one_thread(await_the_wait: bool) -> Result<Vec<String>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .context("starting the runtime")?;
    let events = Log::default();
    let (tx, rx) = mpsc::channel::<()>();
    runtime
        .block_on(async {
            let e = events.clone();
            let a = tokio::spawn(async move {
                log(&e, "A: waits for B's message");
                let wait = move || rx.recv_timeout(Duration::from_millis(200));
                let got = if await_the_wait {
                    // The wait runs on a thread of the runtime's blocking pool.
                    tokio::task::spawn_blocking(wait).await.unwrap()
                } else {
                    // The wait runs right here, on the runtime's only thread.
                    wait()
                };
                match got {
                    Ok(()) => log(&e, "A: got B's message"),
                    Err(_) => log(&e, "A: gave up waiting; B never ran"),
                }
            });
            let e = events.clone();
            let b = tokio::spawn(async move {
                log(&e, "B: runs, and sends A its message");
                let _ = tx.send(());
            });
            let (a, b) = (a.await, b.await);
            a.and(b)
        })
        .context("a task failed")?;
    let events = events.lock().unwrap().clone();
    Ok(events)
}
// ANCHOR_END: blocking
