//! On Linux the nice value belongs to a thread: raised on one busy thread, it shrinks
//! that thread's share of the CPU, and its sibling threads keep theirs.
//!
//! Run it with `cargo run -p scheduling --bin nice`.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use nix::errno::Errno;
use nix::time::ClockId;
use nix::unistd::gettid;
use scheduling::{GO, STOP, WAIT, cpu_time, ensure_within, ms, pin_to_one_cpu};

fn main() -> ExitCode {
    example_support::main!(run)
}

/// The first thread stops everyone once it has used this much CPU time.
const BUDGET: Duration = Duration::from_millis(90);
/// How much nicer (lower priority) the third thread makes itself.
const NICER: i32 = 5;

// ANCHOR: nice
/// The nice value of one thread: `who` is a thread id.
fn nice_of(tid: libc::id_t) -> Result<i32> {
    Errno::clear(); // -1 is a valid nice value: only errno tells an error apart
    // SAFETY: getpriority reads a value; it touches no memory of ours.
    let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, tid) };
    if nice == -1 && Errno::last_raw() != 0 {
        return Err(Errno::last()).context("getpriority");
    }
    Ok(nice)
}

/// Makes the calling thread, and only it, nicer by NICER.
fn be_nicer() -> Result<i32> {
    let tid = gettid().as_raw() as libc::id_t;
    let nice = nice_of(tid)? + NICER;
    ensure!(
        nice <= 19,
        "this thread is already at nice {}",
        nice - NICER
    );
    // SAFETY: setpriority changes a scheduling attribute; it touches no memory of ours.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, nice) } == -1 {
        return Err(Errno::last()).context("setpriority");
    }
    Ok(nice)
}
// ANCHOR_END: nice

// ANCHOR: spin
/// Busy from GO until STOP; the leader says STOP once it has used BUDGET of CPU time.
/// Returns the CPU time this thread used from GO, and its nice value.
fn spin(phase: &AtomicU32, leader: bool) -> Result<(Duration, i32)> {
    while phase.load(Relaxed) == WAIT {}
    let start = cpu_time(ClockId::CLOCK_THREAD_CPUTIME_ID);
    while phase.load(Relaxed) == GO {
        if leader && cpu_time(ClockId::CLOCK_THREAD_CPUTIME_ID) - start >= BUDGET {
            phase.store(STOP, Relaxed);
        }
    }
    let used = cpu_time(ClockId::CLOCK_THREAD_CPUTIME_ID) - start;
    Ok((used, nice_of(gettid().as_raw() as libc::id_t)?))
}
// ANCHOR_END: spin

fn run() -> Result<()> {
    // ANCHOR: run
    let cpu = pin_to_one_cpu()?;
    println!("Three busy threads of one process, on CPU {cpu} only.");
    let phase = AtomicU32::new(WAIT);
    let results = thread::scope(|s| {
        let mut threads = Vec::new();
        for (leader, nicer) in [(true, false), (false, false), (false, true)] {
            let phase = &phase;
            let body = move || {
                if nicer {
                    be_nicer()?; // before GO; the leader stops everyone in any case
                }
                spin(phase, leader)
            };
            match thread::Builder::new().spawn_scoped(s, body) {
                Ok(thread) => threads.push(thread),
                Err(e) => {
                    phase.store(STOP, Relaxed); // release whoever already started
                    return Err(e).context("spawning a thread");
                }
            }
        }
        phase.store(GO, Relaxed);
        let results: Vec<_> = threads
            .into_iter()
            .map(|t| t.join().expect("a busy thread panicked"))
            .collect();
        results.into_iter().collect::<Result<Vec<_>>>()
    })?;
    // ANCHOR_END: run

    // ANCHOR: check
    let main_nice = nice_of(gettid().as_raw() as libc::id_t)?;
    println!("main thread: nice {main_nice}");
    for (i, (used, nice)) in results.iter().enumerate() {
        println!(
            "thread {}: nice {nice}, {} ms of CPU time",
            i + 1,
            ms(*used)
        );
    }
    let least = (1..=3)
        .min_by_key(|&n| results[n - 1].0)
        .expect("three threads");
    println!("least CPU time: thread {least}");
    let [(first, _), (second, _), (third, _)] = results[..] else {
        unreachable!("three threads")
    };
    let same = first.as_secs_f64() / second.as_secs_f64();
    let niced = first.as_secs_f64() / third.as_secs_f64();
    ensure_within("equal nice values", same, 0.5, 2.0)?;
    ensure_within("nice +5", niced, 1.5, 6.0)?;
    println!("thread 1 : thread 2 is {same:.1} : 1 (accepted 0.5 to 2)");
    println!("thread 1 : thread 3 is {niced:.1} : 1 (expected 3, accepted 1.5 to 6)");
    ensure!(
        results[2].1 == main_nice + NICER,
        "thread 3's nice did not change"
    );
    ensure!(results[1].1 == main_nice, "thread 2's nice changed too");
    ensure!(
        least == 3,
        "thread {least}, not the nicer one, got the least CPU time"
    );
    println!("Only the thread that was made nicer got less of the CPU.");
    // ANCHOR_END: check
    Ok(())
}
