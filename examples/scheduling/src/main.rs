//! Two busy threads on one CPU both make progress: the kernel preempts each of them,
//! again and again, to give the other a turn.
//!
//! Run it with `cargo run -p scheduling`.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use nix::sys::resource::{UsageWho, getrusage};
use nix::time::ClockId;
use scheduling::{cpu_time, ms, pin_to_one_cpu};

fn main() -> ExitCode {
    example_support::main!(run)
}

/// How much CPU time each thread spends before it stops.
const BUDGET: Duration = Duration::from_millis(100);

// ANCHOR: busy
/// What a busy thread saw when it was done.
struct Finished {
    /// CPU time the other thread had used by then.
    other_had_run: Duration,
    /// How often the kernel took the CPU away from this thread while it could still
    /// run.
    preempted: i64,
}

/// Spins until this thread has used `BUDGET` of CPU time, publishing its progress.
fn busy(me: usize, progress: &[AtomicU64; 2]) -> Result<Finished> {
    loop {
        let used = cpu_time(ClockId::CLOCK_THREAD_CPUTIME_ID);
        progress[me].store(used.as_micros() as u64, Relaxed);
        if used >= BUDGET {
            break;
        }
    }
    let other_had_run = Duration::from_micros(progress[1 - me].load(Relaxed));
    let usage = getrusage(UsageWho::RUSAGE_THREAD).context("getrusage")?;
    Ok(Finished {
        other_had_run,
        preempted: usage.involuntary_context_switches(),
    })
}
// ANCHOR_END: busy

fn run() -> Result<()> {
    // ANCHOR: run
    let cpu = pin_to_one_cpu()?;
    println!(
        "Two busy threads on CPU {cpu} only; each stops after {} ms of CPU time.",
        ms(BUDGET)
    );
    let progress = [AtomicU64::new(0), AtomicU64::new(0)];
    let finished = thread::scope(|s| {
        let mut threads = Vec::new();
        for me in 0..2 {
            let progress = &progress;
            let thread = thread::Builder::new()
                .spawn_scoped(s, move || busy(me, progress))
                .context("spawning a thread")?;
            threads.push(thread);
        }
        threads
            .into_iter()
            .map(|t| t.join().expect("a busy thread panicked"))
            .collect::<Result<Vec<_>>>()
    })?;
    // ANCHOR_END: run

    // ANCHOR: check
    for (me, f) in finished.iter().enumerate() {
        ensure!(f.preempted > 0, "thread {} was never preempted", me + 1);
        println!("thread {}: preempted {} times", me + 1, f.preempted);
    }
    // The thread that finished first saw the other one still short of its budget.
    let (first, f) = (0..2)
        .map(|me| (me, &finished[me]))
        .min_by_key(|(_, f)| f.other_had_run)
        .expect("two threads");
    ensure!(
        f.other_had_run >= BUDGET / 4,
        "the other thread made too little progress: {:?}",
        f.other_had_run
    );
    println!(
        "When thread {} had run its {} ms, the other had run {} ms.",
        first + 1,
        ms(BUDGET),
        ms(f.other_had_run)
    );
    println!("One CPU, two busy threads: the kernel made them take turns.");
    // ANCHOR_END: check
    Ok(())
}
