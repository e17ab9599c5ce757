//! The `crashes` programs. Each checks its own result (the children died of SIGSEGV and
//! SIGABRT without a core dump; the thread's fault killed its whole process before the main
//! thread printed again; the panics were contained and left the mutex poisoned with 50 units
//! missing) and keeps the house rules (`test_support::table`); the two that crash run here
//! where core dumps are allowed, and leave none.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use test_support::table::{DEFAULT, Program};

/// Parent and child both write: `| head -n 1` is tried several times, since who meets the
/// closed pipe first varies. At most two tasks at a time, three for `thread-crash` (parent,
/// child, and the child's worker, refused in the child, whose error line is then the only
/// one).
const PROGRAMS: &[Program] = &[
    Program {
        name: "crashes",
        most: 3,
        snapshot: false,
        stdout_tries: 3,
        ..DEFAULT
    },
    Program {
        name: "thread-crash",
        most: 4,
        snapshot: false,
        stdout_tries: 3,
        ..DEFAULT
    },
    Program {
        name: "panics",
        most: 3,
        stdout_tries: 3,
        ..DEFAULT
    },
];

test_support::example_tests!(PROGRAMS, &[]);

/// Runs the program `name` in an empty directory with core dumps *allowed* (soft
/// RLIMIT_CORE raised to the hard limit), so that only the program's own precautions keep
/// core files away: none may appear, and its output is its snapshot.
fn crashes_without_a_core_file(name: &str, snapshot: &str) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("crashes-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("creating the scratch directory");
    let (_, hard) = getrlimit(Resource::RLIMIT_CORE).expect("getrlimit(RLIMIT_CORE)");
    let programs = test_support::table::programs(PROGRAMS);
    let program = programs.iter().find(|p| p.name == name).expect("a program");
    let mut cmd = test_support::command(program.path(), &[]);
    cmd.current_dir(&dir);
    // SAFETY: the closure runs in the forked child before exec and only calls
    // setrlimit(2), a plain system call that is async-signal-safe and allocates nothing.
    unsafe {
        cmd.pre_exec(move || Ok(setrlimit(Resource::RLIMIT_CORE, hard, hard)?));
    }
    let out = test_support::run_command(cmd);
    let left: Vec<_> = fs::read_dir(&dir).expect("listing").flatten().collect();
    assert!(left.is_empty(), "{name} left {left:?}");
    fs::remove_dir(&dir).expect("removing the scratch directory");
    out.assert_success();
    assert_eq!(out.stderr, "", "{name} wrote on stderr");
    out.assert_stdout_snapshot(snapshot, &[test_support::PIDS, test_support::TIDS]);
}

#[test]
fn child_processes_crash_and_the_parent_carries_on() {
    crashes_without_a_core_file("crashes", "output.txt");
}

#[test]
fn a_thread_fault_kills_the_whole_process() {
    crashes_without_a_core_file("thread-crash", "output-thread-crash.txt");
}
