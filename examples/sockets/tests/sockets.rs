//! The `sockets` programs keep the house rules (`test_support::table`); `sockets` also with
//! one request, and bad counts of them.

// A socket's inode differs on every run; what stays is that the end is `socket:[…]`.
test_support::example_tests!(&[], &[("[INODE]", r"socket:(?<redacted>\[\d+\])")]);

#[test]
fn one_request_is_one_exchange_then_the_hang_up() {
    let bin = env!("CARGO_BIN_EXE_sockets");
    let out = test_support::run(bin, &["--requests", "1"]);
    let exchange: Vec<&str> = out
        .assert_success()
        .stdout
        .lines()
        .skip(1)
        .take(4)
        .collect();
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
            .assert_stderr_contains(&format!("invalid value '{bad}' for '--requests"));
    }
}
