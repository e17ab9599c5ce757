//! Runs the `sockets` examples and compares what they print with the book's copies.
//! Each example checks its own demonstration; these tests add the snapshots and how
//! each example ends under a refused task or descriptor, a bad argument and a failing
//! stdout.

use test_support::{PIDS, Redaction};

const SOCKETS: &str = env!("CARGO_BIN_EXE_sockets");
const BOUNDARIES: &str = env!("CARGO_BIN_EXE_socket-boundaries");

/// Socket inode numbers differ on every run; what stays is that the end is
/// `socket:[…]`, not a path.
const INODE: Redaction = ("[INODE]", r"socket:(?<redacted>\[\d+\])");

#[test]
fn requests_get_replies_over_a_socket_pair() {
    let out = test_support::run(SOCKETS, &[]);
    out.assert_success();
    out.assert_stdout_snapshot("output.txt", &[PIDS, INODE]);
}

#[test]
fn one_request_is_one_exchange_then_the_hang_up() {
    let out = test_support::run(SOCKETS, &["--requests", "1"]);
    out.assert_success();
    let exchange: Vec<&str> = out.stdout.lines().skip(1).take(4).collect();
    assert!(exchange[0].ends_with("sends \"ping 1\""), "{exchange:?}");
    assert!(exchange[1].ends_with("replies \"pong 1\""), "{exchange:?}");
    assert_eq!(exchange[2], "parent got \"pong 1\"");
    assert!(
        exchange[3].starts_with("child: recv() returned 0 bytes"),
        "{exchange:?}"
    );
    assert!(!out.stdout.contains("ping 2"), "{}", out.stdout);
}

#[test]
fn seqpacket_keeps_boundaries_and_stream_does_not() {
    let out = test_support::run(BOUNDARIES, &[]);
    out.assert_success();
    out.assert_stdout_snapshot("output-socket-boundaries.txt", &[]);
}

#[test]
fn stdout_failures_end_cleanly() {
    for bin in [SOCKETS, BOUNDARIES] {
        test_support::assert_stdout_failures_end_cleanly(bin, &[]);
    }
}

#[test]
fn bad_arguments_are_refused() {
    test_support::run(SOCKETS, &["--bogus"])
        .assert_code(2)
        .assert_stderr_contains("unexpected argument '--bogus'");
    for bad in ["0", "10", "x"] {
        test_support::run(SOCKETS, &["--requests", bad])
            .assert_code(2)
            .assert_stderr_contains(&format!("invalid value '{bad}' for '--requests"));
    }
    test_support::run(BOUNDARIES, &["--bogus"])
        .assert_code(2)
        .assert_one_line_error()
        .assert_stderr_contains("unexpected argument \"--bogus\"");
}

/// With RLIMIT_NOFILE = 4, descriptors 0-2 leave room for one more: `socketpair` needs
/// two and fails with EMFILE.
#[test]
fn a_refused_socketpair_is_one_clear_line() {
    for bin in [SOCKETS, BOUNDARIES] {
        let out = test_support::run_command(test_support::command(
            "prlimit",
            &["--nofile=4", bin],
        ));
        out.assert_code(1)
            .assert_one_line_error()
            .assert_stderr_contains("error: socketpair(): EMFILE: ");
    }
}

/// `sockets` makes one child; `socket-boundaries` two, one after the other. Below what
/// an example needs, its first fork is refused: one line naming the limit, exit 1,
/// nothing left behind. At the limits where it could succeed, it succeeds, or (when
/// other processes of the same user take the room) fails just as cleanly.
#[test]
fn a_refused_fork_is_one_clear_line() {
    for (bin, highest) in [(SOCKETS, 2), (BOUNDARIES, 3)] {
        let says = ["fork(): EAGAIN", "RLIMIT_NPROC"];
        test_support::assert_task_limits_end_cleanly(bin, &[], 1, highest, &says);
    }
}
