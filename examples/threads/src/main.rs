//! One process, two threads: both report the same process id, each its own thread id.
//!
//! Run it with `cargo run -p threads`.

use std::process::ExitCode;
use std::thread;

use anyhow::{Context, Result, ensure};
use nix::unistd::{Pid, getpid, gettid};

fn main() -> ExitCode {
    example_support::main!(run)
}

// ANCHOR: ids
/// Which process, and which thread inside it, is running the caller.
#[derive(Clone, Copy)]
struct Ids {
    pid: Pid,
    tid: Pid,
}

impl Ids {
    fn current() -> Ids {
        Ids {
            pid: getpid(),
            tid: gettid(),
        }
    }
}
// ANCHOR_END: ids

fn run() -> Result<()> {
    println!("One process, two threads");
    // ANCHOR: spawn-join
    let main_ids = Ids::current();
    let handle = thread::Builder::new()
        .spawn(Ids::current) // a second thread runs `Ids::current`
        .context("spawning a thread")?;
    let thread_ids = handle.join().unwrap(); // wait for it, take what it returned
    // ANCHOR_END: spawn-join
    println!("main thread:   pid {}, tid {}", main_ids.pid, main_ids.tid);
    println!(
        "second thread: pid {}, tid {}",
        thread_ids.pid, thread_ids.tid
    );

    ensure!(
        thread_ids.pid == main_ids.pid,
        "the threads report different pids"
    );
    ensure!(
        thread_ids.tid != main_ids.tid,
        "the threads report the same tid"
    );
    ensure!(
        main_ids.tid == main_ids.pid,
        "the main thread's tid is not the pid"
    );
    println!(
        "Same pid: both threads belong to one process. Different tids: two threads,"
    );
    println!(
        "each scheduled on its own. The main thread's tid equals the pid: on Linux a"
    );
    println!("process is known by the id of its first thread.");
    Ok(())
}
