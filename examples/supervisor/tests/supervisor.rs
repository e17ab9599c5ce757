//! Runs the three supervisor programs. Each checks its own result (the overrunning
//! worker killed by SIGKILL, the crashed worker replaced while the others keep their
//! pids, each thread stopping only as it was written to), so these tests check how they
//! end, and the shape of their output.

use test_support::PIDS;

const SUPERVISOR: &str = env!("CARGO_BIN_EXE_supervisor");
const RESTART: &str = env!("CARGO_BIN_EXE_restart");
const THREADS: &str = env!("CARGO_BIN_EXE_stop-threads");

#[test]
fn a_worker_that_overruns_is_killed_and_reaped() {
    let out = test_support::run(SUPERVISOR, &[]);
    out.assert_success();
    out.assert_stdout_snapshot("output.txt", &[PIDS]);
}

#[test]
fn a_crashed_worker_is_restarted_and_the_others_carry_on() {
    let out = test_support::run(RESTART, &[]);
    out.assert_success();
    // The crash is SIGABRT with no core dump, and the worker says nothing about it.
    assert!(out.stderr.is_empty(), "stderr:\n{}", out.stderr);
    out.assert_stdout_snapshot("output-restart.txt", &[PIDS]);
}

#[test]
fn a_thread_stops_only_when_it_looks() {
    let out = test_support::run(THREADS, &[]);
    out.assert_success();
    let rounds = ("[N]", r"stopped after (?<redacted>\d+) rounds");
    out.assert_stdout_snapshot("output-stop-threads.txt", &[rounds]);
}

#[test]
fn stdout_failures_end_cleanly() {
    for bin in [SUPERVISOR, RESTART, THREADS] {
        test_support::assert_stdout_failures_end_cleanly(bin, &[]);
    }
}

#[test]
fn a_bad_argument_is_one_line_and_exit_2() {
    for bin in [SUPERVISOR, RESTART, THREADS] {
        let out = test_support::run(bin, &["--bogus"]);
        out.assert_code(2).assert_one_line_error();
    }
}

/// Under a task limit a refused process or thread ends the program with one line, and
/// every worker already started is killed and reaped.
#[test]
fn a_refused_task_is_one_line() {
    // How many tasks each program runs at once besides itself: one worker at a time;
    // three workers; one thread at a time.
    for (bin, tasks) in [(SUPERVISOR, 1), (RESTART, 3), (THREADS, 1)] {
        // Enough for all its tasks at tasks + 1, unless other processes of the same user
        // (as root the program runs as `nobody`) take some.
        let says = ["Resource temporarily unavailable"];
        test_support::assert_task_limits_end_cleanly(bin, &[], tasks, tasks + 1, &says);
    }
}
