//! Runs the `fork` example and checks what it demonstrates: separate memory after fork, a shared
//! file offset, a copied descriptor table, memory that another process may read only with
//! permission, children reaped with their exit status; plus its answers to bad input.
#![cfg(target_os = "linux")]

use std::path::Path;

use test_support::{ADDRS, PIDS, Redaction};

const BIN: &str = env!("CARGO_BIN_EXE_fork");

/// A descriptor's number depends on how many the example inherited.
const FD_NUMBER: Redaction = ("[FD]", r"descriptor (?<redacted>\d+)");

/// The user the stranger of part 4 runs as: 65534 when the example runs as root, otherwise the
/// user who runs it.
const UIDS: Redaction = ("[UID]", r"\buid (?<redacted>\d+)");

const REDACTIONS: [Redaction; 4] = [PIDS, ADDRS, FD_NUMBER, UIDS];

/// Part `n` of the output: from its heading, a line starting with `n. `, to the next empty line.
fn part(stdout: &str, n: u32) -> &str {
    let heading = format!("{n}. ");
    let start = if stdout.starts_with(&heading) {
        0
    } else {
        let found = stdout.find(&format!("\n{heading}"));
        found.unwrap_or_else(|| panic!("no part {n}:\n{stdout}")) + 1
    };
    let rest = &stdout[start..];
    &rest[..rest.find("\n\n").unwrap_or(rest.len())]
}

/// The number right after the first `marker` in `text`.
fn number_after(text: &str, marker: &str) -> u32 {
    let (_, rest) = text
        .split_once(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in:\n{text}"));
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().expect("a number after the marker")
}

/// The pid printed after "parent pid" / "child  pid" on each line starting with `prefix`.
fn pids_of(stdout: &str, prefix: &str) -> Vec<u32> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix(prefix))
        .map(|rest| {
            let digits: String =
                rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().expect("a pid after the prefix")
        })
        .collect()
}

#[test]
fn memory_is_copied_and_file_offset_is_shared() {
    let out = test_support::run(BIN, &[]);
    out.assert_success();
    let whole = &out.stdout;
    let parts = format!("{}\n\n{}", part(whole, 1), part(whole, 2));
    let stdout = &parts;

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
    out.assert_stdout_contains(
        ": the heap value is at the same address as in the parent: yes",
    );

    // Two processes: the parent keeps one pid, each child has another.
    let parents = pids_of(stdout, "parent pid ");
    let mut children = pids_of(stdout, "child  pid ");
    children.dedup();
    assert_eq!(children.len(), 2, "{stdout}");
    assert!(parents.iter().all(|p| *p == parents[0]), "{parents:?}");
    assert!(!children.contains(&parents[0]), "{parents:?} {children:?}");

    // Each child was a zombie until waitpid reaped it, with exit status 0.
    for child in &children {
        out.assert_stdout_contains(&format!(
            "child pid {child} has exited: a zombie (state Z) until reaped"
        ))
        .assert_stdout_contains(&format!(
            "waitpid reaped child pid {child}: exit status 0"
        ));
    }

    // The file offset is shared: the child's write moved the parent's offset from 7 to 13.
    out.assert_stdout_contains("wrote the line \"parent\", offset now 7")
        .assert_stdout_contains("wrote the line \"child\", offset now 13")
        .assert_stdout_contains("offset now 13: the child's write moved it")
        .assert_stdout_contains(
            r#"holds the lines ["parent", "child", "parent again"]"#,
        )
        .assert_stdout_contains("Clean exit: no child process left");

    out.assert_stdout_snapshot("output.txt", &REDACTIONS);
}

/// Part 3: the child closes its copy of a descriptor (and cannot read it any more); the parent
/// still reads from the same number.
fn check_descriptor_table_is_copied(stdout: &str) {
    let text = part(stdout, 3);
    let fd = number_after(text, "whose read end is descriptor ");
    for line in [
        format!(": closed descriptor {fd}; reading it: refused with EBADF"),
        format!(": read \"hello\" from descriptor {fd}: still open here"),
    ] {
        assert!(text.contains(&line), "lacks {line:?}:\n{text}");
    }
}

