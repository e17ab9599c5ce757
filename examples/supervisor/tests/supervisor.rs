//! The three supervisor programs. Each checks its own result (the overrunning worker killed
//! by SIGKILL, the crashed worker replaced while the others keep their pids, each thread
//! stopping only as it was written to) and keeps the house rules (`test_support::table`).

use test_support::table::{DEFAULT, Program};

/// Tasks besides itself: one worker at a time; three workers; one thread at a time. Under a
/// refused task, every worker already started is killed and reaped.
const PROGRAMS: &[Program] = &[
    Program {
        name: "supervisor",
        most: 3,
        ..DEFAULT
    },
    Program {
        name: "restart",
        tasks: 4,
        most: 5,
        ..DEFAULT
    },
    Program {
        name: "stop-threads",
        most: 3,
        ..DEFAULT
    },
];

test_support::example_tests!(
    PROGRAMS,
    &[("[N]", r"stopped after (?<redacted>\d+) rounds")]
);
