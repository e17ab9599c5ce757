//! Runs each std-idioms program as a child process and compares its output with the book's.

use test_support::{
    PIDS, assert_stdout_failures_end_cleanly, assert_task_limits_end_cleanly, run,
};

const PROGRAMS: [(&str, &str); 3] = [
    (env!("CARGO_BIN_EXE_std-idioms"), "output.txt"),
    (env!("CARGO_BIN_EXE_mpsc"), "output-mpsc.txt"),
    (env!("CARGO_BIN_EXE_command"), "output-command.txt"),
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
            .assert_one_line_error();
    }
}

/// `thread::spawn` and `Command::spawn` refused by a process limit: `thread::spawn` panics
/// (std's documented behaviour), `Command` returns the error. Either way, one line and exit 1,
/// whichever of the tasks is the one refused.
#[test]
fn too_few_tasks_allowed_is_one_clear_error() {
    for (bin, _) in PROGRAMS {
        let says = ["std-idioms: error: ", "EAGAIN"];
        assert_task_limits_end_cleanly(bin, &[], 1, 4, &says);
    }
}
