//! The `threads` programs, one story each. Each checks the facts it demonstrates before it
//! prints `yes` (one pid, thread ids, stack and heap addresses, CPU times), which is why the
//! snapshots may hide those numbers, and keeps the house rules (`test_support::table`).

use test_support::table::{DEFAULT, Program};
use test_support::{Redaction, TIMES};

/// Tasks alive at once for sure, and at most (the main thread included). A thread may end
/// before the next one starts, so some programs need fewer at once than they start.
const PROGRAMS: &[Program] = &[
    Program {
        name: "shared-heap",
        most: 4,
        ..DEFAULT
    },
    Program {
        name: "own-stacks",
        tasks: 4,
        ..DEFAULT
    },
    Program {
        name: "channel",
        tasks: 3,
        ..DEFAULT
    },
    Program {
        name: "cpu-time",
        most: 3,
        ..DEFAULT
    },
];

/// A descriptor's number depends on how many the example inherited.
const FD_NUMBER: Redaction = ("[FD]", r"descriptor (?<redacted>\d+)");

test_support::example_tests!(PROGRAMS, &[FD_NUMBER, TIMES]);

/// With room for one descriptor beyond stdin, stdout and stderr, `pipe()` cannot get its
/// two, and the error names it, not a consequence in another thread.
#[test]
fn a_refused_pipe_is_named_in_the_one_line() {
    let bin = env!("CARGO_BIN_EXE_shared-fds");
    if test_support::have("prlimit", "util-linux") {
        test_support::run("prlimit", &["--nofile=4", bin])
            .assert_code(1)
            .assert_one_line_error()
            .assert_stderr_contains("shared-fds: error: pipe(): EMFILE");
    }
}
