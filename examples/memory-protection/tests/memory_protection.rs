//! Runs `memory-protection`: the parent reads its child's memory, a stranger is let in or
//! refused as the kernel's checks say (the program itself checks each answer against the
//! conditions it prints). It keeps the house rules (`test_support::table`), and says so in
//! one line when the kernel refuses the parent against the checks shown.

use std::path::Path;

use test_support::table::{DEFAULT, Program};
use test_support::{ADDRS, Finished, PIDS};

/// Three processes at most: the example, the target, a stranger. Allowed one, the target's
/// fork fails; allowed two, a stranger's fork fails while the target waits, which must still
/// end and be reaped. Its snapshot depends on who runs it, and on Yama (below).
const PROGRAMS: &[Program] = &[Program {
    name: "memory-protection",
    tasks: 3,
    snapshot: false,
    ..DEFAULT
}];

test_support::example_tests!(PROGRAMS, &[]);

const BIN: &str = env!("CARGO_BIN_EXE_memory-protection");

/// Compares the output with the snapshot `file` when it was taken under the same Yama
/// setting (the first line of both). Under another setting some answers differ, as their
/// conditions do, and the program's own check of each answer is the check.
#[track_caller]
fn assert_snapshot_under_the_same_yama(out: &Finished, file: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let reference = std::fs::read_to_string(&path).unwrap_or_default();
    let yama = |text: &str| text.lines().next().unwrap_or_default().to_owned();
    if reference.is_empty() || yama(&reference) == yama(&out.stdout) {
        out.assert_stdout_snapshot(file, &[PIDS, ADDRS]);
    } else {
        // The program's own prediction still checked every answer of this run.
        test_support::skipped(&format!(
            "{file} not compared: it was taken with {:?}, this kernel has {:?}",
            yama(&reference),
            yama(&out.stdout)
        ));
    }
}

/// Run by whoever runs the tests. As root the stranger becomes user nobody: another user.
#[test]
fn the_parent_reads_its_child_and_each_answer_is_predicted() {
    let out = test_support::run(BIN, &[]);
    out.assert_success();
    let file = if test_support::running_as_root() {
        "output-root.txt"
    } else {
        "output.txt"
    };
    assert_snapshot_under_the_same_yama(&out, file);
}

/// Run by root, the example also runs as user nobody, so that the stranger is the
/// target's user. (Run by another user, the test above is that run, and this one skips.)
#[test]
fn as_an_ordinary_user_the_stranger_is_the_same_user() {
    let Some(cmd) = test_support::as_nobody(BIN, &[]) else {
        return;
    };
    let out = test_support::run_command(cmd);
    out.assert_success();
    assert_snapshot_under_the_same_yama(&out, "output.txt");
}

/// When the kernel refuses the parent although the checks shown allow it (another
/// security module, a seccomp filter), the example says so in one line and reaps its
/// child. strace makes the parent's process_vm_readv fail with EPERM.
#[test]
fn an_unexpected_refusal_is_one_clear_line() {
    if !test_support::have("strace", "strace") {
        return;
    }
    let inject = "inject=process_vm_readv:error=EPERM:when=1";
    let args = [
        "-f",
        "-o",
        "/dev/null",
        "-e",
        "trace=process_vm_readv",
        "-e",
        inject,
        BIN,
    ];
    test_support::run("strace", &args)
        .assert_code(1)
        .assert_one_line_error()
        .assert_stderr_contains("memory-protection: error: process_vm_readv by pid ")
        .assert_stderr_contains(
            ": EPERM: Operation not permitted, where the checks predict: allowed",
        );
}
