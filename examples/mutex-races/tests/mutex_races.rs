//! Runs the `mutex-races` binary as a child process (this multi-threaded harness never forks)
//! and checks each demonstration: the forced race loses exactly one update, the race left to
//! the scheduler never gains any, the fixes lose none, processes share only what is mapped
//! MAP_SHARED. The redacted output must match `output.txt`, which the book shows;
//! `SNAPSHOTS=overwrite cargo test -p mutex-races` rewrites it. Linux only, like the example.
#![cfg(target_os = "linux")]

use regex::Regex;
use test_support::{PIDS, Redaction};

const BIN: &str = env!("CARGO_BIN_EXE_mutex-races");

/// Counts that depend on scheduling: their lines end in "this run".
const COUNT: Redaction = (
    "[COUNT]",
    r"counter = (?<redacted>\d+), should be \d+: lost \S+ of \d+ updates this run",
);
const LOST: Redaction = ("[LOST]", r"lost (?<redacted>\d+) of \d+ updates this run");
/// One "counter = X, should be Y: lost Z of Y updates" line.
#[derive(Debug, PartialEq)]
struct Count {
    observed: u64,
    expected: u64,
    lost: u64,
    varies: bool,
}

impl Count {
    fn exact(expected: u64) -> Count {
        Count {
            observed: expected,
            expected,
            lost: 0,
            varies: false,
        }
    }

    /// The forced interleaving: two increments, one lost.
    fn one_lost() -> Count {
        Count {
            observed: 1,
            expected: 2,
            lost: 1,
            varies: false,
        }
    }
}

/// The text of part `n` of the output, from its `== n.` heading to the next heading.
fn part(stdout: &str, n: u32) -> &str {
    let start = stdout
        .find(&format!("== {n}. "))
        .unwrap_or_else(|| panic!("no part {n} in:\n{stdout}"));
    let rest = &stdout[start + 3..];
    &rest[..rest.find("\n== ").unwrap_or(rest.len())]
}

/// Every counter line of a part, in order.
fn counts(text: &str) -> Vec<Count> {
    let line = Regex::new(
        r"counter = (\d+), should be (\d+): lost (\d+) of (\d+) updates( this run)?\n",
    )
    .unwrap();
    line.captures_iter(text)
        .map(|c| {
            let number = |i: usize| c[i].parse::<u64>().unwrap();
            assert_eq!(number(2), number(4), "two different totals in {:?}", &c[0]);
            Count {
                observed: number(1),
                expected: number(2),
                lost: number(3),
                varies: c.get(5).is_some(),
            }
        })
        .collect()
}

/// The race left to the scheduler: any loss is possible, a gain is not.
#[track_caller]
fn assert_unforced_race(count: &Count, expected: u64) {
    assert!(count.varies, "{count:?} should be marked as varying");
    assert_eq!(count.expected, expected);
    assert!(
        count.observed <= count.expected,
        "more increments than were made: {count:?}"
    );
    assert_eq!(count.lost, count.expected - count.observed, "{count:?}");
}

/// Checks every demonstration of a successful run with these sizes.
fn assert_demonstrations(stdout: &str, threads: u64, iterations: u64) {
    let race = part(stdout, 1);
    assert!(
        race.contains("thread 1 loaded 0 and stored 1, thread 2 loaded 0 and stored 1"),
        "{race}"
    );
    let race_counts = counts(race);
    assert_eq!(race_counts.len(), 2, "{race}");
    assert_eq!(race_counts[0], Count::one_lost());
    assert_unforced_race(&race_counts[1], threads * iterations);

    let fixes = part(stdout, 2);
    assert_eq!(
        counts(fixes),
        [
            Count::exact(threads * iterations),
            Count::exact(threads * iterations)
        ],
        "{fixes}"
    );

    let processes = part(stdout, 4);
    assert!(
        processes.contains(&format!(") counted to {iterations}, child 2 (pid "))
            && processes.contains(&format!(
                ") counted to {iterations}, the parent's copy is still 0"
            )),
        "{processes}"
    );
    assert!(
        processes
            .contains("child 1 loaded 0 and stored 1, child 2 loaded 0 and stored 1"),
        "{processes}"
    );
    let process_counts = counts(processes);
    assert_eq!(process_counts.len(), 3, "{processes}");
    assert_eq!(process_counts[0], Count::one_lost());
    assert_unforced_race(&process_counts[1], 2 * iterations);
    assert_eq!(process_counts[2], Count::exact(2 * iterations));

    assert!(stdout.ends_with("no file descriptor leaked.\n"), "{stdout}");
}

#[test]
fn default_run_shows_races_and_fixes() {
    let out = test_support::run(BIN, &[]);
    out.assert_success();
    assert_eq!(out.stderr, "");
    assert_demonstrations(&out.stdout, 4, 300_000);
    out.assert_stdout_snapshot("output.txt", &[PIDS, COUNT, LOST]);
}

#[test]
fn flags_change_the_sizes() {
    let out = test_support::run(BIN, &["--threads", "3", "--iterations", "1000"]);
    out.assert_success();
    assert_demonstrations(&out.stdout, 3, 1000);
}

#[test]
fn bad_flags_are_usage_errors() {
    for args in [
        &["--threads", "0"][..],
        &["--threads", "x"],
        &["--iterations", "0"],
        &["--no-such-flag"],
    ] {
        let out = test_support::run(BIN, args);
        out.assert_code(2).assert_stderr_contains("--help");
        assert!(
            out.stderr.starts_with("error: "),
            "{args:?}: {}",
            out.stderr
        );
        assert_eq!(out.stdout, "", "{args:?} should print nothing on stdout");
    }
}

/// A failing system call is one line naming the call and its errno. With a limit of one
/// process for its user, the example cannot create its first thread. Root ignores
/// RLIMIT_NPROC, so the example runs as the unprivileged user 65534 (switching to it needs root).
#[test]
fn a_failing_thread_creation_is_one_line() {
    let Some(cmd) = test_support::with_one_process_allowed(BIN, &[]) else {
        return;
    };
    let out = test_support::run_command(cmd);
    out.assert_code(1)
        .assert_one_line_error()
        .assert_stderr_contains("mutex-races: error: pthread_create(): EAGAIN: ");
}
