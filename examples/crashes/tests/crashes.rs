//! Runs the `crashes` programs as child processes. Each program checks its own result (the
//! children died of SIGSEGV and SIGABRT without a core dump; the thread's fault killed its
//! whole process before the main thread printed again; the panics were contained and left
//! the mutex poisoned with 50 units missing); the tests compare the output with the
//! snapshots the chapter shows, check that no core file appears even where core dumps are
//! allowed, and that every way of failing ends in one clear line.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use test_support::{Finished, PIDS, TIDS};

const CRASHES: &str = env!("CARGO_BIN_EXE_crashes");
const THREAD_CRASH: &str = env!("CARGO_BIN_EXE_thread-crash");
const PANICS: &str = env!("CARGO_BIN_EXE_panics");
const ALL: [&str; 3] = [CRASHES, THREAD_CRASH, PANICS];

/// A fresh, empty directory for one test, inside cargo's scratch space for integration
/// tests.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("crashes-{name}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("creating the scratch directory");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Names of the files in `dir` that start with `core`.
fn core_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .expect("listing a directory")
        .map(|entry| entry.expect("a directory entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| name.starts_with("core"))
        .collect()
}

/// Runs `bin` in an empty directory with core dumps *allowed* (soft RLIMIT_CORE raised to
/// the hard limit), so that only the program's own precautions keep core files away, and
/// checks that none appeared.
fn run_allowing_core_dumps(bin: &str, name: &str) -> Finished {
    let scratch = Scratch::new(name);
    let (_, hard) = getrlimit(Resource::RLIMIT_CORE).expect("getrlimit(RLIMIT_CORE)");
    let mut cmd = test_support::command(bin, &[]);
    cmd.current_dir(&scratch.0);
    // SAFETY: the closure runs in the forked child before exec and only calls
    // setrlimit(2), a plain system call that is async-signal-safe and allocates nothing.
    unsafe {
        cmd.pre_exec(move || Ok(setrlimit(Resource::RLIMIT_CORE, hard, hard)?));
    }
    let out = test_support::run_command(cmd);
    assert_eq!(
        core_files(&scratch.0),
        Vec::<String>::new(),
        "{name}: core dump left behind"
    );
    out
}

#[test]
fn child_processes_crash_and_the_parent_carries_on() {
    let out = run_allowing_core_dumps(CRASHES, "processes");
    out.assert_success();
    assert!(out.stderr.is_empty(), "stderr: {}", out.stderr);
    out.assert_stdout_snapshot("output.txt", &[PIDS]);
}

#[test]
fn a_thread_fault_kills_the_whole_process() {
    let out = run_allowing_core_dumps(THREAD_CRASH, "thread");
    out.assert_success();
    assert!(out.stderr.is_empty(), "stderr: {}", out.stderr);
    out.assert_stdout_snapshot("output-thread-crash.txt", &[PIDS, TIDS]);
}

#[test]
fn panics_stay_in_their_thread_and_poison_the_mutex() {
    let out = test_support::run(PANICS, &[]);
    out.assert_success();
    assert!(
        out.stderr.is_empty(),
        "panic noise on stderr:\n{}",
        out.stderr
    );
    out.assert_stdout_snapshot("output-panics.txt", &[]);
}

#[test]
fn no_core_files_in_the_working_directory() {
    // `cargo test` runs this in the crate's folder; the tests above ran the programs
    // elsewhere, but nothing should ever land here either.
    let cwd = std::env::current_dir().expect("current_dir");
    assert_eq!(
        core_files(&cwd),
        Vec::<String>::new(),
        "core dump in {}",
        cwd.display()
    );
}

#[test]
fn an_argument_is_a_usage_error() {
    for bin in ALL {
        let out = test_support::run(bin, &["--bogus"]);
        out.assert_code(2).assert_one_line_error();
    }
}

/// Parent and child both write to stdout: a child ended by SIGPIPE must not turn into a
/// second error line. Several runs, since who writes first after the reader left varies.
#[test]
fn stdout_failures_end_cleanly() {
    for bin in ALL {
        for _ in 0..3 {
            test_support::assert_stdout_failures_end_cleanly(bin, &[]);
        }
    }
}

/// Under a process limit, whichever fork or thread creation is refused, the one error line
/// names it and the limit. `crashes` and `panics` have at most two tasks at a time;
/// `thread-crash` three (parent, child, and the child's worker: refused at a limit of two,
/// in the child, whose error line is then the only one).
#[test]
fn a_process_limit_ends_in_one_clear_line() {
    for (bin, tasks) in [(CRASHES, 2), (THREAD_CRASH, 3), (PANICS, 2)] {
        for nproc in 1..=tasks + 1 {
            let Some(cmd) = test_support::with_process_limit(bin, &[], nproc) else {
                return;
            };
            let out = test_support::run_command(cmd);
            if nproc > 1 && out.status.success() {
                continue;
            }
            out.assert_code(1).assert_one_line_error();
            out.assert_stderr_contains("EAGAIN")
                .assert_stderr_contains("RLIMIT_NPROC");
            assert!(
                out.stderr.contains("fork()")
                    || out.stderr.contains("spawning a thread"),
                "the error does not say what was refused: {}",
                out.stderr
            );
        }
    }
}
