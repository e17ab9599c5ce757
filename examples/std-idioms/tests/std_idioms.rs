//! Runs each std-idioms program as a child process and compares its output with the book's.

use test_support::{
    PIDS, assert_stdout_failures_end_cleanly, run, run_command, with_process_limit,
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
        for nproc in 1..=4 {
            let Some(cmd) = with_process_limit(bin, &[], nproc) else {
                return;
            };
            let out = run_command(cmd);
            if out.status.success() {
                continue; // this program needed fewer tasks
            }
            out.assert_code(1);
            let last = out.stderr.trim_end().lines().last().unwrap_or_default();
            assert!(
                last.starts_with("std-idioms: error: ") && last.contains("EAGAIN"),
                "nproc={nproc}: {bin} should end with one EAGAIN line, stderr:\n{}",
                out.stderr
            );
        }
    }
}
