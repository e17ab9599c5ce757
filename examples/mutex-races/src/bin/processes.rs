//! The same races with processes: an ordinary global is not shared after `fork`, so
//! nothing races on it; a counter in a `MAP_SHARED` mapping is shared, races exactly
//! like the threads' counter did, and is fixed the same way.

use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use anyhow::{Context, Result, ensure};
use example_support::child::fork_child;
use example_support::mapping::Mapping;

const ITERATIONS: u64 = 300_000;

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run() -> Result<()> {
    println!(
        "An ordinary global, incremented {ITERATIONS} times by each of 2 children:"
    );
    // ANCHOR: process-plain
    /// An ordinary global: no atomic, no lock. Every access to it is `unsafe`, because
    /// two threads using it at once would be a data race.
    static mut PLAIN: u64 = 0;

    let count = || {
        // SAFETY: a forked child has a single thread: nothing else touches its PLAIN.
        let counted = unsafe {
            for _ in 0..ITERATIONS {
                PLAIN += 1;
            }
            PLAIN
        };
        println!("  child (pid {}) counted to {counted}", std::process::id());
        ensure!(
            counted == ITERATIONS,
            "the child started from a shared count"
        );
        Ok(())
    };
    for _ in 0..2 {
        // SAFETY: no other thread runs in this process, so the child may run any code.
        let child = unsafe { fork_child("processes", "child", count) }?;
        child.wait()?; // one after the other: were PLAIN shared, the second saw 2x
    }
    // SAFETY: the children have exited, and this process runs no other thread.
    let parent_sees = unsafe { PLAIN };
    // ANCHOR_END: process-plain
    println!("  the parent's copy is still {parent_sees}");
    ensure!(parent_sees == 0, "the parent's copy changed");

    println!("A counter in a MAP_SHARED mapping, which fork does not copy.");
    println!("Forced: parent and child each load, meet through two pipes, then store.");
    // ANCHOR: process-shared-race
    let counter = Mapping::<AtomicU64>::shared()?; // one page that the child will share
    let (mut loaded, loaded_tx) = io::pipe().context("pipe()")?; // child: "loaded"
    let (go, mut go_tx) = io::pipe().context("pipe()")?; // parent: "store now"
    // SAFETY: no other thread runs in this process: the child may run any Rust code.
    let child = unsafe {
        fork_child("processes", "child", || {
            let seen = counter.load(Relaxed); // read the shared counter...
            (&loaded_tx).write_all(b"!")?;
            (&go).read_exact(&mut [0])?; // ...wait until the parent has read it too...
            counter.store(seen + 1, Relaxed); // ...and write back: one update is lost
            println!("  child loaded {seen} and stored {}", seen + 1);
            Ok(())
        })
    }?;
    drop(loaded_tx); // so that a child that dies early means end of file, not a hang
    let seen = counter.load(Relaxed);
    loaded
        .read_exact(&mut [0])
        .context("waiting for the child's load")?;
    go_tx.write_all(b"!").context("releasing the child")?;
    counter.store(seen + 1, Relaxed);
    child.wait()?;
    // ANCHOR_END: process-shared-race
    println!("  parent loaded {seen} and stored {}", seen + 1);
    let observed = counter.load(Relaxed);
    report(observed, 2, "")?;
    ensure!(
        (seen, observed) == (0, 1),
        "both should load 0 and the counter end at 1"
    );

    println!("Left to the scheduler: 2 children x {ITERATIONS} increments.");
    // ANCHOR: process-shared-stats
    let counter = Mapping::<AtomicU64>::shared()?;
    in_children(2, || {
        let seen = counter.load(Relaxed);
        counter.store(seen + 1, Relaxed);
    })?;
    report(counter.load(Relaxed), 2 * ITERATIONS, " this run")?;
    // ANCHOR_END: process-shared-stats

    println!("Fixed: fetch_add on the AtomicU64 in the shared mapping.");
    // ANCHOR: process-shared-fix
    let counter = Mapping::<AtomicU64>::shared()?;
    in_children(2, || {
        counter.fetch_add(1, Relaxed); // atomic in memory, whoever maps it
    })?;
    let observed = counter.load(Relaxed);
    // ANCHOR_END: process-shared-fix
    report(observed, 2 * ITERATIONS, "")?;
    ensure!(
        observed == 2 * ITERATIONS,
        "fetch_add in shared memory lost updates"
    );
    println!("Processes raced only on the memory they shared, and fetch_add fixed it.");
    Ok(())
}

// ANCHOR: in-children
/// Runs `increment` ITERATIONS times in each of `children` forked children. They wait
/// for a byte from a pipe until all of them exist, so that they overlap.
fn in_children(children: usize, increment: impl Fn()) -> Result<()> {
    let (gate, mut open) = io::pipe().context("pipe()")?;
    let mut started = Vec::new();
    for _ in 0..children {
        // SAFETY: no other thread runs in this process, so the child may run any code.
        started.push(unsafe {
            fork_child("processes", "child", || {
                (&gate).read_exact(&mut [0])?;
                for _ in 0..ITERATIONS {
                    increment();
                }
                Ok(())
            })
        }?); // on an error, dropping `started` kills and reaps the children
    }
    open.write_all(&vec![0; children])
        .context("opening the gate")?;
    started.into_iter().try_for_each(|child| child.wait())
}
// ANCHOR_END: in-children

/// Prints the counter next to the value it should have had. Increments can be lost,
/// never invented: each store writes one more than a value an earlier store wrote.
fn report(observed: u64, expected: u64, this_run: &str) -> Result<()> {
    ensure!(
        observed <= expected,
        "{observed} is more than the {expected} increments"
    );
    let lost = expected - observed;
    println!("  counter = {observed}, should be {expected}: lost {lost}{this_run}");
    Ok(())
}
