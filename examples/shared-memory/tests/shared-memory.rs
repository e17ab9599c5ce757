//! Runs the `shared-memory` example as a child process and checks what it demonstrates.

use test_support::{PIDS, run, run_command};

const BIN: &str = env!("CARGO_BIN_EXE_shared-memory");

#[test]
fn private_mapping_is_copied_and_shared_mapping_is_shared() {
    let out = run(BIN, &[]);
    out.assert_success()
        .assert_stdout_contains("MAP_PRIVATE: parent (pid")
        .assert_stdout_contains("reads 0\n")
        .assert_stdout_contains("reads 42\n");
    // Exactly one 0 and one 42, each on its own line, in that order.
    let private = out
        .stdout
        .find("MAP_PRIVATE: parent")
        .expect("private line");
    let shared = out.stdout.find("MAP_SHARED:  parent").expect("shared line");
    assert!(private < shared, "{}", out.stdout);
    out.assert_stdout_snapshot("output.txt", &[PIDS]);
}

#[test]
fn message_and_reply_cross_the_shared_page_in_protocol_order() {
    let out = run(BIN, &["--message", "ping through a page"]);
    out.assert_success();
    let order = [
        "child (pid",
        "writes \"ping through a page\"",
        "parent (pid",
        "saw state = MESSAGE and read \"ping through a page\"",
        "parent writes \"got it\"",
        "child saw state = REPLY and read \"got it\"",
        "Checks passed",
        "Clean exit: no child process left",
    ];
    let mut from = 0;
    for needle in order {
        let at = out.stdout[from..].find(needle).unwrap_or_else(|| {
            panic!("{needle:?} missing or out of order in:\n{}", out.stdout)
        });
        from += at + needle.len();
    }
    assert!(out.stderr.is_empty(), "stderr: {}", out.stderr);
}

#[test]
fn threads_share_without_setup() {
    let out = run(BIN, &[]);
    out.assert_success()
        .assert_stdout_contains(r#"main now sees ["from main", "from a thread"]"#);
}

#[test]
fn bad_flags_are_usage_errors() {
    let out = run(BIN, &["--bogus"]);
    out.assert_code(2).assert_stderr_contains("Usage:");
    let too_long = "x".repeat(65);
    let out = run(BIN, &["--message", &too_long]);
    out.assert_code(2)
        .assert_stderr_contains("at most 64 bytes, got 65");
}

/// `fork` fails with EAGAIN when the user may not have another process (RLIMIT_NPROC = 1).
/// Root ignores that limit, so as root the example runs as `nobody`.
#[test]
fn failed_fork_is_one_clear_line() {
    let Some(cmd) = test_support::with_one_process_allowed(BIN, &[]) else {
        return;
    };
    let out = run_command(cmd);
    out.assert_code(1).assert_one_line_error();
    assert!(
        out.stderr
            .starts_with("shared-memory: error: fork(): EAGAIN: "),
        "stderr: {}",
        out.stderr
    );
}
