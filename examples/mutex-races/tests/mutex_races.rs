//! The `mutex-races` programs keep the house rules (`test_support::table`); `mutex-races`
//! also with other sizes, and bad values for them.

use test_support::table::{Program, tasks};

/// Behind a gate: main and the 4 threads; the parent and two children.
const PROGRAMS: &[Program] = &[tasks("mutex-races", 5), tasks("processes", 3)];

test_support::example_tests!(
    PROGRAMS,
    &[
        // Counts that depend on scheduling: their lines end in "this run".
        (
            "[COUNT]",
            r"counter = (?<redacted>\d+), should be \d+: lost \S+ this run"
        ),
        ("[LOST]", r"lost (?<redacted>\d+) this run"),
    ]
);

#[test]
fn flags_change_the_sizes() {
    let bin = env!("CARGO_BIN_EXE_mutex-races");
    let out = test_support::run(bin, &["--threads", "3", "--iterations", "1000"]);
    out.assert_success()
        .assert_stdout_contains("3 threads x 1000 increments")
        .assert_stdout_contains("counter = 3000, should be 3000: lost 0\n");
    assert_eq!(
        out.stdout.matches("should be 3000").count(),
        3,
        "{}",
        out.stdout
    );
    for [flag, bad] in [
        ["--threads", "0"],
        ["--threads", "x"],
        ["--iterations", "0"],
    ] {
        test_support::run(bin, &[flag, bad])
            .assert_code(2)
            .assert_stderr_contains(&format!("invalid value '{bad}' for '{flag}"));
    }
}
