//! The kernel shares a CPU between tasks, not between processes: on one CPU, a process
//! with four busy threads gets about four times the CPU time of a process with one busy
//! thread.
//!
//! Run it with `cargo run -p scheduling --bin fair-share`.

use std::io::{self, PipeReader, Read, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use example_support::child::Child;
use example_support::mapping::Mapping;
use nix::time::ClockId;
use nix::unistd::{ForkResult, fork, getpid};
use scheduling::{
    GO, STOP, WAIT, autogroup, cgroups, cpu_limit, cpu_time, ensure_within, ms,
    pin_to_one_cpu,
};

fn main() -> ExitCode {
    example_support::main!(run)
}

/// The single-threaded process stops everyone once it has used this much CPU time.
const BUDGET: Duration = Duration::from_millis(50);
const THREADS: usize = 4;

// The phase of the run (WAIT, GO, STOP) is in memory shared by both processes. The
// threads spin while they wait; the other process waits on a pipe, so it ends if we die
// first.

// ANCHOR: spin
/// Busy from GO until STOP; returns the CPU time this thread used meanwhile.
fn spin(phase: &AtomicU32) -> Duration {
    while phase.load(Relaxed) == WAIT {}
    let start = cpu_time(ClockId::CLOCK_THREAD_CPUTIME_ID);
    while phase.load(Relaxed) == GO {}
    cpu_time(ClockId::CLOCK_THREAD_CPUTIME_ID) - start
}

/// The single-threaded process: waits for a byte on `go`, is busy until it has used
/// BUDGET of CPU time, then says STOP. End of file instead: the parent is gone.
fn spin_budget(mut go: PipeReader, phase: &AtomicU32) {
    if !matches!(go.read(&mut [0]), Ok(1)) {
        return;
    }
    let start = cpu_time(ClockId::CLOCK_PROCESS_CPUTIME_ID);
    while cpu_time(ClockId::CLOCK_PROCESS_CPUTIME_ID) - start < BUDGET {}
    phase.store(STOP, Relaxed);
}
// ANCHOR_END: spin

fn run() -> Result<()> {
    // ANCHOR: fork
    let cpu = pin_to_one_cpu()?;
    println!("Every task below runs on CPU {cpu} only.");
    let phase = Mapping::<AtomicU32>::shared()?;
    let (go, mut say_go) = io::pipe().context("pipe")?;

    // SAFETY: the process is single-threaded here; the child runs one loop and exits.
    let one = match unsafe { fork() }.context("fork")? {
        ForkResult::Parent { child } => child,
        ForkResult::Child => {
            drop(say_go); // else our own copy would keep the pipe open
            spin_budget(go, &phase);
            std::process::exit(0);
        }
    };
    drop(go);
    let one_process = Child::new(one);
    // ANCHOR_END: fork

    // ANCHOR: conditions
    // Fair to compare only if the kernel sees both processes in the same groups.
    let us = getpid();
    ensure!(
        cgroups(us)? == cgroups(one)?,
        "the processes are in different cgroups"
    );
    ensure!(autogroup(us)? == autogroup(one)?, "different autogroups");
    println!("Both processes: same cgroup, CPU limit: {}", cpu_limit(us)?);
    println!(
        "Both processes: same autogroup (one scheduling group per session): {}",
        autogroup(us)?
    );
    // ANCHOR_END: conditions

    // ANCHOR: threads
    let four: Vec<Duration> = thread::scope(|s| -> Result<_> {
        let mut threads = Vec::new();
        for _ in 0..THREADS {
            match thread::Builder::new().spawn_scoped(s, || spin(&phase)) {
                Ok(thread) => threads.push(thread),
                Err(e) => {
                    phase.store(STOP, Relaxed); // release whoever already started
                    return Err(e).context("spawning a thread");
                }
            }
        }
        phase.store(GO, Relaxed);
        if let Err(e) = say_go.write_all(b"!") {
            phase.store(STOP, Relaxed);
            return Err(e).context("writing to the pipe");
        }
        let times = threads
            .into_iter()
            .map(|t| t.join().expect("a busy thread panicked"));
        Ok(times.collect())
    })?;
    one_process.wait()?;
    // ANCHOR_END: threads

    // ANCHOR: check
    let four: Duration = four.iter().sum();
    println!(
        "CPU time, process with {THREADS} busy threads: {} ms",
        ms(four)
    );
    println!("CPU time, process with 1 busy thread: {} ms", ms(BUDGET));
    let ratio = four.as_secs_f64() / BUDGET.as_secs_f64();
    // Halfway, on a log scale, between sharing per process (1 : 1) and per task.
    let nearer = if ratio >= (THREADS as f64).sqrt() {
        format!("{THREADS} : 1, per task")
    } else {
        "1 : 1, per process".to_owned()
    };
    ensure_within("4 threads : 1 thread", ratio, 2.0, 8.0)?;
    println!("Ratio: {ratio:.1} : 1, nearer {nearer} (accepted 2 to 8)");
    println!("The CPU was shared per task: more threads, more CPU time.");
    // ANCHOR_END: check
    Ok(())
}
