//! The three scheduling programs. Each checks its own result (shares within wide bounds,
//! measured in CPU time among its own tasks, all pinned to one CPU) and keeps the house rules
//! (`test_support::table`); the snapshots hide every measured number.

use test_support::table::{DEFAULT, Program};

/// The tasks each program makes besides its main thread, refused at any of them.
const PROGRAMS: &[Program] = &[
    Program {
        name: "scheduling",
        tasks: 3,
        most: 4,
        ..DEFAULT
    },
    Program {
        name: "fair-share",
        tasks: 6,
        most: 7,
        ..DEFAULT
    },
    Program {
        name: "nice",
        tasks: 4,
        most: 5,
        ..DEFAULT
    },
];

test_support::example_tests!(
    PROGRAMS,
    &[
        ("[CPU]", r"CPU (?<redacted>\d+) only"),
        ("[N]", r"preempted (?<redacted>\d+) times"),
        ("[WHICH]", r"When thread (?<redacted>\d) had run"),
        ("[MS]", r"the other had run (?<redacted>\d+) ms"),
        ("[LIMIT]", r"CPU limit: (?<redacted>.+)"),
        ("[AUTOGROUP]", r"per session\): (?<redacted>.+)"),
        ("[MS]", r"with 4 busy threads: (?<redacted>\d+) ms"),
        ("[MS]", r", (?<redacted>\d+) ms of CPU time"),
        ("[RATIO]", r"(?<redacted>\d+\.\d) : 1"),
    ]
);
