//! Runs the `threads` examples (one story per binary) and checks what they print, and
//! that each ends in one clear line when its stdout, its task limit or its descriptor
//! limit fails. The facts each story demonstrates are checked by the program itself
//! before it prints `yes`; these tests check the numbers it prints, which the snapshots
//! hide.

use std::collections::HashSet;

use regex::Regex;
use test_support::{ADDRS, PIDS, Redaction, TIDS, TIMES};

const THREADS: &str = env!("CARGO_BIN_EXE_threads");
const SHARED_HEAP: &str = env!("CARGO_BIN_EXE_shared-heap");
const OWN_STACKS: &str = env!("CARGO_BIN_EXE_own-stacks");
const CHANNEL: &str = env!("CARGO_BIN_EXE_channel");
const SHARED_FDS: &str = env!("CARGO_BIN_EXE_shared-fds");
const CPU_TIME: &str = env!("CARGO_BIN_EXE_cpu-time");

/// Every binary, the number of threads it starts, and how many of them are certainly
/// alive at the same moment (so that a task limit below that certainly refuses one).
const BINS: [(&str, u32, u32); 6] = [
    (THREADS, 1, 1),
    (SHARED_HEAP, 3, 1),
    (OWN_STACKS, 3, 3),
    (CHANNEL, 2, 2),
    (SHARED_FDS, 1, 1),
    (CPU_TIME, 2, 1),
];

/// A descriptor's number depends on how many the example inherited.
const FD_NUMBER: Redaction = ("[FD]", r"descriptor (?<redacted>\d+)");

/// Every match of `pattern`'s first group, in order.
fn captures(text: &str, pattern: &str) -> Vec<String> {
    let regex = Regex::new(pattern).expect("valid regex");
    regex.captures_iter(text).map(|c| c[1].to_owned()).collect()
}

fn distinct(items: &[String]) -> usize {
    items.iter().collect::<HashSet<_>>().len()
}

#[test]
fn one_pid_two_thread_ids() {
    let out = test_support::run(THREADS, &[]);
    out.assert_success();
    let stdout = &out.stdout;
    let pids = captures(stdout, r"pid (\d+),");
    let tids = captures(stdout, r"tid (\d+)");
    assert_eq!((pids.len(), tids.len()), (2, 2), "{stdout}");
    assert_eq!(pids[0], pids[1], "two pids:\n{stdout}");
    assert_ne!(tids[0], tids[1], "one tid for both threads:\n{stdout}");
    assert_eq!(
        tids[0], pids[0],
        "the main thread's tid is not the pid:\n{stdout}"
    );
    out.assert_stdout_snapshot("output.txt", &[PIDS, TIDS]);
}

#[test]
fn threads_write_into_main_memory() {
    let out = test_support::run(SHARED_HEAP, &[]);
    out.assert_success();
    out.assert_stdout_snapshot("output-shared-heap.txt", &[]);
}

#[test]
fn one_stack_per_thread_one_heap() {
    let out = test_support::run(OWN_STACKS, &[]);
    out.assert_success();
    let stdout = &out.stdout;
    let locals = captures(stdout, r"local at (0x[0-9a-f]+)");
    let heaps = captures(stdout, r"heap value at (0x[0-9a-f]+)");
    let tids = captures(stdout, r"tid (\d+)");
    assert_eq!((locals.len(), distinct(&locals)), (4, 4), "{stdout}");
    assert_eq!((heaps.len(), distinct(&heaps)), (4, 1), "{stdout}");
    assert_eq!(distinct(&tids), 4, "{stdout}");
    out.assert_stdout_snapshot("output-own-stacks.txt", &[TIDS, ADDRS]);
}

#[test]
fn a_message_arrives_in_the_buffer_it_was_allocated_in() {
    let out = test_support::run(CHANNEL, &[]);
    out.assert_success();
    let stdout = &out.stdout;
    let sent = captures(stdout, r"allocated at (0x[0-9a-f]+)");
    let received = captures(stdout, r"in the buffer at (0x[0-9a-f]+)");
    assert_eq!(sent.len(), 1, "{stdout}");
    assert_eq!(sent, received, "{stdout}");
    out.assert_stdout_snapshot("output-channel.txt", &[ADDRS]);
}