/// Part 4: the parent reads the target's secret; the stranger, a different process without
/// capabilities, is refused by both ways in.
fn check_memory_is_protected(stdout: &str, stranger_uid: u32) {
    let text = part(stdout, 4);
    let target = number_after(text, "child  pid ");
    let parent = number_after(text, "parent pid ");
    let stranger = number_after(text, "stranger pid ");
    assert!(
        target != parent && stranger != parent && stranger != target,
        "{text}"
    );
    for line in [
        format!(
            r#"child  pid {target}: keeps "a secret of child pid {target}" on its heap at 0x"#
        ),
        format!(
            r#"parent pid {parent}: process_vm_readv on child pid {target}: allowed, read "a secret of child pid {target}""#
        ),
        format!("child  pid {target}: made itself non-dumpable"),
        format!(
            "stranger pid {stranger}: runs as uid {stranger_uid}, with no capabilities"
        ),
        format!(
            "stranger pid {stranger}: process_vm_readv on child pid {target}: refused with EPERM"
        ),
        format!(
            "stranger pid {stranger}: open /proc/PID/mem of child pid {target}: refused with EACCES"
        ),
    ] {
        assert!(text.contains(&line), "lacks {line:?}:\n{text}");
    }
}

#[test]
fn a_closed_descriptor_stays_open_in_the_parent_and_memory_needs_permission() {
    let out = test_support::run(BIN, &[]);
    out.assert_success();
    check_descriptor_table_is_copied(&out.stdout);
    // Run as root, the stranger becomes user nobody; otherwise it stays the user who runs it.
    let stranger_uid = if effective_uid() == 0 {
        65534
    } else {
        effective_uid()
    };
    check_memory_is_protected(&out.stdout, stranger_uid);
    out.assert_stdout_contains("Clean exit: no child process left");
}

/// The same example run by an ordinary user (nobody, 65534): then the stranger cannot change its
/// user, runs as the same user as the target, and is still refused, because the target made
/// itself non-dumpable. The output is the same as root's.
#[test]
fn as_an_ordinary_user_the_stranger_is_refused_too() {
    let Some(cmd) = test_support::as_nobody(BIN, &[]) else {
        return;
    };
    let out = test_support::run_command(cmd);
    out.assert_success();
    check_descriptor_table_is_copied(&out.stdout);
    check_memory_is_protected(&out.stdout, 65534);
    out.assert_stdout_snapshot("output.txt", &REDACTIONS);
}

/// When the machine forbids even a parent to read its child's memory (Yama's ptrace_scope 3, or
/// a seccomp filter), the example says so in one line and still reaps its children. strace
/// makes the kernel refuse the parent's process_vm_readv with EPERM.
#[test]
fn a_refused_parent_is_one_clear_line() {
    if !["/usr/bin/strace", "/bin/strace"]
        .iter()
        .any(|p| Path::new(p).exists())
    {
        eprintln!(
            "SKIPPED a_refused_parent_is_one_clear_line: strace is not installed"
        );
        return;
    }
    let args = [
        "-f",
        "-o",
        "/dev/null",
        "-e",
        "trace=process_vm_readv",
        "-e",
        "inject=process_vm_readv:error=EPERM:when=1",
        BIN,
    ];
    let out = test_support::run("strace", &args);
    out.assert_code(1)
        .assert_one_line_error()
        .assert_stderr_contains("fork: error: process_vm_readv() on child pid ")
        .assert_stderr_contains(": EPERM: Operation not permitted");
}

#[test]
fn bad_flag_is_a_usage_error() {
    let out = test_support::run(BIN, &["--children", "3"]);
    out.assert_code(2)
        .assert_stderr_contains("unexpected argument '--children'")
        .assert_stderr_contains("Usage:");
}

/// The effective user id, from /proc/self/status ("Uid: real effective saved fs").
fn effective_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status")
        .expect("reading /proc/self/status");
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
    let Some(cmd) = test_support::with_one_process_allowed(BIN, &[]) else {
        return;
    };
    test_support::run_command(cmd)
        .assert_code(1)
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
