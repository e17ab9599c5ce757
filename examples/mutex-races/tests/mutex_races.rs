//! Runs the `mutex-races` and `processes` binaries (this multi-threaded harness never
//! forks). Each program checks its own demonstration (the forced races lose exactly one
//! update, no count exceeds the increments made, the fixes lose none, each child counts
//! only its own increments); the tests check the text against the snapshots, the flags,
//! and that every failure ends in one line.

use test_support::{PIDS, Redaction};

const RACES: &str = env!("CARGO_BIN_EXE_mutex-races");
const PROCESSES: &str = env!("CARGO_BIN_EXE_processes");

/// Counts that depend on scheduling: their lines end in "this run".
const COUNT: Redaction = (
    "[COUNT]",
    r"counter = (?<redacted>\d+), should be \d+: lost \S+ this run",
);
const LOST: Redaction = ("[LOST]", r"lost (?<redacted>\d+) this run");

#[test]
fn threads_race_and_the_fixes_lose_nothing() {
    let out = test_support::run(RACES, &[]);
    out.assert_success();
    assert_eq!(out.stderr, "");
    out.assert_stdout_snapshot("output.txt", &[COUNT, LOST]);
}

#[test]
fn processes_race_only_on_shared_memory() {
    let out = test_support::run(PROCESSES, &[]);
    out.assert_success();
    assert_eq!(out.stderr, "");
    out.assert_stdout_snapshot("output-processes.txt", &[PIDS, COUNT, LOST]);
}

#[test]
fn flags_change_the_sizes() {
    let out = test_support::run(RACES, &["--threads", "3", "--iterations", "1000"]);
    out.assert_success()
        .assert_stdout_contains("3 threads x 1000 increments")
        .assert_stdout_contains("counter = 3000, should be 3000: lost 0\n");
    assert_eq!(
        out.stdout.matches("should be 3000").count(),
        3,
        "{}",
        out.stdout
    );
}

#[test]
fn bad_arguments_are_usage_errors() {
    for args in [
        &["--threads", "0"][..],
        &["--threads", "x"],
        &["--iterations", "0"],
        &["--no-such-flag"],
    ] {
        let out = test_support::run(RACES, args);
        out.assert_code(2).assert_stderr_contains("--help");
        assert!(
            out.stderr.starts_with("error: "),
            "{args:?}: {}",
            out.stderr
        );
        assert_eq!(out.stdout, "", "{args:?} should print nothing on stdout");
    }
    let out = test_support::run(PROCESSES, &["--threads", "2"]);
    out.assert_code(2).assert_one_line_error();
    assert_eq!(out.stdout, "");
}

#[test]
fn closed_or_full_stdout_ends_cleanly() {
    test_support::assert_stdout_failures_end_cleanly(RACES, &[]);
    test_support::assert_stdout_failures_end_cleanly(PROCESSES, &[]);
}

/// Under a limit of `nproc` tasks for its user the program either completes or stops
/// with one line naming the limit; `run_command` fails the test on a hang or on a task
/// left behind. Below `needs` tasks, which the program keeps alive at once, it must
/// stop.
fn under_task_limits(bin: &str, args: &[&str], needs: u32) {
    let says = [": EAGAIN: ", "RLIMIT_NPROC"];
    test_support::assert_task_limits_end_cleanly(
        bin,
        args,
        needs - 1,
        needs + 1,
        &says,
    );
}

#[test]
fn every_refused_thread_ends_in_one_line() {
    // main and the --threads threads, which wait at a gate until all exist
    under_task_limits(RACES, &[], 5);
    under_task_limits(RACES, &["--threads", "6", "--iterations", "1000"], 7);
}

#[test]
fn every_refused_fork_ends_in_one_line() {
    under_task_limits(PROCESSES, &[], 3); // the parent and two children behind a gate
}
