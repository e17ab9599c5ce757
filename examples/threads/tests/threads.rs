//! Runs the `threads` example as a child process and checks what it demonstrates.
#![cfg(target_os = "linux")]

use std::collections::HashSet;

use regex::Regex;
use test_support::{ADDRS, PIDS, Redaction, TIDS, TIMES};

const BIN: &str = env!("CARGO_BIN_EXE_threads");

/// A descriptor's number depends on how many the example inherited.
const FD_NUMBER: Redaction = ("[FD]", r"descriptor (?<redacted>\d+)");

/// Every number captured by `pattern`'s first group, in order.
fn numbers(text: &str, pattern: &str) -> Vec<u64> {
    let regex = Regex::new(pattern).expect("valid regex");
    regex
        .captures_iter(text)
        .map(|c| c[1].parse().expect("a number"))
        .collect()
}

/// Every hexadecimal address captured by `pattern`'s first group, in order.
fn addresses(text: &str, pattern: &str) -> Vec<String> {
    let regex = Regex::new(pattern).expect("valid regex");
    regex.captures_iter(text).map(|c| c[1].to_owned()).collect()
}

#[test]
fn threads_share_memory_but_not_stacks() {
    let out = test_support::run(BIN, &[]);
    out.assert_success();
    let stdout = &out.stdout;

    // Same pid everywhere, a different tid for each thread, and the main thread's tid is the pid.
    let pids: HashSet<u64> = numbers(stdout, r"pid (\d+)").into_iter().collect();
    assert_eq!(pids.len(), 1, "more than one pid:\n{stdout}");
    let pid = *pids.iter().next().unwrap();
    let tids = numbers(
        stdout,
        r"(?m)^   (?:second thread: .*|thread \d+ +)tid (\d+)",
    );
    assert_eq!(
        tids.len(),
        4,
        "expected the second thread and 3 more:\n{stdout}"
    );
    let main_tids = numbers(stdout, r"(?m)^   main.*tid (\d+)");
    assert!(
        main_tids.iter().all(|&t| t == pid),
        "main tid != pid:\n{stdout}"
    );
    assert!(
        !tids.contains(&pid),
        "a spawned thread has the main thread's tid:\n{stdout}"
    );

    // A thread's writes are seen by main.
    out.assert_stdout_contains(
        "main sees its vector as [100, 200, 300] and the global at 3",
    );

    // One stack per thread (distinct local addresses), one heap (one address for the value).
    let locals = addresses(stdout, r"local at (0x[0-9a-f]+)");
    let heaps = addresses(stdout, r"heap value at (0x[0-9a-f]+)");
    assert_eq!(locals.len(), 4, "{stdout}");
    assert_eq!(locals.iter().collect::<HashSet<_>>().len(), 4, "{stdout}");
    assert_eq!(heaps.len(), 4, "{stdout}");
    assert_eq!(heaps.iter().collect::<HashSet<_>>().len(), 1, "{stdout}");
    out.assert_stdout_contains(
        "each thread's local variable is at a different address (4 stacks): yes",
    )
    .assert_stdout_contains(
        "the heap value is at the same address in all 4 threads: yes",
    );

    // The message arrives in the buffer it was allocated in.
    let sent = addresses(stdout, r"allocated at (0x[0-9a-f]+)");
    let received = addresses(stdout, r"in the buffer at (0x[0-9a-f]+)");
    assert_eq!(sent.len(), 1, "{stdout}");
    assert_eq!(sent, received, "{stdout}");
    out.assert_stdout_contains("received [10, 20, 30]")
        .assert_stdout_contains(
            "the vector arrived in the buffer it was allocated in: yes",
        );

    out.assert_stdout_contains("Clean exit: no child process left");
    out.assert_stdout_snapshot("output.txt", &[PIDS, TIDS, ADDRS, FD_NUMBER, TIMES]);
}

