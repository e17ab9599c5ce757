//! Runs the `sockets` example as a child process and checks what it demonstrates.

use test_support::{PIDS, Redaction, run, run_command};

const BIN: &str = env!("CARGO_BIN_EXE_sockets");

/// Socket inode numbers differ on every run.
const INODE: Redaction = ("[INODE]", r"socket:(?<redacted>\[\d+\])");

#[test]
fn requests_get_replies_and_boundaries_differ_by_socket_type() {
    let out = run(BIN, &[]);
    out.assert_success()
        .assert_stdout_contains("  parent got \"pong 3\"\n")
        .assert_stdout_contains("child: recv() returned 0 bytes (the parent hung up); exiting")
        .assert_stdout_contains(
            "SOCK_SEQPACKET: recv #1 → \"hello\", recv #2 → \"world\", recv #3 → 0 bytes",
        )
        .assert_stdout_contains("SOCK_STREAM:    recv #1 → \"helloworld\", recv #2 → 0 bytes");
    out.assert_stdout_snapshot("output.txt", &[PIDS, INODE]);
}

#[test]
fn socketpair_has_no_name_in_the_filesystem() {
    let out = run(BIN, &[]);
    out.assert_success();
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("socketpair() gave"))
        .expect("socketpair line");
    assert!(line.contains(", e.g. socket:["), "{line}");
    assert!(!line.contains('/'), "a socket pair has no path: {line}");
}

#[test]
fn each_request_is_answered_in_turn() {
    let out = run(BIN, &["--requests", "1"]);
    out.assert_success();
    let lines: Vec<&str> = out.stdout.lines().skip(2).take(4).collect();
    assert!(
        lines[0].starts_with("  parent (pid ")
            && lines[0].ends_with("sends \"ping 1\"")
    );
    assert!(
        lines[1].starts_with("  child (pid ")
            && lines[1].ends_with("replies \"pong 1\"")
    );
    assert_eq!(lines[2], "  parent got \"pong 1\"");
    assert!(
        lines[3].starts_with("  child: recv() returned 0 bytes"),
        "{lines:?}"
    );
    assert!(!out.stdout.contains("ping 2"));
}

#[test]
fn bad_flags_are_usage_errors() {
    run(BIN, &["--bogus"])
        .assert_code(2)
        .assert_stderr_contains("unexpected argument '--bogus'")
        .assert_stderr_contains("Usage:");
    for bad in ["0", "10", "x"] {
        run(BIN, &["--requests", bad])
            .assert_code(2)
            .assert_stderr_contains(&format!(
                "error: invalid value '{bad}' for '--requests"
            ));
    }
}

/// With RLIMIT_NOFILE = 4, descriptors 0-2 leave room for one more: `socketpair` needs two and
/// fails with EMFILE.
#[test]
fn failed_socketpair_is_one_clear_line() {
    let out = run_command(test_support::command("prlimit", &["--nofile=4", BIN]));
    out.assert_code(1).assert_one_line_error();
    assert!(
        out.stderr
            .starts_with("sockets: error: socketpair(): EMFILE: "),
        "stderr: {}",
        out.stderr
    );
}
