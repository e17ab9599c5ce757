//! The `sockets` programs. Each checks its own demonstration and keeps the house rules
//! (`test_support::table`); `sockets` also with one request, and bad counts of them.

use test_support::table::{DEFAULT, Program};

/// `socket-boundaries` makes two children, one after the other.
const PROGRAMS: &[Program] = &[Program {
    name: "socket-boundaries",
    most: 3,
    ..DEFAULT
}];

// Socket inode numbers differ on every run; what stays is that the end is `socket:[…]`,
// not a path.
test_support::example_tests!(PROGRAMS, &[("[INODE]", r"socket:(?<redacted>\[\d+\])")]);

#[test]
fn one_request_is_one_exchange_then_the_hang_up() {
    let bin = env!("CARGO_BIN_EXE_sockets");
    let out = test_support::run(bin, &["--requests", "1"]);
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
    for bad in ["0", "10", "x"] {
        test_support::run(bin, &["--requests", bad])
            .assert_code(2)
            .assert_one_line_error()
            .assert_stderr_contains(&format!("invalid value '{bad}' for '--requests"));
    }
}