#[test]
fn a_descriptor_closed_by_one_thread_is_closed_for_all() {
    let out = test_support::run(SHARED_FDS, &[]);
    out.assert_success();
    let stdout = &out.stdout;
    // One number: opened by main, read and closed by the second thread, then refused.
    let numbers = captures(stdout, r"descriptor (\d+)");
    assert_eq!(numbers.len(), 3, "{stdout}");
    assert_eq!(distinct(&numbers), 1, "{stdout}");
    out.assert_stdout_snapshot("output-shared-fds.txt", &[FD_NUMBER]);
}

/// Every number of milliseconds captured by `pattern`'s first group.
fn millis(text: &str, pattern: &str) -> Vec<f64> {
    captures(text, pattern)
        .iter()
        .map(|ms| ms.parse().expect("milliseconds"))
        .collect()
}

#[test]
fn cpu_time_is_counted_per_thread_and_adds_up_for_the_process() {
    let out = test_support::run(CPU_TIME, &[]);
    out.assert_success();
    let stdout = &out.stdout;
    let busy = millis(stdout, r"rounds of work took (\d+\.\d) ms of CPU time");
    let together = millis(stdout, r"the two threads together: (\d+\.\d) ms");
    let process = millis(stdout, r"the whole process, meanwhile: (\d+\.\d) ms");
    assert_eq!(busy.len(), 2, "{stdout}");
    assert_eq!((together.len(), process.len()), (1, 1), "{stdout}");
    // The printed values are rounded to 0.1 ms, hence the small tolerances.
    assert!((busy[0] + busy[1] - together[0]).abs() <= 0.15, "{stdout}");
    assert!(process[0] + 0.1 >= together[0], "{stdout}");
    let tids = captures(stdout, r"busy thread tid (\d+)");
    assert_eq!((tids.len(), distinct(&tids)), (2, 2), "{stdout}");
    out.assert_stdout_snapshot("output-cpu-time.txt", &[TIDS, TIMES]);
}

#[test]
fn stdout_failures_end_cleanly() {
    for (bin, ..) in BINS {
        test_support::assert_stdout_failures_end_cleanly(bin, &[]);
    }
}

#[test]
fn an_argument_is_refused_in_one_line() {
    for (bin, ..) in BINS {
        let out = test_support::run(bin, &["--threads", "8"]);
        out.assert_code(2).assert_one_line_error();
        out.assert_stderr_contains("unexpected argument \"--threads\"");
    }
}

/// Under a task limit (RLIMIT_NPROC, which counts threads too) a refused thread ends
/// the example in one line naming the limit, whichever thread it is, and no thread is
/// left waiting for one that never started. Where a refusal is not certain (a thread may
/// have ended before the next one starts, or other tasks of the same user may count),
/// the run may succeed; when it fails, it must fail the same way.
#[test]
fn a_refused_thread_ends_in_one_line_at_every_limit() {
    for (bin, made, alive_together) in BINS {
        for limit in 1..=made + 1 {
            let Some(out) = run_with_process_limit(bin, limit) else {
                return;
            };
            if out.status.success() && limit > alive_together {
                continue;
            }
            out.assert_code(1).assert_one_line_error();
            out.assert_stderr_contains(
                "thread: EAGAIN: Resource temporarily unavailable",
            )
            .assert_stderr_contains("RLIMIT_NPROC");
        }
    }
}

/// Runs `bin` under a task limit of `limit`; `None` after a loud skip.
fn run_with_process_limit(bin: &str, limit: u32) -> Option<test_support::Finished> {
    let cmd = test_support::with_process_limit(bin, &[], limit)?;
    Some(test_support::run_command(cmd))
}

/// With room for one descriptor beyond stdin, stdout and stderr (`RLIMIT_NOFILE` 4),
/// `pipe()` cannot get its two, and the error names it, not a consequence in another
/// thread. Every example ends in one line when a descriptor is refused.
#[test]
fn too_few_descriptors_end_in_one_line() {
    let prlimit = std::process::Command::new("prlimit")
        .arg("--version")
        .output();
    if !prlimit.is_ok_and(|out| out.status.success()) {
        test_support::skipped("prlimit (util-linux) is not installed");
        return;
    }
    for (bin, ..) in BINS {
        for limit in [4, 5] {
            let cmd =
                test_support::command("prlimit", &[&format!("--nofile={limit}"), bin]);
            let out = test_support::run_command(cmd);
            if bin == SHARED_FDS && limit == 4 {
                out.assert_code(1).assert_one_line_error();
                out.assert_stderr_contains("shared-fds: error: pipe(): EMFILE");
            } else if !out.status.success() {
                out.assert_code(1).assert_one_line_error();
                out.assert_stderr_contains("EMFILE: Too many open files");
            }
        }
    }
}
