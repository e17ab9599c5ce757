//! The `crashes` programs keep the house rules (`test_support::table`), the two that crash
//! too: their snapshots are taken where core dumps are allowed, and they leave none.

use test_support::table::{Program, tasks};

/// Parent and child both write, so `| head -n 1` is tried several times. `thread-crash`'s
/// child may also be refused its worker, whose error line is then the only one.
const PROGRAMS: &[Program] = &[
    tasks("crashes", 2).tries(3),
    tasks("thread-crash", 2).up_to(4).tries(3),
    tasks("panics", 2).tries(3),
];

test_support::example_tests!(PROGRAMS, &[]);
