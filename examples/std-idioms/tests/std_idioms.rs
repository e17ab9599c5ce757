//! The std-idioms programs keep the house rules (`test_support::table`): `thread::spawn`
//! panics when the OS refuses a thread (std's documented behaviour), `Command` returns the
//! error; either way one line, whichever task is refused.

use test_support::table::{Program, tasks};

/// Main and up to three threads or children at once.
const PROGRAMS: &[Program] = &[
    tasks("std-idioms", 2).up_to(4),
    tasks("mpsc", 2).up_to(4),
    tasks("command", 2).up_to(4),
];

test_support::example_tests!(PROGRAMS, &[]);
