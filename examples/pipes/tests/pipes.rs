//! Runs the `pipes` example and checks what it demonstrates: a request/response through pipes,
//! EOF only after the last write end closes, SIGPIPE vs EPIPE, the same exchange between threads
//! without a copy; plus bad input and a stdout nobody reads.
#![cfg(target_os = "linux")]

use test_support::{ADDRS, PIDS};

const BIN: &str = env!("CARGO_BIN_EXE_pipes");

#[test]
fn processes_talk_through_pipes_and_threads_through_a_channel() {
    let out = test_support::run(BIN, &[]);
    out.assert_success();

    // 1. Request and response through two pipes, and a kernel buffer of 64 KiB.
    out.assert_stdout_contains("each pipe is a kernel buffer of 65536 bytes")
        .assert_stdout_contains("read request \"hello, child\" from the pipe")
        .assert_stdout_contains("got response \"HELLO, CHILD\"");
    // 2. No EOF while the parent's own write end is open, EOF once it is closed.
    out.assert_stdout_contains("read \"last words\"")
        .assert_stdout_contains(
            "read() again: EAGAIN, not EOF: its own write end is open",
        )
        .assert_stdout_contains("closed its write end; read() returns 0 bytes: EOF");
    // 3. With SIGPIPE at its default the writer dies; ignored, the write fails with EPIPE.
    out.assert_stdout_contains("killed by signal SIGPIPE")
        .assert_stdout_contains("SIGPIPE ignored: write() fails with EPIPE");
    // Every child was reaped: three exits/deaths reported, and nothing left over.
    let reaped = out.stdout.matches(": reaped child pid ").count();
    assert_eq!(reaped, 3, "{}", out.stdout);
    out.assert_stdout_contains("Clean exit: no child process left");

    // 4. Threads: one pid, and the same buffer address at every step (moved, not copied).
    let thread_lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains(" thread in pid "))
        .collect();
    assert_eq!(thread_lines.len(), 3, "{}", out.stdout);
    let field = |line: &str, after: &str| {
        let rest = &line[line.find(after).expect(after) + after.len()..];
        rest.split([':', ',', ' ']).next().unwrap().to_owned()
    };
    let pids: Vec<String> = thread_lines.iter().map(|l| field(l, "in pid ")).collect();
    let addrs: Vec<String> =
        thread_lines.iter().map(|l| field(l, "bytes at ")).collect();
    assert!(pids.iter().all(|p| *p == pids[0]), "{pids:?}");
    assert!(addrs.iter().all(|a| *a == addrs[0]), "{addrs:?}");
    out.assert_stdout_contains("got response \"HELLO, WORKER\"");

    out.assert_stdout_snapshot("output.txt", &[PIDS, ADDRS]);
}

#[test]
fn bad_flag_is_a_usage_error() {
    let out = test_support::run(BIN, &["--size", "10"]);
    out.assert_code(2)
        .assert_stderr_contains("unexpected argument '--size'")
        .assert_stderr_contains("Usage:");
}

/// Like `pipes | head -n 1` when `head` has already gone: the example's stdout is a pipe whose
/// read end is closed before it starts (deterministic, unlike a real `head`, which might still
/// be reading). Expected: no SIGPIPE death and no panic, but one error line and exit status 1.
#[test]
fn closed_stdout_is_one_clear_error_not_a_panic() {
    test_support::run_with_closed_stdout(BIN, &[])
        .assert_code(1)
        .assert_one_line_error()
        .assert_stderr_contains("pipes: error: writing to stdout: Broken pipe");
}
