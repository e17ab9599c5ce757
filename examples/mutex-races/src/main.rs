//! Race conditions and data races, between threads and between processes.
//!
//! 1. A race condition in *safe* Rust: a counter incremented by `load` then `store` loses
//!    updates. First forced (a `Barrier` makes exactly one update get lost, every run), then left
//!    to the scheduler (many threads; how many updates are lost varies).
//! 2. The fixes: a `Mutex<u64>`, and `AtomicU64::fetch_add`.
//! 3. The data races that safe Rust refuses to compile live in `tests/compile-fail/`; the test
//!    suite checks that they still fail, with the errors the book shows.
//! 4. Processes: an ordinary global is not shared after `fork`, so nothing races on it; a counter
//!    in a `MAP_SHARED` mapping is shared, races exactly like the threads did, and is fixed the
//!    same way.
//!
//! Run with `cargo run -p mutex-races [-- --threads N --iterations N]`. Linux only (part 4 uses
//! `fork` and `mmap`); elsewhere it says so and exits 1.

// Only `main` exists on other platforms; the rest is Linux code that is unused there.
#![cfg_attr(not(target_os = "linux"), allow(dead_code, unused_imports))]

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Barrier, Mutex};
use std::thread::{self, Scope, ScopedJoinHandle};

use anyhow::{Context, Result, anyhow, ensure};
use clap::Parser;

#[cfg(target_os = "linux")]
mod linux; // fork_child, PipeBarrier, SharedPage: the system calls of part 4
#[cfg(target_os = "linux")]
use linux::{Child, PipeBarrier, SharedPage, fork_child};

#[derive(Parser)]
#[command(
    name = "mutex-races",
    about = "Lose updates to a counter with threads and with processes, then fix it."
)]
struct Args {
    /// Threads in the race left to the scheduler and in the fixes.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    threads: u64,
    /// Increments made by each thread (and by each process in part 4).
    #[arg(long, default_value_t = 300_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    iterations: u64,
}

#[cfg(not(target_os = "linux"))]
fn main() -> ExitCode {
    eprintln!("mutex-races: this example needs Linux");
    ExitCode::FAILURE
}

#[cfg(target_os = "linux")]
fn main() -> ExitCode {
    example_support::main("mutex-races", run)
}

#[cfg(target_os = "linux")]
fn run() -> Result<()> {
    let args = Args::parse();
    let hygiene = example_support::Hygiene::start()?;
    println!(
        "mutex-races: lost updates with threads and with processes, and how to prevent them."
    );
    race_between_threads(args.threads, args.iterations)?;
    fixes(args.threads, args.iterations)?;
    data_races_do_not_compile();
    processes(args.iterations)?;
    hygiene.check()
}

/// Part 1: a race condition in safe Rust.
fn race_between_threads(threads: u64, iterations: u64) -> Result<()> {
    println!();
    println!("== 1. A race condition in safe Rust ==");
    println!(
        "Each increment is a load of the counter followed by a store of what was loaded + 1."
    );
    println!(
        "Each access is atomic, so there is no data race; but another thread can store"
    );
    println!("between the two, and then one of the two updates is lost.");

    println!("Forced: 2 threads each load, meet at a Barrier, then store.");
    // ANCHOR: race-forced
    let counter = AtomicU64::new(0);
    let barrier = Barrier::new(2);
    let racer = || {
        let seen = counter.load(Relaxed); // read the counter...
        barrier.wait(); // ...wait until the other thread has read it too...
        counter.store(seen + 1, Relaxed); // ...and write back: both write the same value
        seen
    };
    let seen = thread::scope(|s| -> Result<[u64; 2]> {
        let (first, second) = (spawn(s, racer)?, spawn(s, racer)?);
        Ok([join(first)?, join(second)?])
    })?;
    // ANCHOR_END: race-forced
    println!(
        "  thread 1 loaded {} and stored {}, thread 2 loaded {} and stored {}",
        seen[0],
        seen[0] + 1,
        seen[1],
        seen[1] + 1
    );
    let observed = counter.into_inner();
    report(observed, 2, Varies::No)?;
    ensure!(
        seen == [0, 0] && observed == 1,
        "the forced interleaving should lose exactly one update: both threads load 0, \
         the counter ends at 1 (threads loaded {seen:?}, counter is {observed})"
    );

    println!("Left to the scheduler: {threads} threads x {iterations} increments.");
    // ANCHOR: race-stats
    let counter = AtomicU64::new(0);
    in_threads(threads, iterations, || {
        let seen = counter.load(Relaxed);
        counter.store(seen + 1, Relaxed); // whatever was stored since the load is overwritten
    })?;
    report(counter.into_inner(), threads * iterations, Varies::Yes)?;
    // ANCHOR_END: race-stats
    Ok(())
}

