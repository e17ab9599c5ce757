//! Runs the `signals` programs: a signal sent to the process reaches the one thread that
//! does not block it (`signals`), a signal sent to one thread waits for that thread
//! (`tgkill`), one thread takes every signal with `sigwait` (`sigwait`); each also under a
//! process limit, with stdout closed or full, and with an argument it does not take.

use test_support::{PIDS, TIDS, assert_task_limits_end_cleanly};

const SIGNALS: &str = env!("CARGO_BIN_EXE_signals");
const TGKILL: &str = env!("CARGO_BIN_EXE_tgkill");
const SIGWAIT: &str = env!("CARGO_BIN_EXE_sigwait");
const ALL: [&str; 3] = [SIGNALS, TGKILL, SIGWAIT];

#[test]
fn kill_reaches_the_one_thread_that_does_not_block_the_signal() {
    let out = test_support::run(SIGNALS, &[]);
    out.assert_success();
    out.assert_stdout_snapshot("output.txt", &[PIDS, TIDS]);
}

#[test]
fn tgkill_waits_for_its_thread_to_unblock_the_signal() {
    let out = test_support::run(TGKILL, &[]);
    out.assert_success();
    out.assert_stdout_snapshot("output-tgkill.txt", &[PIDS, TIDS]);
}

#[test]
fn one_thread_takes_every_signal_with_sigwait() {
    let out = test_support::run(SIGWAIT, &[]);
    out.assert_success();
    out.assert_stdout_snapshot("output-sigwait.txt", &[PIDS]);
}

#[test]
fn closed_or_full_stdout_ends_cleanly() {
    for bin in ALL {
        test_support::assert_stdout_failures_end_cleanly(bin, &[]);
    }
}

#[test]
fn an_argument_is_a_usage_error() {
    for bin in ALL {
        let out = test_support::run(bin, &["--signal", "USR1"]);
        out.assert_code(2).assert_one_line_error();
        out.assert_stderr_contains("unexpected argument \"--signal\"");
    }
}

/// Each program, allowed fewer tasks than it makes, stops at the thread it cannot start
/// with one line naming the limit, and leaves nothing behind (`test_support` checks).
#[test]
fn under_a_process_limit_each_program_fails_in_one_line() {
    // The tasks each program needs at once, itself included.
    for (bin, tasks) in [(SIGNALS, 4), (TGKILL, 2), (SIGWAIT, 2)] {
        let says = ["spawning a thread: EAGAIN: ", "RLIMIT_NPROC"];
        assert_task_limits_end_cleanly(bin, &[], tasks - 1, tasks - 1, &says);
    }
}
