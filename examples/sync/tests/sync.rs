//! Runs the `sync` example as a child process and checks what it demonstrates.

use test_support::{PIDS, run, run_command};

const BIN: &str = env!("CARGO_BIN_EXE_sync");

#[test]
fn threads_and_processes_synchronise_as_the_chapter_says() {
    let out = run(BIN, &[]);
    out.assert_success()
        .assert_stdout_contains("4 threads × 1000 increments of one counter: 4000\n")
        .assert_stdout_contains("consumer got [1, 2, 3, 4, 5]\n")
        .assert_stdout_contains("limit 3, 6 threads: at most 3 inside at once\n")
        .assert_stdout_contains("limit 3, 6 processes: at most 3 inside at once\n")
        .assert_stdout_contains("three processes, three separate mutexes")
        .assert_stdout_contains("try_lock → WouldBlock");
    let children_saw: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("    child (pid ") && l.contains(" sees "))
        .map(|l| l.rsplit(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(children_saw, ["1", "1"], "{}", out.stdout);
    out.assert_stdout_snapshot("output.txt", &[PIDS]);
}

/// The peak is exactly min(limit, workers): never more (the semaphore works), never fewer (the
/// example holds each permit until the room is as full as it can get).
#[test]
fn the_limit_holds_for_other_sizes() {
    for (limit, workers) in [(1, 5), (2, 7), (4, 4), (5, 2), (16, 32)] {
        let out = run(
            BIN,
            &[
                "--limit",
                &limit.to_string(),
                "--workers",
                &workers.to_string(),
            ],
        );
        out.assert_success();
        let most = u32::min(limit, workers);
        out.assert_stdout_contains(&format!(
            "limit {limit}, {workers} threads: at most {most} inside at once\n"
        ));
        out.assert_stdout_contains(&format!(
            "limit {limit}, {workers} processes: at most {most} inside at once\n"
        ));
    }
}

#[test]
fn bad_flags_are_usage_errors() {
    run(BIN, &["--bogus"])
        .assert_code(2)
        .assert_stderr_contains("unexpected argument '--bogus'")
        .assert_stderr_contains("Usage:");
    for (flag, bad) in [
        ("--limit", "0"),
        ("--limit", "17"),
        ("--workers", "0"),
        ("--workers", "x"),
    ] {
        run(BIN, &[flag, bad])
            .assert_code(2)
            .assert_stderr_contains(&format!(
                "error: invalid value '{bad}' for '{flag}"
            ));
    }
}

/// With RLIMIT_NOFILE = 4, descriptors 0-2 leave room for one more: the token pipe needs two,
/// so `pipe` fails with EMFILE (after the thread half, which needs no descriptor).
#[test]
fn failed_pipe_is_one_clear_line() {
    let out = run_command(test_support::command("prlimit", &["--nofile=4", BIN]));
    out.assert_code(1).assert_one_line_error();
    assert!(
        out.stderr.starts_with("sync: error: pipe(): EMFILE: "),
        "stderr: {}",
        out.stderr
    );
}
