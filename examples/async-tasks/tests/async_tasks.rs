//! The async-tasks programs keep the house rules (`test_support::table`); the panic one also
//! under an address-space limit with `RUST_BACKTRACE=1` and with core dumps allowed.

use test_support::table::{DEFAULT, Program};

/// The runtime's two workers and the main thread; `panic`'s child runs a runtime too, and its
/// demonstration panic prints Rust's message on stderr.
const PROGRAMS: &[Program] = &[
    Program {
        name: "async-tasks",
        tasks: 3,
        ..DEFAULT
    },
    Program {
        name: "blocking",
        tasks: 1,
        most: 3,
        ..DEFAULT
    },
    Program {
        name: "panic",
        tasks: 3,
        most: 4,
        quiet: false,
        ..DEFAULT
    },
];

test_support::example_tests!(PROGRAMS, &[]);

/// Under `ulimit -v` (an address space of 6 to 80 MB) with `RUST_BACKTRACE=1` and core dumps
/// allowed, `panic` succeeds or fails in one line; it never hangs and leaves no core file.
#[test]
fn under_an_address_space_limit_panic_ends_in_one_line_and_leaves_no_core() {
    let bin = env!("CARGO_BIN_EXE_panic");
    let dir =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("async-tasks-core");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    for mb in [6, 10, 20, 30, 40, 60, 80] {
        let script =
            format!("ulimit -c unlimited; ulimit -v {}; exec \"$0\"", mb * 1024);
        let mut cmd = test_support::command("bash", &["-c", &script, bin]);
        cmd.env("RUST_BACKTRACE", "1").current_dir(&dir);
        let out = test_support::run_command(cmd);
        if !out.status.success() {
            out.assert_code(1);
            let errors: Vec<_> =
                out.stderr.lines().filter(|l| l.contains("error")).collect();
            assert_eq!(errors.len(), 1, "at {mb} MB:\n{out}");
            assert!(
                !out.stderr.contains("stack backtrace"),
                "at {mb} MB:\n{out}"
            );
        }
        let left: Vec<_> = std::fs::read_dir(&dir)
            .expect("listing")
            .flatten()
            .collect();
        assert!(left.is_empty(), "at {mb} MB it left {left:?}");
    }
    std::fs::remove_dir(&dir).expect("removing the scratch directory");
}
