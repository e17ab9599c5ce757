//! Runs the `sync` binaries (this multi-threaded harness never forks). Each program
//! checks its own demonstration (no increment lost, items handed over in order, the
//! peak inside is exactly min(limit, workers), each process locked its own copy of the
//! mutex); the tests check the text against the snapshots, other sizes, and that every
//! failure ends in one line.

use test_support::{PIDS, run};

const SYNC: &str = env!("CARGO_BIN_EXE_sync");
const SEMAPHORE: &str = env!("CARGO_BIN_EXE_semaphore");
const FORK_MUTEX: &str = env!("CARGO_BIN_EXE_fork-mutex");
const PIPE_SEMAPHORE: &str = env!("CARGO_BIN_EXE_pipe-semaphore");

#[test]
fn outputs_match_the_snapshots() {
    for (bin, snapshot) in [
        (SYNC, "output.txt"),
        (SEMAPHORE, "output-semaphore.txt"),
        (FORK_MUTEX, "output-fork-mutex.txt"),
        (PIPE_SEMAPHORE, "output-pipe-semaphore.txt"),
    ] {
        let out = run(bin, &[]);
        out.assert_success();
        assert_eq!(out.stderr, "", "{bin}");
        out.assert_stdout_snapshot(snapshot, &[PIDS]);
    }
}

/// The programs check that the peak is exactly min(limit, workers): never more (the
/// semaphore works), never fewer (each worker stays until the room is as full as it can
/// get). Here with other sizes.
#[test]
fn the_limit_holds_for_other_sizes() {
    for (limit, workers) in [(1, 5), (2, 7), (4, 4), (5, 2), (16, 32)] {
        let args = [
            "--limit",
            &limit.to_string(),
            "--workers",
            &workers.to_string(),
        ];
        let most = u32::min(limit, workers);
        for bin in [SEMAPHORE, PIPE_SEMAPHORE] {
            run(bin, &args)
                .assert_success()
                .assert_stdout_contains(&format!("  at most {most} inside at once\n"));
        }
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    for bin in [SEMAPHORE, PIPE_SEMAPHORE] {
        run(bin, &["--bogus"])
            .assert_code(2)
            .assert_stderr_contains("unexpected argument '--bogus'")
            .assert_stderr_contains("Usage:");
        for (flag, bad) in [
            ("--limit", "0"),
            ("--limit", "17"),
            ("--workers", "0"),
            ("--workers", "x"),
        ] {
            run(bin, &[flag, bad])
                .assert_code(2)
                .assert_stderr_contains(&format!(
                    "error: invalid value '{bad}' for '{flag}"
                ));
        }
    }
    for bin in [SYNC, FORK_MUTEX] {
        let out = run(bin, &["--limit", "2"]);
        out.assert_code(2).assert_one_line_error();
        assert_eq!(out.stdout, "");
    }
}

#[test]
fn closed_or_full_stdout_ends_cleanly() {
    for bin in [SYNC, SEMAPHORE, FORK_MUTEX, PIPE_SEMAPHORE] {
        test_support::assert_stdout_failures_end_cleanly(bin, &[]);
    }
}

/// Under a limit of `nproc` tasks for its user each program either completes or stops
/// with one line naming the limit; `run_command` fails the test on a hang or on a task
/// left behind. Below `needs` tasks, which the program keeps alive at once, it must
/// stop.
#[test]
fn every_refused_thread_or_fork_ends_in_one_line() {
    // (program, tasks it keeps alive at once for sure, most tasks it makes + 1)
    for (bin, needs, most) in [
        (SYNC, 2, 5),           // main and the producer; main and 4 counting threads
        (SEMAPHORE, 4, 7),      // main and the 3 workers that fill the room; 6 workers
        (FORK_MUTEX, 3, 3),     // main, the thread holding the lock, the child
        (PIPE_SEMAPHORE, 4, 7), // the parent and 3 children in the room; 6 children
    ] {
        let says = [": EAGAIN: ", "RLIMIT_NPROC"];
        test_support::assert_task_limits_end_cleanly(bin, &[], needs - 1, most, &says);
    }
}

/// With RLIMIT_NOFILE = 4, descriptors 0-2 leave room for one more: the token pipe
/// needs two, so `pipe` fails with EMFILE.
#[test]
fn a_refused_pipe_is_one_line() {
    let out = test_support::run_command(test_support::command(
        "prlimit",
        &["--nofile=4", PIPE_SEMAPHORE],
    ));
    out.assert_code(1).assert_one_line_error();
    assert!(
        out.stderr
            .starts_with("pipe-semaphore: error: pipe(): EMFILE: "),
        "stderr: {}",
        out.stderr
    );
}
