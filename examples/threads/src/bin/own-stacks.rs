//! One stack per thread, one heap for all: a local variable has a different address in
//! every thread, a value on the heap has one address, the same in all of them.
//!
//! Run it with `cargo run -p threads --bin own-stacks`.

use std::collections::HashSet;
use std::io;
use std::process::ExitCode;
use std::thread;

use anyhow::{Context, Result, ensure};
use crossbeam::channel;
use nix::unistd::gettid;

fn main() -> ExitCode {
    example_support::main!(run)
}

/// Where one thread found its local variable and the shared heap value.
struct Report {
    line: String,
    local: usize,
    heap: usize,
}

impl Report {
    fn new(who: &str, local: &usize, heap: &u64) -> Report {
        let tid = gettid();
        Report {
            line: format!(
                "{who:<9} tid {tid}: local at {local:p}, heap value at {heap:p}"
            ),
            local: std::ptr::from_ref(local).addr(),
            heap: std::ptr::from_ref(heap).addr(),
        }
    }
}

fn run() -> Result<()> {
    println!("One stack per thread, one heap for all");
    // ANCHOR: own-stacks
    let heap_value = Box::new(7_u64); // one value on the heap
    // Nothing is ever sent on `gate`: the threads wait until `open_gate` is dropped.
    let (open_gate, gate) = channel::bounded::<()>(0);
    let mut reports = thread::scope(|s| -> Result<Vec<Report>> {
        let started: io::Result<Vec<_>> = (1..=3)
            .map(|n| {
                let (gate, heap_value) = (gate.clone(), &heap_value);
                thread::Builder::new().spawn_scoped(s, move || {
                    let local = n; // a local variable: it lives on this thread's stack
                    let report =
                        Report::new(&format!("thread {n}"), &local, heap_value);
                    let _ = gate.recv(); // stay alive until every thread has started
                    report
                })
            })
            .collect();
        drop(open_gate); // all of them exist at once now (or one failed): let them go
        let handles = started.context("spawning a thread")?;
        Ok(handles.into_iter().map(|h| h.join().unwrap()).collect())
    })?;
    let local = 0_usize; // main's local lives on the main thread's stack
    reports.insert(0, Report::new("main", &local, &heap_value));
    // ANCHOR_END: own-stacks
    for report in &reports {
        println!("{}", report.line);
    }

    let stacks: HashSet<usize> = reports.iter().map(|r| r.local).collect();
    let heaps: HashSet<usize> = reports.iter().map(|r| r.heap).collect();
    ensure!(stacks.len() == 4, "two threads share a stack address");
    ensure!(
        heaps.len() == 1,
        "the heap value has {} addresses",
        heaps.len()
    );
    println!("each thread's local variable is at a different address (4 stacks): yes");
    println!("the heap value is at the same address in all 4 threads: yes");
    Ok(())
}
