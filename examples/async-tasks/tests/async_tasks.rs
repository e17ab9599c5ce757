//! Runs each async-tasks program as a child process and compares its output with the book's.

use test_support::{
    PIDS, assert_stdout_failures_end_cleanly, assert_task_limits_end_cleanly, run,
};

const PROGRAMS: [(&str, &str); 3] = [
    (env!("CARGO_BIN_EXE_async-tasks"), "output.txt"),
    (env!("CARGO_BIN_EXE_blocking"), "output-blocking.txt"),
    (env!("CARGO_BIN_EXE_panic"), "output-panic.txt"),
];

#[test]
fn each_program_prints_what_the_book_shows() {
    for (bin, snapshot) in PROGRAMS {
        let out = run(bin, &[]);
        out.assert_success();
        out.assert_stdout_snapshot(snapshot, &[PIDS]);
    }
}

#[test]
fn a_closed_or_full_stdout_ends_each_program_cleanly() {
    for (bin, _) in PROGRAMS {
        assert_stdout_failures_end_cleanly(bin, &[]);
    }
}

#[test]
fn an_argument_is_one_clear_error() {
    for (bin, _) in PROGRAMS {
        run(bin, &["--bogus"])
            .assert_code(2)
            .assert_one_line_error()
            .assert_stderr_contains("takes no arguments");
    }
}

/// With too few tasks allowed, the runtime's worker threads (or the child process) cannot all
/// start: one clear line and exit 1, no hang, nothing left behind.
#[test]
fn too_few_tasks_allowed_is_one_clear_error() {
    for (bin, _) in [PROGRAMS[0], PROGRAMS[2]] {
        let says = ["async-tasks: error: ", "EAGAIN"];
        assert_task_limits_end_cleanly(bin, &[], 2, 2, &says);
    }
}
