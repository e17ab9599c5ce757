//! The supervisor programs keep the house rules (`test_support::table`). Under a refused
//! task, every worker already started is killed and reaped.

use test_support::table::{Program, tasks};

/// `restart` runs three workers at once; the others one worker or thread at a time.
const PROGRAMS: &[Program] = &[tasks("restart", 4)];

test_support::example_tests!(
    PROGRAMS,
    &[("[N]", r"stopped after (?<redacted>\d+) rounds")]
);
