//! The `shared-memory` programs. Each checks its own result (the parent reads 7 from
//! MAP_PRIVATE and 42 from MAP_SHARED; the message and the reply arrive whole) and keeps the
//! house rules (`test_support::table`); here also with another message, and one too long.

use test_support::run;
use test_support::table::{DEFAULT, Program};

/// Parent and child both write: `| head -n 1` is tried several times, since who meets the
/// closed pipe first varies.
const PROGRAMS: &[Program] = &[
    Program {
        name: "shared-memory",
        stdout_tries: 3,
        most: 3,
        ..DEFAULT
    },
    Program {
        name: "mailbox",
        stdout_tries: 3,
        most: 3,
        ..DEFAULT
    },
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
        .assert_one_line_error()
        .assert_stderr_contains("at most 64 bytes, got 65");
}
