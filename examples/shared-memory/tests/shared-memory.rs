//! Runs the `shared-memory` programs as child processes. Each program checks its own
//! result (the parent reads 7 from MAP_PRIVATE and 42 from MAP_SHARED; the message and the
//! reply arrive whole); the tests compare the output with the snapshots the chapter shows,
//! and check that every way of failing ends in one clear line.

use test_support::{PIDS, run};

const SHARED_MEMORY: &str = env!("CARGO_BIN_EXE_shared-memory");
const MAILBOX: &str = env!("CARGO_BIN_EXE_mailbox");
const ALL: [&str; 2] = [SHARED_MEMORY, MAILBOX];

#[test]
fn private_mapping_is_copied_and_shared_mapping_is_shared() {
    let out = run(SHARED_MEMORY, &[]);
    out.assert_success();
    out.assert_stdout_snapshot("output.txt", &[PIDS]);
}

#[test]
fn message_and_reply_cross_the_shared_page() {
    let out = run(MAILBOX, &[]);
    out.assert_success();
    out.assert_stdout_snapshot("output-mailbox.txt", &[PIDS]);
}

#[test]
fn the_child_writes_the_message_it_is_given() {
    let out = run(MAILBOX, &["--message", "ping through a page"]);
    out.assert_success()
        .assert_stdout_contains("took \"ping through a page\", then put \"got it\"");
}

#[test]
fn bad_arguments_are_usage_errors() {
    let out = run(SHARED_MEMORY, &["--bogus"]);
    out.assert_code(2).assert_one_line_error();
    // mailbox takes a flag: clap's usage error.
    let out = run(MAILBOX, &["--bogus"]);
    out.assert_code(2)
        .assert_stderr_contains("unexpected argument '--bogus'");
    let too_long = "x".repeat(65);
    let out = run(MAILBOX, &["--message", &too_long]);
    out.assert_code(2)
        .assert_stderr_contains("at most 64 bytes, got 65");
}

#[test]
fn stdout_failures_end_cleanly() {
    // Parent and child both write: several runs, since who writes first after the
    // reader left varies.
    for bin in ALL {
        for _ in 0..3 {
            test_support::assert_stdout_failures_end_cleanly(bin, &[]);
        }
    }
}

/// Each program has at most two processes at a time, a parent and one child. Allowed one,
/// its first fork fails; allowed more, it either runs through or (when the user has other
/// processes) fails, always in one line.
#[test]
fn a_process_limit_ends_in_one_clear_line() {
    for bin in ALL {
        let says = ["fork()", "EAGAIN", "RLIMIT_NPROC"];
        test_support::assert_task_limits_end_cleanly(bin, &[], 1, 3, &says);
    }
}
