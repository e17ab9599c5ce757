//! Runs the `pipes` examples and compares what they print with the book's copies. Each
//! example checks its own demonstration (it exits 0 only when it came out as the
//! chapter says); these tests add what only a second process can see: the snapshots,
//! the addresses the book hides, and how each example ends under a refused task, an
//! unexpected argument and a failing stdout.

use test_support::{ADDRS, PIDS};

const PIPES: &str = env!("CARGO_BIN_EXE_pipes");
const EOF: &str = env!("CARGO_BIN_EXE_pipe-eof");
const SIGPIPE: &str = env!("CARGO_BIN_EXE_pipe-sigpipe");
const CHANNEL: &str = env!("CARGO_BIN_EXE_thread-channel");

#[test]
fn request_and_response_through_two_pipes() {
    let out = test_support::run(PIPES, &[]);
    out.assert_success();
    out.assert_stdout_snapshot("output.txt", &[PIDS]);
}

#[test]
fn end_of_file_only_after_the_last_write_end() {
    let out = test_support::run(EOF, &[]);
    out.assert_success();
    out.assert_stdout_snapshot("output-pipe-eof.txt", &[PIDS]);
}

#[test]
fn sigpipe_ends_the_writer_and_ignored_gives_epipe() {
    let out = test_support::run(SIGPIPE, &[]);
    out.assert_success();
    out.assert_stdout_snapshot("output-pipe-sigpipe.txt", &[PIDS]);
}

/// The book hides the addresses; here they must be one address on all three lines (the
/// bytes never moved), printed by threads of one process.
#[test]
fn threads_hand_over_one_buffer() {
    let out = test_support::run(CHANNEL, &[]);
    out.assert_success();
    let field = |line: &str, after: &str| {
        let rest = &line[line.find(after).expect(after) + after.len()..];
        rest.split([':', ',', ' ']).next().unwrap_or("").to_owned()
    };
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains(" thread in pid "))
        .collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    for (what, after) in [("pid", "in pid "), ("address", "bytes at ")] {
        let values: Vec<String> = lines.iter().map(|l| field(l, after)).collect();
        assert!(
            values.iter().all(|v| *v == values[0]),
            "one {what}: {values:?}"
        );
    }
    out.assert_stdout_snapshot("output-thread-channel.txt", &[PIDS, ADDRS]);
}

#[test]
fn stdout_failures_end_cleanly() {
    for bin in [PIPES, EOF, SIGPIPE, CHANNEL] {
        test_support::assert_stdout_failures_end_cleanly(bin, &[]);
    }
}

#[test]
fn an_argument_is_refused_in_one_line() {
    for bin in [PIPES, EOF, SIGPIPE, CHANNEL] {
        test_support::run(bin, &["--size", "10"])
            .assert_code(2)
            .assert_one_line_error()
            .assert_stderr_contains("unexpected argument \"--size\"");
    }
}

/// Each example makes one task besides itself (a child, or a thread). Allowed one task
/// in all, it is refused: one line naming the limit, exit 1, nothing left behind.
/// Allowed two, it succeeds, or (when other processes of the same user take the room)
/// fails just as cleanly.
#[test]
fn a_refused_fork_or_thread_is_one_clear_line() {
    for bin in [PIPES, EOF, SIGPIPE, CHANNEL] {
        let says = ["EAGAIN", "RLIMIT_NPROC"];
        test_support::assert_task_limits_end_cleanly(bin, &[], 1, 2, &says);
    }
}
