//! Runs the `crashes` example as a child process and checks what it demonstrates.
#![cfg(target_os = "linux")]

use std::fs;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use test_support::{Finished, PIDS, TIDS};

const BIN: &str = env!("CARGO_BIN_EXE_crashes");

/// What the re-run child's main thread would print if it survived (see `STILL_ALIVE`).
const STILL_ALIVE: &str = "main thread: join() returned, I am still alive";

/// A fresh, empty directory for one test, inside cargo's scratch space for integration tests.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("crashes-{name}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("creating the scratch directory");
        Scratch(dir)
    }

    /// Names of the files in the directory that start with `core`.
    fn core_files(&self) -> Vec<String> {
        core_files(&self.0)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn core_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .expect("listing a directory")
        .map(|entry| entry.expect("a directory entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| name.starts_with("core"))
        .collect()
}

/// Runs the example in `dir` with core dumps *allowed* (soft RLIMIT_CORE raised to the hard
/// limit), so that only the example's own precautions keep core files away.
fn run_allowing_core_dumps(dir: &Path, args: &[&str]) -> Finished {
    let (_, hard) = getrlimit(Resource::RLIMIT_CORE).expect("getrlimit(RLIMIT_CORE)");
    let mut cmd = test_support::command(BIN, args);
    cmd.current_dir(dir);
    // SAFETY: the closure runs in the forked child before exec and only calls setrlimit(2),
    // a plain system call that is async-signal-safe and allocates nothing.
    unsafe {
        cmd.pre_exec(move || Ok(setrlimit(Resource::RLIMIT_CORE, hard, hard)?));
    }
    test_support::run_command(cmd)
}

#[test]
fn crashes_are_contained_as_documented() {
    let scratch = Scratch::new("all");
    let out = run_allowing_core_dumps(&scratch.0, &[]);
    out.assert_success();

    // 1. Child processes die of signals; the parent reports them and lives on.
    out.assert_stdout_contains("was killed by SIGSEGV (signal 11), no core dump")
        .assert_stdout_contains("was killed by SIGABRT (signal 6), no core dump")
        .assert_stdout_contains("still running.");

    // 2. The re-run child: its worker ran, its main thread never printed again.
    out.assert_stdout_contains("child | worker thread tid ")
        .assert_stdout_contains(
            "The child was killed by SIGSEGV (signal 11), no core dump.",
        );
    assert!(
        !out.stdout.contains(&format!("child | {STILL_ALIVE}")),
        "the main thread survived:\n{}",
        out.stdout
    );

    // 3. Panics are contained; the mutex is poisoned with the half-done update inside.
    out.assert_stdout_contains("thread 'parser' panicked: an age in digits")
        .assert_stdout_contains("join() returned Err")
        .assert_stdout_contains("lock() returned Err(PoisonError)")
        .assert_stdout_contains("alice 50, bob 0, total 50")
        .assert_stdout_contains("Clean exit: no child process left");
    assert!(
        !out.stderr.contains("panicked"),
        "panic noise on stderr:\n{}",
        out.stderr
    );

    assert_eq!(
        scratch.core_files(),
        Vec::<String>::new(),
        "core dump left behind"
    );
    out.assert_stdout_snapshot("output.txt", &[PIDS, TIDS]);
}

#[test]
fn a_thread_fault_kills_the_whole_process() {
    let scratch = Scratch::new("thread-segfault");
    let out = run_allowing_core_dumps(&scratch.0, &["--scenario", "thread-segfault"]);
    assert_eq!(out.signal(), Some(11), "not killed by SIGSEGV: {:?}", out);
    assert!(!out.status.core_dumped(), "the scenario dumped core");
    out.assert_stdout_contains("main thread   pid ")
        .assert_stdout_contains("worker thread tid ");
    assert!(
        !out.stdout.contains(STILL_ALIVE),
        "the main thread survived:\n{}",
        out.stdout
    );
    assert_eq!(
        scratch.core_files(),
        Vec::<String>::new(),
        "core dump left behind"
    );
}

#[test]
fn no_core_files_in_the_working_directory() {
    // `cargo test` runs this in the crate's folder; the tests above ran the example elsewhere,
    // but nothing should ever land here either.
    let cwd = std::env::current_dir().expect("current_dir");
    assert_eq!(
        core_files(&cwd),
        Vec::<String>::new(),
        "core dump in {}",
        cwd.display()
    );
}

#[test]
fn bad_flags_are_usage_errors() {
    let cases: [(&[&str], &str); 2] = [
        (&["--bogus"], "error: unexpected argument '--bogus'"),
        (
            &["--scenario", "nope"],
            "error: invalid value 'nope' for '--scenario <SCENARIO>'",
        ),
    ];
    for (args, message) in cases {
        let out = test_support::run(BIN, args);
        out.assert_code(2);
        out.assert_stderr_contains(message);
    }
}

/// Out of processes: an unprivileged user limited to one task (`prlimit --nproc=1`) cannot
/// fork. The example must say so in one line, not panic. Root ignores RLIMIT_NPROC, so as root
/// the example runs as `nobody` (uid 65534).
#[test]
fn a_failed_fork_is_one_clear_line() {
    let Some(cmd) = test_support::with_one_process_allowed(BIN, &[]) else {
        return;
    };
    let out = test_support::run_command(cmd);
    out.assert_code(1);
    out.assert_one_line_error();
    out.assert_stderr_contains("crashes: error: fork(): EAGAIN");
}
