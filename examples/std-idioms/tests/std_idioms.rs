//! The std-idioms programs keep the house rules (`test_support::table`): `thread::spawn`
//! panics when the OS refuses a thread (std's documented behaviour), `Command` returns the
//! error; either way one line, whichever task is refused.

use test_support::table::{DEFAULT, Program};

/// The most tasks each has at once: main and its threads, or main and the child.
const PROGRAMS: &[Program] = &[
    Program {
        name: "std-idioms",
        most: 4,
        ..DEFAULT
    },
    Program {
        name: "mpsc",
        most: 4,
        ..DEFAULT
    },
    Program {
        name: "command",
        most: 4,
        ..DEFAULT
    },
];

test_support::example_tests!(PROGRAMS, &[]);