/// Part 2: the same counting, without losing updates.
fn fixes(threads: u64, iterations: u64) -> Result<()> {
    println!();
    println!("== 2. The fixes ==");
    let expected = threads * iterations;

    println!(
        "Mutex<u64>: lock, add 1, unlock. Only one thread at a time holds the lock."
    );
    // ANCHOR: fix-mutex
    let counter = Mutex::new(0u64);
    in_threads(threads, iterations, || {
        *counter.lock().unwrap() += 1; // the lock is held from the read to the write
    })?;
    let observed = counter.into_inner().unwrap();
    // ANCHOR_END: fix-mutex
    report(observed, expected, Varies::No)?;
    ensure!(observed == expected, "the Mutex lost updates");

    println!(
        "AtomicU64::fetch_add(1): the read, the add and the write are one indivisible step."
    );
    // ANCHOR: fix-atomic
    let counter = AtomicU64::new(0);
    in_threads(threads, iterations, || {
        counter.fetch_add(1, Relaxed); // one atomic read-modify-write instruction
    })?;
    let observed = counter.into_inner();
    // ANCHOR_END: fix-atomic
    report(observed, expected, Varies::No)?;
    ensure!(observed == expected, "fetch_add lost updates");
    Ok(())
}

/// Part 3 happens at compile time; the test suite checks it.
fn data_races_do_not_compile() {
    println!();
    println!("== 3. Data races do not compile ==");
    println!(
        "A data race is two threads accessing the same memory at the same time, at least one"
    );
    println!(
        "writing, with no synchronisation. Safe Rust rejects such programs when compiling them;"
    );
    println!(
        "`cargo test -p mutex-races` checks that each of these still fails to compile"
    );
    println!("(examples/mutex-races/tests/compile-fail/):");
    println!(
        "  rc_sent_to_thread.rs    an Rc moved into another thread: Rc is not Send"
    );
    println!(
        "  borrow_outlives.rs      a spawned thread borrows a local that may be gone first"
    );
    println!(
        "  two_mut_borrows.rs      two threads increment the same local through &mut"
    );
    println!(
        "  cell_shared.rs          a Cell shared by two threads: Cell is not Sync"
    );
}

/// Part 4: the same experiments with processes instead of threads.
#[cfg(target_os = "linux")]
fn processes(iterations: u64) -> Result<()> {
    println!();
    println!("== 4. Processes ==");
    println!(
        "An ordinary global, incremented {iterations} times by each of 2 forked children:"
    );
    // ANCHOR: process-plain
    /// An ordinary global: no atomic, no lock. Rust makes every access to it `unsafe`,
    /// because two threads using it at once would be a data race.
    static mut PLAIN: u64 = 0;

    let children = (0..2)
        .map(|_| {
            fork_child(|| {
                // SAFETY: a forked child has a single thread, so nothing else in this process
                // reads or writes its copy of PLAIN.
                unsafe {
                    for _ in 0..iterations {
                        PLAIN += 1;
                    }
                    Ok(PLAIN)
                }
            })
        })
        .collect::<Result<Vec<Child>>>()?;
    let pids: Vec<_> = children.iter().map(|child| child.pid()).collect();
    let counted = children
        .into_iter()
        .map(Child::wait)
        .collect::<Result<Vec<u64>>>()?;
    // SAFETY: the children have exited, and this process runs no other thread now.
    let parent_sees = unsafe { PLAIN };
    // ANCHOR_END: process-plain
    println!(
        "  child 1 (pid {}) counted to {}, child 2 (pid {}) counted to {}, the parent's copy is still {}",
        pids[0], counted[0], pids[1], counted[1], parent_sees
    );
    ensure!(
        counted == [iterations, iterations] && parent_sees == 0,
        "after fork each process should have its own copy of the global: each child should \
         count to {iterations} and the parent should still see 0 (children counted {counted:?}, \
         parent sees {parent_sees})"
    );

    println!(
        "A counter in a MAP_SHARED mapping, which fork does not copy: both children use it."
    );
    println!(
        "Forced: 2 children each load, meet at a barrier made of pipes, then store."
    );
    // ANCHOR: process-shared-race
    let page = SharedPage::new()?; // mmap(MAP_SHARED | MAP_ANONYMOUS): one page, zero-filled
    let counter = page.counter(); // an &AtomicU64 in that page
    let barrier = PipeBarrier::new()?;
    let children = (0..2)
        .map(|_| {
            fork_child(|| {
                let seen = counter.load(Relaxed); // read the shared counter...
                barrier.arrive_and_wait()?; // ...wait until the other child has read it too...
                counter.store(seen + 1, Relaxed); // ...and write back: one update is lost
                Ok(seen)
            })
        })
        .collect::<Result<Vec<Child>>>()?;
    barrier.release_when_arrived(children.len())?;
    let seen = children
        .into_iter()
        .map(Child::wait)
        .collect::<Result<Vec<u64>>>()?;
    // ANCHOR_END: process-shared-race
    println!(
        "  child 1 loaded {} and stored {}, child 2 loaded {} and stored {}",
        seen[0],
        seen[0] + 1,
        seen[1],
        seen[1] + 1
    );
    let observed = counter.load(Relaxed);
    report(observed, 2, Varies::No)?;
    ensure!(
        seen == [0, 0] && observed == 1,
        "the forced interleaving should lose exactly one update: both children load 0, \
         the counter ends at 1 (children loaded {seen:?}, counter is {observed})"
    );
    drop(page); // munmap

    println!("Left to the scheduler: 2 children x {iterations} increments.");
    // ANCHOR: process-shared-stats
    let page = SharedPage::new()?;
    let counter = page.counter();
    in_processes(2, iterations, || {
        let seen = counter.load(Relaxed);
        counter.store(seen + 1, Relaxed);
    })?;
    report(counter.load(Relaxed), 2 * iterations, Varies::Yes)?;
    // ANCHOR_END: process-shared-stats
    drop(page);

    println!("Fixed: fetch_add on the AtomicU64 in the shared mapping.");
    // ANCHOR: process-shared-fix
    let page = SharedPage::new()?;
    let counter = page.counter();
    in_processes(2, iterations, || {
        counter.fetch_add(1, Relaxed); // atomic in memory, whoever maps it: threads or processes
    })?;
    let observed = counter.load(Relaxed);
    // ANCHOR_END: process-shared-fix
    report(observed, 2 * iterations, Varies::No)?;
    ensure!(
        observed == 2 * iterations,
        "fetch_add in shared memory lost updates"
    );
    drop(page);
    Ok(())
}