#[test]
fn a_descriptor_closed_by_one_thread_is_closed_for_all() {
    let out = test_support::run(BIN, &[]);
    out.assert_success();
    let stdout = &out.stdout;
    // One number throughout: opened by thread A, read and closed by thread B, then refused to A.
    let opened = numbers(stdout, r"thread A: put .* descriptor (\d+)");
    let closed = numbers(
        stdout,
        r#"thread B: read "hello" from descriptor (\d+), then closed it"#,
    );
    let refused = numbers(
        stdout,
        r"thread A: reads descriptor (\d+) again: refused with EBADF",
    );
    assert_eq!(opened.len(), 1, "{stdout}");
    assert_eq!(opened, closed, "{stdout}");
    assert_eq!(opened, refused, "{stdout}");
}

/// Every number of milliseconds captured by `pattern`'s first group.
fn millis(text: &str, pattern: &str) -> Vec<f64> {
    let regex = Regex::new(pattern).expect("valid regex");
    regex
        .captures_iter(text)
        .map(|c| c[1].parse().expect("milliseconds"))
        .collect()
}

#[test]
fn cpu_time_is_counted_per_thread_and_adds_up_for_the_process() {
    let out = test_support::run(BIN, &[]);
    out.assert_success();
    let stdout = &out.stdout;
    let busy = millis(stdout, r"rounds of work took (\d+\.\d) ms of CPU time");
    let together = millis(stdout, r"the two threads together: (\d+\.\d) ms");
    let process = millis(
        stdout,
        r"the whole process, meanwhile: (\d+\.\d) ms of CPU time",
    );
    assert_eq!(busy.len(), 2, "{stdout}");
    assert_eq!((together.len(), process.len()), (1, 1), "{stdout}");
    // Each thread worked, so each has CPU time of its own. The printed values are rounded to
    // 0.1 ms, hence the small tolerances.
    assert!(busy.iter().all(|&ms| ms > 0.0), "{stdout}");
    assert!((busy[0] + busy[1] - together[0]).abs() <= 0.15, "{stdout}");
    assert!(process[0] + 0.1 >= together[0], "{stdout}");
    // Two thread ids, neither the main thread's (which is the pid).
    let tids = numbers(stdout, r"busy thread tid (\d+)");
    let pid = numbers(stdout, r"main thread: +pid (\d+)")[0];
    assert_eq!(tids.len(), 2, "{stdout}");
    assert!(tids[0] != tids[1] && !tids.contains(&pid), "{stdout}");
    out.assert_stdout_contains(
        "the process's CPU time is at least the sum of its threads': yes",
    );
}

#[test]
fn more_threads_more_stacks() {
    let out = test_support::run(BIN, &["--threads", "8"]);
    out.assert_success();
    let locals = addresses(&out.stdout, r"local at (0x[0-9a-f]+)");
    assert_eq!(
        locals.iter().collect::<HashSet<_>>().len(),
        9,
        "{}",
        out.stdout
    );
    out.assert_stdout_contains(
        "[100, 200, 300, 400, 500, 600, 700, 800] and the global at 8",
    );
}

#[test]
fn bad_flags_are_usage_errors() {
    let cases: [(&[&str], &str); 3] = [
        (
            &["--threads", "0"],
            "error: invalid value '0' for '--threads <THREADS>'",
        ),
        (
            &["--threads", "many"],
            "error: invalid value 'many' for '--threads <THREADS>'",
        ),
        (&["--bogus"], "error: unexpected argument '--bogus'"),
    ];
    for (args, message) in cases {
        let out = test_support::run(BIN, args);
        out.assert_code(2);
        out.assert_stderr_contains(message);
    }
}

/// Out of threads: an unprivileged user limited to one task (`prlimit --nproc=1`) cannot
/// create a second thread. The example must say so in one line, not panic. Root ignores
/// RLIMIT_NPROC, so as root the example runs as `nobody` (uid 65534).
#[test]
fn a_failed_spawn_is_one_clear_line() {
    let Some(cmd) = test_support::with_one_process_allowed(BIN, &[]) else {
        return;
    };
    let out = test_support::run_command(cmd);
    out.assert_code(1);
    out.assert_one_line_error();
    out.assert_stderr_contains("threads: error: pthread_create(): EAGAIN");
}
