//! The scheduling programs keep the house rules (`test_support::table`); the snapshots hide
//! every measured number (the programs check them within wide bounds themselves).

use test_support::table::{Program, tasks};

/// The main thread and the tasks it makes, refused at any of them.
const PROGRAMS: &[Program] = &[
    tasks("scheduling", 3),
    tasks("fair-share", 6),
    tasks("nice", 4),
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
