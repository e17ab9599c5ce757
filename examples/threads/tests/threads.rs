//! The `threads` programs check each fact before they print it (one pid, thread ids,
//! addresses, CPU times), so their snapshots may hide the numbers.

use test_support::table::{Program, tasks};

/// A thread may end before the next starts: some need fewer at once than they start.
const PROGRAMS: &[Program] = &[
    tasks("shared-heap", 2).up_to(4),
    tasks("own-stacks", 4),
    tasks("channel", 3),
];

test_support::example_tests!(PROGRAMS, &[test_support::TIMES]);

/// With room for one descriptor beyond stdin, stdout and stderr, `pipe()` cannot get its
/// two, and the error names it, not a consequence in another thread.
#[test]
fn a_refused_pipe_is_named_in_the_one_line() {
    if test_support::have("prlimit", "util-linux") {
        test_support::run("prlimit", &["--nofile=4", env!("CARGO_BIN_EXE_shared-fds")])
            .assert_code(1)
            .assert_one_line_error()
            .assert_stderr_contains("shared-fds: error: pipe(): EMFILE");
    }
}
