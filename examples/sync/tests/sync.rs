//! The `sync` programs keep the house rules (`test_support::table`); the semaphores also with
//! other sizes, and bad values for them.

use test_support::run;
use test_support::table::{Program, tasks};

/// For sure, and at most: main and the producer, or 4 counting threads; main and the 3
/// workers (or 3 children) that fill the room, or 6; main, the thread holding the lock, the
/// child.
const PROGRAMS: &[Program] = &[
    tasks("sync", 2).up_to(5),
    tasks("semaphore", 4).up_to(7),
    tasks("fork-mutex", 3),
    tasks("pipe-semaphore", 4).up_to(7),
];

test_support::example_tests!(PROGRAMS, &[]);

/// The programs check that the peak inside is exactly min(limit, workers): never more (the
/// semaphore works), never fewer (each worker stays until the room is as full as it can get).
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
        for [flag, bad] in [["--limit", "0"], ["--limit", "17"], ["--workers", "x"]] {
            run(bin, &[flag, bad])
                .assert_code(2)
                .assert_stderr_contains(&format!("invalid value '{bad}' for '{flag}"));
        }
    }
}
