//! Runs the `clone` programs: a task that shares memory but is a process of its own
//! (`clone`), a thread with a descriptor table of its own (`unshare`), the flags the usual
//! ways of creating a task pass (`flags`, checked against a trace of our own), and what
//! `fork`, `execve` and `exit` do to the threads of a process; each also under a process
//! limit, with stdout closed or full, and with an argument it does not take.

use std::collections::BTreeSet;
use std::path::Path;

use test_support::{PIDS, Redaction, TIDS, assert_task_limits_end_cleanly};

const CLONE: &str = env!("CARGO_BIN_EXE_clone");
const UNSHARE: &str = env!("CARGO_BIN_EXE_unshare");
const FLAGS: &str = env!("CARGO_BIN_EXE_flags");
const FORK_THREADS: &str = env!("CARGO_BIN_EXE_fork-threads");
const EXEC_THREADS: &str = env!("CARGO_BIN_EXE_exec-threads");
const EXIT_THREADS: &str = env!("CARGO_BIN_EXE_exit-threads");
const ALL: [&str; 6] = [
    CLONE,
    UNSHARE,
    FLAGS,
    FORK_THREADS,
    EXEC_THREADS,
    EXIT_THREADS,
];

/// `Tgid 1234` → `Tgid [PID]`.
const TGID: Redaction = ("[PID]", r"Tgid (?<redacted>\d+)");
/// A descriptor's number depends on how many the program inherited.
const FD_NUMBER: Redaction = ("[FD]", r"fd (?<redacted>\d+)");

#[test]
fn a_task_with_clone_vm_but_not_clone_thread_is_a_process_sharing_memory() {
    let out = test_support::run(CLONE, &[]);
    out.assert_success();
    out.assert_stdout_snapshot("output.txt", &[PIDS, TGID]);
}

#[test]
fn after_unshare_a_thread_opens_files_the_others_cannot_use() {
    let out = test_support::run(UNSHARE, &[]);
    out.assert_success();
    out.assert_stdout_snapshot("output-unshare.txt", &[PIDS, FD_NUMBER]);
}

fn strace_is_installed() -> bool {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|dir| dir.join("strace").is_file());
    if !found {
        test_support::skipped("strace is not installed");
    }
    found
}

/// The shares of each way of creating a task, as the program prints them (`yes`/`no` per
/// column), keyed by the way.
fn matrix(stdout: &str) -> Vec<(String, Vec<String>)> {
    stdout
        .lines()
        .skip_while(|line| !line.trim_start().starts_with("shares:"))
        .skip(1)
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let way = words.next()?.to_owned();
            let cells: Vec<_> = words.map(str::to_owned).collect();
            (cells.len() == 4).then_some((way, cells))
        })
        .collect()
}

/// The flags of the one task-creating system call in an `strace -f` trace, read with a
/// parser of our own. Pids, addresses and the stack size vary from run to run; only the
/// names of the flags are kept.
fn traced_flags(way: &str) -> BTreeSet<String> {
    let mut cmd = test_support::command(
        "strace",
        &[
            "-f",
            "-qq",
            "-e",
            "signal=none",
            "-e",
            "trace=clone,clone3,vfork,fork",
            FLAGS,
        ],
    );
    cmd.env("CLONE_FLAGS_CREATE", way);
    let out = test_support::run_command(cmd);
    out.assert_success();
    let calls =
        regex::Regex::new(r"(?m)^(?:\[pid +\d+\] )?(clone3?|v?fork)\((.*)$").unwrap();
    let found: Vec<_> = calls.captures_iter(&out.stderr).collect();
    assert_eq!(found.len(), 1, "one task created by {way}:\n{}", out.stderr);
    let args = &found[0][2];
    let mut flags = BTreeSet::new();
    if &found[0][1] == "vfork" {
        flags.extend(["CLONE_VM".to_owned(), "CLONE_VFORK".to_owned()]);
    }
    let flag = regex::Regex::new(r"\bCLONE_[A-Z_]+").unwrap();
    flags.extend(flag.find_iter(args).map(|m| m.as_str().to_owned()));
    flags
}

#[test]
fn the_matrix_of_clone_flags_matches_a_trace() {
    if !strace_is_installed() {
        return;
    }
    let out = test_support::run(FLAGS, &[]);
    out.assert_success();
    out.assert_stdout_snapshot("output-flags.txt", &[]);
    let columns = ["CLONE_VM", "CLONE_FILES", "CLONE_SIGHAND", "CLONE_THREAD"];
    let rows = matrix(&out.stdout);
    assert_eq!(rows.len(), 4, "{}", out.stdout);
    for (way, cells) in rows {
        let traced = traced_flags(&way);
        let expected: Vec<_> = columns
            .iter()
            .map(|flag| if traced.contains(*flag) { "yes" } else { "no" })
            .collect();
        assert_eq!(cells, expected, "{way}: the trace had {traced:?}");
    }
}

#[test]
fn without_strace_the_flags_program_says_so_in_one_line() {
    let empty = empty_dir();
    let mut cmd = test_support::command(FLAGS, &[]);
    cmd.env("PATH", &empty);
    let out = test_support::run_command(cmd);
    out.assert_code(1)
        .assert_one_line_error()
        .assert_stderr_contains("strace is not installed");
    std::fs::remove_dir(&empty).expect("removing the empty directory");
}

/// A new, empty directory for a `PATH` that holds no program.
fn empty_dir() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("clone-empty-path");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating an empty directory");
    dir
}

#[test]
fn a_forked_child_of_a_threaded_process_has_one_thread() {
    let out = test_support::run(FORK_THREADS, &[]);
    out.assert_success();
    out.assert_stdout_snapshot("output-fork-threads.txt", &[PIDS, TIDS]);
}

#[test]
fn execve_from_a_thread_leaves_one_thread_under_the_same_pid() {
    let out = test_support::run(EXEC_THREADS, &[]);
    out.assert_success();
    out.assert_stdout_snapshot("output-exec-threads.txt", &[PIDS, TIDS]);
}

#[test]
fn exit_from_a_thread_or_a_return_from_main_ends_every_thread() {
    let out = test_support::run(EXIT_THREADS, &[]);
    out.assert_success();
    out.assert_stdout_snapshot("output-exit-threads.txt", &[]);
}

#[test]
fn closed_or_full_stdout_ends_cleanly() {
    for bin in ALL {
        if bin == FLAGS && !strace_is_installed() {
            continue;
        }
        test_support::assert_stdout_failures_end_cleanly(bin, &[]);
    }
}

#[test]
fn an_argument_is_a_usage_error() {
    for bin in ALL {
        let out = test_support::run(bin, &["--threads", "3"]);
        out.assert_code(2).assert_one_line_error();
        out.assert_stderr_contains("unexpected argument \"--threads\"");
    }
}

/// Each program, allowed fewer tasks than it makes, stops at the task it cannot create
/// with one line, whichever that is, and leaves nothing behind (`test_support` checks).
#[test]
fn under_a_process_limit_each_program_fails_in_one_line() {
    // The tasks each program needs at once, itself included.
    let needs = [
        (CLONE, 2),
        (UNSHARE, 2),
        (FLAGS, 4), // flags, strace, the traced program, the task it creates
        (FORK_THREADS, 6),
        (EXEC_THREADS, 4),
        (EXIT_THREADS, 3),
    ];
    for (bin, tasks) in needs {
        if bin == FLAGS && !strace_is_installed() {
            continue;
        }
        let says = ["Resource temporarily unavailable"];
        assert_task_limits_end_cleanly(bin, &[], tasks - 1, tasks - 1, &says);
    }
}
