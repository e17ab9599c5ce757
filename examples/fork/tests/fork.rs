//! Runs the three `fork` programs: the child's own copy of memory and the zombie until
//! `waitpid` (`fork`), the shared file offset (`offset`), the copied descriptor table
//! (`close`); and each under hostile conditions: stdout closed or full, a bad argument, a
//! process limit, a descriptor limit.

use test_support::{ADDRS, Finished, PIDS, Redaction};

const FORK: &str = env!("CARGO_BIN_EXE_fork");
const OFFSET: &str = env!("CARGO_BIN_EXE_offset");
const CLOSE: &str = env!("CARGO_BIN_EXE_close");
const ALL: [&str; 3] = [FORK, OFFSET, CLOSE];

/// A descriptor's number depends on how many the program inherited.
const FD_NUMBER: Redaction = ("[FD]", r"descriptor (?<redacted>\d+)");

/// Each number (decimal, or hexadecimal with `0x`) right after a `marker` in `text`.
fn numbers_after(text: &str, marker: &str) -> Vec<String> {
    text.split(marker)
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect()
        })
        .filter(|n: &String| n.starts_with(|c: char| c.is_ascii_digit()))
        .collect()
}

#[test]
fn the_child_changes_its_own_copy_and_is_a_zombie_until_reaped() {
    let out = test_support::run(FORK, &[]);
    out.assert_success();
    // What the placeholders hide: one parent pid, another for the child, which the zombie
    // and waitpid lines name; one heap address in all three lines.
    let parents: Vec<_> = numbers_after(&out.stdout, "parent pid ");
    let children: Vec<_> = numbers_after(&out.stdout, "child  pid ");
    let named: Vec<_> = numbers_after(&out.stdout, "child pid ");
    assert!(parents.iter().all(|p| *p == parents[0]), "{}", out.stdout);
    assert!(children.iter().all(|c| *c == children[0]), "{}", out.stdout);
    assert_ne!(parents[0], children[0]);
    assert_eq!(named, [children[0].clone(), children[0].clone()]);
    let addresses = numbers_after(&out.stdout, " at ");
    assert_eq!(addresses.len(), 3, "{}", out.stdout);
    assert!(
        addresses.iter().all(|a| *a == addresses[0]),
        "{addresses:?}"
    );
    out.assert_stdout_snapshot("output.txt", &[PIDS, ADDRS]);
}

#[test]
fn parent_and_child_move_one_file_offset() {
    let out = test_support::run(OFFSET, &[]);
    out.assert_success();
    out.assert_stdout_snapshot("output-offset.txt", &[PIDS]);
}

#[test]
fn a_descriptor_closed_in_the_child_stays_open_in_the_parent() {
    let out = test_support::run(CLOSE, &[]);
    out.assert_success();
    let fds = numbers_after(&out.stdout, "descriptor ");
    assert_eq!(fds.len(), 3, "{}", out.stdout);
    assert!(fds.iter().all(|fd| *fd == fds[0]), "{fds:?}");
    out.assert_stdout_snapshot("output-close.txt", &[PIDS, FD_NUMBER]);
}

#[test]
fn closed_or_full_stdout_ends_cleanly() {
    for bin in ALL {
        test_support::assert_stdout_failures_end_cleanly(bin, &[]);
    }
}

#[test]
fn an_argument_is_a_usage_error() {
    for bin in ALL {
        let out = test_support::run(bin, &["--children", "3"]);
        out.assert_code(2).assert_one_line_error();
        out.assert_stderr_contains("unexpected argument \"--children\"");
    }
}

/// Exit 0, or exit 1 with one line; `test_support` checks that nothing was left behind.
#[track_caller]
fn assert_ends_cleanly(out: &Finished) {
    if !out.status.success() {
        out.assert_code(1).assert_one_line_error();
    }
}

/// Each program is one process and forks one child: allowed one task, its fork fails and
/// names the limit; allowed two, it may succeed (other processes of the same user count).
#[test]
fn under_a_process_limit_fork_fails_in_one_line() {
    for bin in ALL {
        let Some(cmd) = test_support::with_process_limit(bin, &[], 1) else {
            return;
        };
        test_support::run_command(cmd)
            .assert_code(1)
            .assert_one_line_error()
            .assert_stderr_contains(": error: fork: EAGAIN: ")
            .assert_stderr_contains("RLIMIT_NPROC");
        let Some(cmd) = test_support::with_process_limit(bin, &[], 2) else {
            return;
        };
        assert_ends_cleanly(&test_support::run_command(cmd));
    }
}

/// With few descriptors allowed, a program stops at the first file it cannot open, in one
/// line, and reaps its child on the way out.
#[test]
fn under_a_descriptor_limit_nothing_is_left_behind() {
    for bin in ALL {
        for n in 4..=8 {
            let limit = format!("--nofile={n}");
            assert_ends_cleanly(&test_support::run("prlimit", &[&limit, bin]));
        }
    }
}
