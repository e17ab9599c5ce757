//! Runs the `fork` example and checks what it demonstrates: separate memory after fork, a shared
//! file offset, children reaped with their exit status; plus its answers to bad input.
#![cfg(target_os = "linux")]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use test_support::{ADDRS, PIDS, Redaction};

const BIN: &str = env!("CARGO_BIN_EXE_fork");

/// The descriptor count depends on what the caller passes down (a terminal, cargo's jobserver…).
const FD_COUNT: Redaction = ("[N]", r"(?<redacted>\d+) file descriptors open");

/// The pid printed after "parent pid" / "child  pid" on each line starting with `prefix`.
fn pids_of(stdout: &str, prefix: &str) -> Vec<u32> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix(prefix))
        .map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().expect("a pid after the prefix")
        })
        .collect()
}

#[test]
fn memory_is_copied_and_file_offset_is_shared() {
    let out = test_support::run(BIN, &[]);
    out.assert_success();
    let stdout = &out.stdout;

    // Memory: the child changed both values, the parent still has the originals.
    out.assert_stdout_contains("child  pid ")
        .assert_stdout_contains(": on_stack = 2, on_heap = 20 at 0x");
    let parent_lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("parent pid ") && l.contains("on_stack"))
        .collect();
    assert_eq!(parent_lines.len(), 2, "before and after lines:\n{stdout}");
    for line in &parent_lines {
        assert!(line.contains("on_stack = 1, on_heap = 10 at 0x"), "{line}");
    }
    // The heap value has the same (virtual) address in both processes.
    let addresses: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("on_heap"))
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    assert_eq!(addresses.len(), 3, "{stdout}");
    assert!(
        addresses.iter().all(|a| *a == addresses[0]),
        "{addresses:?}"
    );

    // Two processes: the parent keeps one pid, each child has another.
    let parents = pids_of(stdout, "parent pid ");
    let children = pids_of(stdout, "child  pid ");
    assert_eq!(children.len(), 2, "{stdout}");
    assert!(parents.iter().all(|p| *p == parents[0]), "{parents:?}");
    assert!(!children.contains(&parents[0]), "{parents:?} {children:?}");

    // Each child was a zombie until waitpid reaped it, with exit status 0.
    for child in &children {
        out.assert_stdout_contains(&format!(
            "child pid {child} has exited: a zombie (state Z) until reaped"
        ))
        .assert_stdout_contains(&format!("waitpid reaped child pid {child}: exit status 0"));
    }

    // The file offset is shared: the child's write moved the parent's offset from 7 to 13.
    out.assert_stdout_contains("wrote the line \"parent\", offset now 7")
        .assert_stdout_contains("wrote the line \"child\", offset now 13")
        .assert_stdout_contains("offset now 13: the child's write moved it")
        .assert_stdout_contains(r#"holds the lines ["parent", "child", "parent again"]"#)
        .assert_stdout_contains("Clean exit: no child process left");

    out.assert_stdout_snapshot("output.txt", &[PIDS, ADDRS, FD_COUNT]);
}

#[test]
fn bad_flag_is_a_usage_error() {
    let out = test_support::run(BIN, &["--children", "3"]);
    out.assert_code(2)
        .assert_stderr_contains("unexpected argument '--children'")
        .assert_stderr_contains("Usage:");
}

/// Every directory above `path` must be searchable, and the file executable, by "others".
fn usable_by_others(path: &Path) -> bool {
    let mode = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.permissions().mode())
            .unwrap_or(0)
    };
    mode(path) & 0o005 == 0o005 && path.ancestors().skip(1).all(|dir| mode(dir) & 0o001 != 0)
}

/// The effective user id, from /proc/self/status ("Uid: real effective saved fs").
fn effective_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").expect("reading /proc/self/status");
    let uids = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .expect("a Uid: line");
    uids.split_whitespace()
        .nth(1)
        .and_then(|u| u.parse().ok())
        .expect("an effective uid")
}

/// fork fails when the user may not have another process. Root ignores RLIMIT_NPROC, so the
/// example runs as user `nobody` (65534) with a limit of one process: the one it already is.
#[test]
fn fork_failure_is_one_clear_line() {
    if effective_uid() != 0 {
        eprintln!("SKIPPED fork_failure_is_one_clear_line: needs root to switch to uid 65534");
        return;
    }
    let setpriv_exists = ["/usr/bin/setpriv", "/bin/setpriv"]
        .iter()
        .any(|p| Path::new(p).exists());
    if !setpriv_exists {
        eprintln!("SKIPPED fork_failure_is_one_clear_line: setpriv (util-linux) is not installed");
        return;
    }
    if !usable_by_others(Path::new(BIN)) {
        eprintln!("SKIPPED fork_failure_is_one_clear_line: uid 65534 cannot execute {BIN}");
        return;
    }
    let args = [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "prlimit",
        "--nproc=1",
        BIN,
    ];
    let out = test_support::run("setpriv", &args);
    out.assert_code(1)
        .assert_one_line_error()
        .assert_stderr_contains("fork: error: fork(): EAGAIN");
}

/// Like `fork | head -n 1` when `head` has already gone: stdout is a pipe whose read end is
/// closed before the example starts. Expected: one error line and exit status 1, no panic.
#[test]
fn closed_stdout_is_one_clear_error_not_a_panic() {
    test_support::run_with_closed_stdout(BIN, &[])
        .assert_code(1)
        .assert_one_line_error()
        .assert_stderr_contains("fork: error: writing to stdout: Broken pipe");
}
