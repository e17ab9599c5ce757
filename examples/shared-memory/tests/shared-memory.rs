//! The `shared-memory` programs keep the house rules (`test_support::table`); `mailbox` also
//! with another message, and one too long.

use test_support::run;
use test_support::table::{Program, tasks};

/// Parent and child both write, so `| head -n 1` is tried several times.
const PROGRAMS: &[Program] = &[
    tasks("shared-memory", 2).tries(3),
    tasks("mailbox", 2).tries(3),
];

test_support::example_tests!(PROGRAMS, &[]);

#[test]
fn the_child_writes_the_message_it_is_given() {
    let bin = env!("CARGO_BIN_EXE_mailbox");
    run(bin, &["--message", "ping through a page"])
        .assert_success()
        .assert_stdout_contains("took \"ping through a page\", then put \"got it\"");
    run(bin, &["--message", &"x".repeat(65)])
        .assert_code(2)
        .assert_stderr_contains("at most 64 bytes, got 65");
}
