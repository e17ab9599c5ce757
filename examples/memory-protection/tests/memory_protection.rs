//! `memory-protection` keeps the house rules (`test_support::table`) and checks each answer
//! against the conditions it prints; its snapshot depends on who runs it, and on Yama.

use test_support::table::{Program, tasks};
use test_support::{ADDRS, Finished, PIDS};

/// The example, the target, a stranger. Allowed two, a stranger's fork fails while the target
/// waits, which must still end and be reaped.
const PROGRAMS: &[Program] = &[Program {
    snapshot: false,
    ..tasks("memory-protection", 3)
}];

test_support::example_tests!(PROGRAMS, &[]);

const BIN: &str = env!("CARGO_BIN_EXE_memory-protection");

/// Compares with the snapshot `file` if it was taken under the same Yama setting (the first
/// line of both); under another, some answers differ as their conditions do, and the
/// program's own check of each answer is the check.
#[track_caller]
fn assert_snapshot_under_the_same_yama(out: &Finished, file: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let reference = std::fs::read_to_string(&path).unwrap_or_default();
    let yama = |text: &str| text.lines().next().unwrap_or_default().to_owned();
    if reference.is_empty() || yama(&reference) == yama(&out.stdout) {
        out.assert_stdout_snapshot(file, &[PIDS, ADDRS]);
    } else {
        let (was, is) = (yama(&reference), yama(&out.stdout));
        test_support::skipped(&format!(
            "{file} was taken with {was:?}, this kernel has {is:?}"
        ));
    }
}

/// As root the stranger becomes user nobody, another user; as nobody, the same user.
#[test]
fn the_parent_reads_its_child_and_each_answer_is_predicted() {
    let out = test_support::run(BIN, &[]);
    let root = test_support::running_as_root();
    let file = if root {
        "output-root.txt"
    } else {
        "output.txt"
    };
    assert_snapshot_under_the_same_yama(out.assert_success(), file);
    if let Some(out) = root
        .then(|| test_support::run_as_nobody(BIN, &[]))
        .flatten()
    {
        assert_snapshot_under_the_same_yama(out.assert_success(), "output.txt");
    }
}

/// When the kernel refuses the parent although the checks shown allow it (another security
/// module, a seccomp filter: here strace), it says so in one line and reaps its child.
#[test]
fn an_unexpected_refusal_is_one_clear_line() {
    if !test_support::have("strace", "strace") {
        return;
    }
    let inject = "inject=process_vm_readv:error=EPERM:when=1";
    let trace = [
        "-f",
        "-o",
        "/dev/null",
        "-e",
        "trace=process_vm_readv",
        "-e",
        inject,
        BIN,
    ];
    test_support::run("strace", &trace)
        .assert_code(1)
        .assert_one_line_error()
        .assert_stderr_contains("memory-protection: error: process_vm_readv by pid ")
        .assert_stderr_contains(
            ": EPERM: Operation not permitted, where the checks predict: allowed",
        );
}
