//! The `sync` programs (this multi-threaded harness never forks). Each checks its own
//! demonstration (no increment lost, items handed over in order, the peak inside is exactly
//! min(limit, workers), each process locked its own copy of the mutex) and keeps the house
//! rules (`test_support::table`); here also with other sizes, and bad values for them.

use test_support::run;
use test_support::table::{DEFAULT, Program};

/// Tasks alive at once for sure, and at most (themselves included).
const PROGRAMS: &[Program] = &[
    // main and the producer; main and 4 counting threads
    Program {
        name: "sync",
        tasks: 2,
        most: 5,
        ..DEFAULT
    },
    // main and the 3 workers that fill the room; 6 workers
    Program {
        name: "semaphore",
        tasks: 4,
        most: 7,
        ..DEFAULT
    },
    // main, the thread holding the lock, the child
    Program {
        name: "fork-mutex",
        tasks: 3,
        ..DEFAULT
    },
    // the parent and 3 children in the room; 6 children
    Program {
        name: "pipe-semaphore",
        tasks: 4,
        most: 7,
        ..DEFAULT
    },
];

test_support::example_tests!(PROGRAMS, &[]);

/// The programs check that the peak is exactly min(limit, workers): never more (the
/// semaphore works), never fewer (each worker stays until the room is as full as it can
/// get). Here with other sizes; and sizes out of range are one-line errors.
#[test]
fn the_limit_holds_for_other_sizes() {
    for bin in [
        env!("CARGO_BIN_EXE_semaphore"),
        env!("CARGO_BIN_EXE_pipe-semaphore"),
    ] {
        for (limit, workers) in [(1, 5), (2, 7), (4, 4), (5, 2), (16, 32)] {
            let (limit_arg, workers_arg) = (limit.to_string(), workers.to_string());
            run(bin, &["--limit", &limit_arg, "--workers", &workers_arg])
                .assert_success()
                .assert_stdout_contains(&format!(
                    "  at most {} inside at once\n",
                    limit.min(workers)
                ));
        }
        for (flag, bad) in [("--limit", "0"), ("--limit", "17"), ("--workers", "x")] {
            run(bin, &[flag, bad])
                .assert_code(2)
                .assert_one_line_error()
                .assert_stderr_contains(&format!("invalid value '{bad}' for '{flag}"));
        }
    }
}
