//! The kernel schedules threads, not processes: each thread's CPU time is counted on
//! its own, and the process's CPU time is the sum of its threads'.
//!
//! Run it with `cargo run -p threads --bin cpu-time`.

use std::hint::black_box;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use nix::time::{ClockId, clock_gettime};
use nix::unistd::{Pid, gettid};

fn main() -> ExitCode {
    example_support::main!(run)
}

/// Rounds of busy work for each thread: a fixed amount of work, not a fixed time.
const ROUNDS: u64 = 10_000_000;

// ANCHOR: busy-work
/// Runs on its own thread: a fixed amount of work, then this thread's CPU time so far.
fn busy_work() -> Result<(Pid, Duration)> {
    let mut x: u64 = 1;
    for _ in 0..ROUNDS {
        x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
    }
    Ok((gettid(), clock(ClockId::CLOCK_THREAD_CPUTIME_ID)?))
}
// ANCHOR_END: busy-work

fn run() -> Result<()> {
    println!("The kernel hands out CPU time to threads, and counts it per thread");
    // ANCHOR: cpu-time
    let process_before = clock(ClockId::CLOCK_PROCESS_CPUTIME_ID)?;
    let started = Instant::now();
    let busy = thread::scope(|s| -> Result<Vec<(Pid, Duration)>> {
        let mut handles = Vec::new();
        for _ in 0..2 {
            let spawned = thread::Builder::new().spawn_scoped(s, busy_work);
            handles.push(spawned.context("spawning a thread")?);
        }
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })?;
    let process = clock(ClockId::CLOCK_PROCESS_CPUTIME_ID)? - process_before;
    let wall = started.elapsed();
    // ANCHOR_END: cpu-time
    ensure!(
        busy.iter().all(|(_, cpu)| !cpu.is_zero()),
        "a busy thread used no CPU time"
    );
    for (tid, cpu) in &busy {
        let cpu = ms(*cpu);
        println!(
            "busy thread tid {tid}: {ROUNDS} rounds of work took {cpu} of CPU time"
        );
    }
    let threads: Duration = busy.iter().map(|(_, cpu)| *cpu).sum();
    println!("the two threads together: {} of CPU time", ms(threads));
    println!(
        "the whole process, meanwhile: {} of CPU time, {} of wall-clock time",
        ms(process),
        ms(wall)
    );

    ensure!(
        process >= threads,
        "the process used {process:?} of CPU time, less than its threads' {threads:?}"
    );
    println!("the process's CPU time is at least the sum of its threads': yes");
    Ok(())
}

/// Reads a clock: `CLOCK_THREAD_CPUTIME_ID` is the calling thread's CPU time,
/// `CLOCK_PROCESS_CPUTIME_ID` the sum over all threads of the process, past and
/// present.
fn clock(id: ClockId) -> Result<Duration> {
    let now = clock_gettime(id).with_context(|| format!("clock_gettime({id})"))?;
    Ok(Duration::from(now))
}

/// A duration in milliseconds with one decimal, e.g. `52.3 ms`.
fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}
