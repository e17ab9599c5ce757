//! `cargo run -p async-tasks`: ten thousand tasks on two threads.
//!
//! A tokio runtime with two worker threads runs 10,000 tasks. While every task waits at one
//! barrier, `/proc/self/task` lists the process's threads: the main thread and the two
//! workers. The tasks share memory as threads do: each adds one to the same counter.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use anyhow::{Context, Result, ensure};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

fn main() -> ExitCode {
    example_support::main!(run)
}

const TASKS: usize = 10_000;
const WORKERS: usize = 2;

fn run() -> Result<()> {
    println!("A runtime with {WORKERS} worker threads starts {TASKS} tasks.");
    // ANCHOR: many-tasks
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .build()
        .context("starting the runtime's threads")?;

    let counter = Arc::new(AtomicUsize::new(0));
    // Every task and `main` meet here, so all 10,000 tasks exist at once.
    let all_started = Arc::new(Barrier::new(TASKS + 1));
    let go_on = Arc::new(Barrier::new(TASKS + 1));
    let threads = runtime.block_on(async {
        let mut tasks = JoinSet::new();
        for _ in 0..TASKS {
            let (counter, all_started) = (counter.clone(), all_started.clone());
            let go_on = go_on.clone();
            tasks.spawn(async move {
                counter.fetch_add(1, Relaxed);
                all_started.wait().await;
                go_on.wait().await;
            });
        }
        all_started.wait().await;
        // Every task is alive and waiting. How many threads run them?
        let threads = example_support::proc::threads();
        go_on.wait().await;
        tasks.join_all().await;
        threads
    })?;
    // ANCHOR_END: many-tasks
    let count = counter.load(Relaxed);
    println!(
        "{TASKS} tasks alive at once; threads in /proc/self/task: {}",
        threads.len()
    );
    println!("Each task added 1 to one shared counter: {count}");
    drop(runtime);
    ensure!(count == TASKS, "the counter is {count}, not {TASKS}");
    ensure!(
        threads.len() == 1 + WORKERS,
        "expected the main thread and {WORKERS} workers, found {} threads",
        threads.len()
    );
    let threads = 1 + WORKERS;
    println!(
        "{TASKS} tasks shared memory on {threads} threads: main and {WORKERS} workers."
    );
    Ok(())
}