/// Whether a count depends on scheduling. Those lines end in "this run", so that the test's
/// snapshot can redact exactly them.
#[derive(PartialEq)]
enum Varies {
    Yes,
    No,
}

/// Prints the counter next to the value it should have had, and how many updates were lost.
fn report(observed: u64, expected: u64, varies: Varies) -> Result<()> {
    // Increments can be lost, never invented: each store writes one more than a value that an
    // earlier store wrote. More than `expected` would be a bug in this program.
    ensure!(
        observed <= expected,
        "counter = {observed}, more than the {expected} increments made"
    );
    let this_run = if varies == Varies::Yes {
        " this run"
    } else {
        ""
    };
    println!(
        "  counter = {observed}, should be {expected}: lost {} of {expected} updates{this_run}",
        expected - observed
    );
    Ok(())
}

// ANCHOR: in-threads
/// Runs `increment` `iterations` times on each of `threads` threads. A barrier lets them all
/// start together, so that they overlap as much as the machine allows.
fn in_threads(
    threads: u64,
    iterations: u64,
    increment: impl Fn() + Sync,
) -> Result<()> {
    let start = Barrier::new(threads as usize);
    let work = || {
        start.wait();
        for _ in 0..iterations {
            increment();
        }
    };
    thread::scope(|s| {
        let handles = (0..threads)
            .map(|_| spawn(s, work))
            .collect::<Result<Vec<_>>>()?;
        handles.into_iter().try_for_each(join)
    })
}
// ANCHOR_END: in-threads

/// `Scope::spawn`, except that a failing `pthread_create` is an error, not a panic.
fn spawn<'scope, T: Send + 'scope>(
    s: &'scope Scope<'scope, '_>,
    f: impl FnOnce() -> T + Send + 'scope,
) -> Result<ScopedJoinHandle<'scope, T>> {
    thread::Builder::new()
        .spawn_scoped(s, f)
        .map_err(errno)
        .context("pthread_create()")
}

/// Waits for a thread; its panic becomes an error.
fn join<T>(handle: ScopedJoinHandle<'_, T>) -> Result<T> {
    handle.join().map_err(|_| anyhow!("a thread panicked"))
}

/// An `io::Error` from the OS, shown with its errno name as nix does: `EAGAIN: Try again`.
fn errno(err: std::io::Error) -> anyhow::Error {
    #[cfg(target_os = "linux")]
    if let Some(code) = err.raw_os_error() {
        return nix::errno::Errno::from_raw(code).into();
    }
    err.into()
}

// ANCHOR: in-processes
/// Runs `increment` `iterations` times in each of `processes` forked children, released
/// together by a pipe barrier.
#[cfg(target_os = "linux")]
fn in_processes(processes: usize, iterations: u64, increment: impl Fn()) -> Result<()> {
    let start = PipeBarrier::new()?;
    let children = (0..processes)
        .map(|_| {
            fork_child(|| {
                start.arrive_and_wait()?;
                for _ in 0..iterations {
                    increment();
                }
                Ok(0)
            })
        })
        .collect::<Result<Vec<Child>>>()?;
    start.release_when_arrived(children.len())?;
    for child in children {
        child.wait()?;
    }
    Ok(())
}
// ANCHOR_END: in-processes
