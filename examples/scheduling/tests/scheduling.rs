//! Runs the three scheduling programs. Each checks its own result (shares within wide
//! bounds, measured in CPU time among its own tasks, all pinned to one CPU), so these
//! tests check how they end, and the shape of their output with every measured number
//! redacted.

use test_support::Redaction;

const PREEMPTION: &str = env!("CARGO_BIN_EXE_scheduling");
const FAIR_SHARE: &str = env!("CARGO_BIN_EXE_fair-share");
const NICE: &str = env!("CARGO_BIN_EXE_nice");

/// What varies from run to run and machine to machine.
const VARIES: [Redaction; 9] = [
    ("[CPU]", r"CPU (?<redacted>\d+) only"),
    ("[N]", r"preempted (?<redacted>\d+) times"),
    ("[WHICH]", r"When thread (?<redacted>\d) had run"),
    ("[MS]", r"the other had run (?<redacted>\d+) ms"),
    ("[LIMIT]", r"CPU limit: (?<redacted>.+)"),
    ("[AUTOGROUP]", r"same autogroup: (?<redacted>.+)"),
    ("[MS]", r"with 4 busy threads: (?<redacted>\d+) ms"),
    ("[MS]", r", (?<redacted>\d+) ms of CPU time"),
    ("[RATIO]", r"(?<redacted>\d+\.\d) : 1"),
];

#[test]
fn two_busy_threads_on_one_cpu_take_turns() {
    let out = test_support::run(PREEMPTION, &[]);
    out.assert_success();
    out.assert_stdout_snapshot("output.txt", &VARIES);
}

#[test]
fn cpu_time_is_shared_per_task_not_per_process() {
    let out = test_support::run(FAIR_SHARE, &[]);
    out.assert_success();
    out.assert_stdout_snapshot("output-fair-share.txt", &VARIES);
}

#[test]
fn nice_changes_one_threads_share() {
    let out = test_support::run(NICE, &[]);
    out.assert_success();
    out.assert_stdout_snapshot("output-nice.txt", &VARIES);
}

#[test]
fn stdout_failures_end_cleanly() {
    for bin in [PREEMPTION, FAIR_SHARE, NICE] {
        test_support::assert_stdout_failures_end_cleanly(bin, &[]);
    }
}

#[test]
fn a_bad_argument_is_one_line_and_exit_2() {
    for bin in [PREEMPTION, FAIR_SHARE, NICE] {
        let out = test_support::run(bin, &["--bogus"]);
        out.assert_code(2).assert_one_line_error();
    }
}

/// Under a task limit every refused thread or fork ends the program with one line,
/// whichever task it was, and whoever already started is stopped and reaped.
#[test]
fn a_refused_task_is_one_line() {
    // The tasks each program makes besides its main thread.
    for (bin, tasks) in [(PREEMPTION, 2), (FAIR_SHARE, 5), (NICE, 3)] {
        // Enough for all its tasks at tasks + 1, unless other processes of the same user
        // (as root the program runs as `nobody`) take some.
        let says = ["Resource temporarily unavailable"];
        test_support::assert_task_limits_end_cleanly(bin, &[], tasks, tasks + 1, &says);
    }
}
