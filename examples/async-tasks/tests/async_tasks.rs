//! The async-tasks programs keep the house rules (`test_support::table`); `panic` also under
//! an address-space limit with `RUST_BACKTRACE=1` and core dumps allowed.

use test_support::table::{Program, tasks};

/// The runtime's two workers and the main thread; `panic`'s child runs a runtime too, and
/// its demonstration panic prints Rust's message on stderr.
const PROGRAMS: &[Program] = &[
    tasks("async-tasks", 3),
    tasks("blocking", 1).up_to(3),
    Program {
        quiet: false,
        ..tasks("panic", 3)
    },
];

test_support::example_tests!(PROGRAMS, &[]);

/// In an address space of 6 to 80 MB, `panic` succeeds or fails in one line: it never
/// hangs, prints no backtrace and leaves no core file.
#[test]
fn under_an_address_space_limit_panic_ends_in_one_line_and_leaves_no_core() {
    let dir = test_support::tempdir().expect("an empty directory");
    for mb in [6, 10, 20, 30, 40, 60, 80] {
        let script = format!("ulimit -c hard; ulimit -v {}; exec \"$0\"", mb * 1024);
        let mut cmd = test_support::command(
            "bash",
            &["-c", &script, env!("CARGO_BIN_EXE_panic")],
        );
        let out =
            test_support::run_command(cmd.env("RUST_BACKTRACE", "1").current_dir(&dir));
        if !out.status.success() {
            let errors = out.stderr.lines().filter(|l| l.contains("error")).count();
            assert!(
                errors == 1 && !out.stderr.contains("stack backtrace"),
                "{mb} MB: {out}"
            );
            out.assert_code(1);
        }
        let left: Vec<_> = std::fs::read_dir(&dir)
            .expect("listing")
            .flatten()
            .collect();
        assert!(left.is_empty(), "at {mb} MB it left {left:?}");
    }
}
