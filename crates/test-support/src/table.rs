//! The house rules every example program keeps, tested once for every program of a crate.
//!
//! A crate's test file declares what differs from [`DEFAULT`] for some of its programs and
//! gets the standard tests from [`example_tests!`](crate::example_tests):
//!
//! ```text
//! const PROGRAMS: &[Program] = &[Program { name: "own-stacks", tasks: 4, ..DEFAULT }];
//! test_support::example_tests!(PROGRAMS, &[FD_NUMBER]);
//! ```
//!
//! The programs themselves are found the way cargo finds them (`src/main.rs` is the package's
//! program, `src/bin/NAME.rs` another), so a new program gets every standard test without an
//! entry. For each program:
//!
//! * its output, redacted (pids, tids, addresses and the crate's own redactions), is its
//!   snapshot `output.txt` (the package's program) or `output-NAME.txt`, and it says nothing
//!   on stderr;
//! * `| head -n 1` ends it quietly and `> /dev/full` in one line;
//! * an unknown flag, a non-UTF-8 argument and a 100 KB argument are each one line and exit 2;
//!   `--help` prints the command that runs it, also when `argv[0]` is not UTF-8;
//! * allowed fewer tasks than it needs, it fails in one line naming the limit, at every limit;
//!   allowed few open files, it succeeds or fails in one line;
//! * killed alone (SIGKILL to it, not to its children), at its first child and at random
//!   moments, it leaves no process running.

use std::ffi::OsStr;
use std::hash::{BuildHasher, RandomState};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::{
    ADDRS, Finished, PIDS, Redaction, TIDS, assert_stdout_failures_end_cleanly, command,
    in_new_session, run, run_command, session_left_after, with_process_limit,
};

/// What a program needs, where it differs from [`DEFAULT`].
#[derive(Clone, Copy, Debug)]
pub struct Program {
    /// The program's name (its binary).
    pub name: &'static str,
    /// How many tasks it certainly has alive at once, itself included: allowed fewer, it must
    /// fail.
    pub tasks: u32,
    /// The most tasks it may have alive at once: it is also run allowed this many (at and
    /// above `tasks` it may succeed, or fail the same clean way).
    pub most: u32,
    /// What its one error line says when a task is refused.
    pub says: &'static [&'static str],
    /// Whether its output is compared with its snapshot here (`false` where its own test does).
    pub snapshot: bool,
    /// Whether it prints nothing on stderr in a normal run.
    pub quiet: bool,
    /// A tool it runs, and the package that has it: without it, its tests skip loudly.
    pub needs: Option<(&'static str, &'static str)>,
    /// How often `| head -n 1` is tried: where a parent and a child both write, who meets the
    /// closed pipe first varies.
    pub stdout_tries: u32,
    /// What to clean up after the program (pid given) was killed with SIGKILL, which no
    /// program can catch: a named kernel object, say.
    pub after_kill: Option<fn(u32)>,
}

/// One task besides itself (a thread or a child), refused with `EAGAIN` by the user's task
/// limit; a snapshot; silent stderr.
pub const DEFAULT: Program = Program {
    name: "",
    tasks: 2,
    most: 0,
    says: &["EAGAIN", "RLIMIT_NPROC"],
    snapshot: true,
    quiet: true,
    needs: None,
    stdout_tries: 1,
    after_kill: None,
};

/// How many more times `PARENT_KILLS` (default 2) a program is killed alone at a random moment.
fn random_kills() -> u32 {
    std::env::var("PARENT_KILLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2)
}

impl Program {
    /// The program's binary.
    pub fn path(&self) -> PathBuf {
        // target/<profile>/deps/<test binary>: cargo puts the package's programs in
        // target/<profile>.
        let exe = std::env::current_exe().expect("the test binary's path");
        let dir = exe.ancestors().nth(2).expect("target/<profile>");
        let path = dir.join(self.name);
        assert!(path.is_file(), "{} is not built", path.display());
        path
    }

    /// The program's path, or `None` after a loud skip when a tool it needs is missing.
    fn available(&self) -> Option<String> {
        match self.needs {
            Some((tool, package)) if !crate::have(tool, package) => None,
            _ => Some(self.path().to_string_lossy().into_owned()),
        }
    }

    /// What a normal run prints on stderr (a demonstration's panic message), digits blanked:
    /// an error adds one line to it.
    fn usual_stderr(&self, path: &str) -> Vec<String> {
        match self.quiet {
            true => Vec::new(),
            false => run(path, &[]).stderr.lines().map(blank).collect(),
        }
    }

    /// Exit 1 and one line on stderr besides the usual ones, saying each of `says`.
    #[track_caller]
    fn assert_fails_in_one_line(&self, out: &Finished, usual: &[String], says: &[&str]) {
        let added: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| !usual.contains(&blank(l)))
            .collect();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}: {}\n{out}",
            self.name,
            out.status
        );
        assert_eq!(
            added.len(),
            1,
            "{}: not one line of error:\n{out}",
            self.name
        );
        assert!(!added[0].contains("panicked"), "{}:\n{out}", self.name);
        for needle in says {
            assert!(
                added[0].contains(needle),
                "{} does not say {needle:?}:\n{out}",
                self.name
            );
        }
    }

    fn snapshot_file(&self) -> String {
        match self.name == package() {
            true => "output.txt".to_owned(),
            false => format!("output-{}.txt", self.name),
        }
    }

    fn command(&self) -> String {
        match self.name == package() {
            true => format!("cargo run -p {}", self.name),
            false => format!("cargo run -p {} --bin {}", package(), self.name),
        }
    }
}

fn package() -> String {
    std::env::var("CARGO_PKG_NAME").expect("CARGO_PKG_NAME is set by cargo test")
}

/// Every program of the crate under test, with what `table` says of it. Fails if the table
/// names a program the crate does not have.
pub fn programs(table: &[Program]) -> Vec<Program> {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo test"));
    let mut names = Vec::new();
    if dir.join("src/main.rs").is_file() {
        names.push(package());
    }
    if let Ok(entries) = std::fs::read_dir(dir.join("src/bin")) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "rs") || path.join("main.rs").is_file() {
                let stem = path.file_stem().expect("a file name").to_string_lossy();
                names.push(stem.into_owned());
            }
        }
    }
    names.sort();
    for entry in table {
        assert!(
            names.iter().any(|n| n == entry.name),
            "no program {:?}",
            entry.name
        );
    }
    names
        .into_iter()
        .map(|name| {
            let entry = table.iter().find(|p| p.name == name);
            let name: &'static str = entry.map_or_else(|| &*name.leak(), |p| p.name);
            Program {
                name,
                ..entry.copied().unwrap_or(DEFAULT)
            }
        })
        .collect()
}

/// Each program's redacted output is its snapshot, and it says nothing on stderr.
pub fn snapshots(table: &[Program], redactions: &[Redaction]) {
    let redactions: Vec<Redaction> = [PIDS, TIDS, ADDRS]
        .iter()
        .chain(redactions)
        .copied()
        .collect();
    for program in programs(table).iter().filter(|p| p.snapshot) {
        let Some(path) = program.available() else {
            continue;
        };
        let out = run(&path, &[]);
        out.assert_success();
        if program.quiet {
            assert_eq!(out.stderr, "", "{} wrote on stderr", program.name);
        }
        out.assert_stdout_snapshot(program.snapshot_file(), &redactions);
    }
}

/// `| head -n 1` and `> /dev/full` end each program cleanly.
pub fn stdout_failures(table: &[Program]) {
    for program in programs(table) {
        if let Some(path) = program.available() {
            for _ in 0..program.stdout_tries {
                assert_stdout_failures_end_cleanly(&path, &[]);
            }
        }
    }
}

/// An unknown flag, a non-UTF-8 argument and a 100 KB argument: one line each, exit 2,
/// nothing on stdout, the argument not echoed whole.
pub fn bad_arguments(table: &[Program]) {
    let long = "x".repeat(100_000);
    for program in programs(table) {
        for arg in [
            OsStr::new("--bogus"),
            OsStr::from_bytes(b"\xff"),
            OsStr::new(&long),
        ] {
            let mut cmd = command(program.path(), &[]);
            cmd.arg(arg);
            let out = run_command(cmd);
            out.assert_code(2).assert_one_line_error();
            let name = program.name;
            assert!(out.stderr.starts_with(&format!("{name}: error: ")), "{out}");
            assert!(
                out.stderr.len() < 500,
                "{name} echoed a long argument:\n{out}"
            );
            assert_eq!(out.stdout, "", "{name} printed on stdout");
        }
    }
}

/// `--help` prints the command that runs the program, whatever `argv[0]` is.
pub fn help(table: &[Program]) {
    for program in programs(table) {
        for arg0 in [OsStr::new(program.name), OsStr::from_bytes(b"\xff\xfe")] {
            let mut cmd = command(program.path(), &["--help"]);
            cmd.arg0(arg0);
            let out = run_command(cmd);
            out.assert_success()
                .assert_stdout_contains(&program.command());
            assert_eq!(out.stderr, "", "{}", program.name);
        }
    }
}

fn blank(line: &str) -> String {
    line.replace(|c: char| c.is_ascii_digit(), "#")
}

/// Each program is run allowed 1, 2, … tasks (see [`with_process_limit`]). Allowed fewer than
/// it needs, it must fail with one line saying why, with no hang and nothing left behind;
/// allowed more, it may succeed, or fail the same way (other processes of the same user count
/// too). Checks nothing, after a loud skip, when the limit cannot be set here.
pub fn task_limits(table: &[Program]) {
    for program in programs(table) {
        let Some(path) = program.available() else {
            continue;
        };
        let usual = program.usual_stderr(&path);
        for limit in 1..=program.most.max(program.tasks) {
            let Some(cmd) = with_process_limit(&path, &[], limit) else {
                return;
            };
            let out = run_command(cmd);
            if limit < program.tasks || !out.status.success() {
                program.assert_fails_in_one_line(&out, &usual, program.says);
            }
        }
    }
}

/// Allowed only a few open files (`prlimit --nofile=N`, N from 4 to 8: stdin, stdout and
/// stderr take three), each program succeeds or stops in one line, leaving nothing behind.
pub fn descriptor_limits(table: &[Program]) {
    if !crate::have("prlimit", "util-linux") {
        return;
    }
    for program in programs(table) {
        let Some(path) = program.available() else {
            continue;
        };
        let usual = program.usual_stderr(&path);
        for n in 4..=8 {
            let out = run("prlimit", &[&format!("--nofile={n}"), &path]);
            if !out.status.success() {
                program.assert_fails_in_one_line(&out, &usual, &[]);
            }
        }
    }
}

/// Killed alone, at its first child and at random moments, each program leaves nothing
/// running: every child ends when its parent does.
pub fn parent_killed_alone(table: &[Program]) {
    for program in programs(table) {
        let Some(path) = program.available() else {
            continue;
        };
        // How long a whole run takes here: the random moments fall within it.
        let start = Instant::now();
        run(&path, &[]);
        let micros = start.elapsed().as_micros() as u64 + 1;
        let kill = |delay| {
            let pid = kill_alone(&path, delay);
            program.after_kill.inspect(|clean_up| clean_up(pid));
        };
        kill(None);
        for _ in 0..random_kills() {
            kill(Some(Duration::from_micros(
                RandomState::new().hash_one(0) % micros,
            )));
        }
    }
}

/// Starts `path` in a session of its own, kills it alone with SIGKILL after `delay` (`None`:
/// as soon as it has a child), and fails if any process of its session is left 5 s later.
/// Returns its pid.
fn kill_alone(path: &str, delay: Option<Duration>) -> u32 {
    let mut cmd = command(path, &[]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    in_new_session(&mut cmd);
    let mut child = cmd.spawn().expect("starting the example");
    let pid = Pid::from_raw(child.id() as i32);
    match delay {
        Some(delay) => std::thread::sleep(delay),
        None => {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !has_a_child(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_micros(500));
            }
        }
    }
    // Not reaped yet, even if it has ended: its pid cannot have been given to another process.
    let _ = kill(pid, Signal::SIGKILL);
    let left = session_left_after(pid, Duration::from_secs(5));
    let _ = child.wait();
    let when = delay.map_or("at its first child".to_owned(), |d| format!("after {d:?}"));
    let name = Path::new(path).file_name().unwrap_or_default().display();
    assert!(
        left.is_empty(),
        "{name}, killed alone {when}, left running: {left:?}"
    );
    pid.as_raw() as u32
}

/// Whether process `pid` has a child now (or has ended: then there is nothing to wait for).
fn has_a_child(pid: Pid) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return true;
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    if stat
        .rsplit_once(')')
        .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    {
        return true;
    }
    tasks.flatten().any(|task| {
        std::fs::read_to_string(task.path().join("children")).is_ok_and(|c| !c.trim().is_empty())
    })
}

/// The standard tests of an example crate: `example_tests!(TABLE, REDACTIONS)`, where `TABLE`
/// is a `&[Program]` of what differs from [`DEFAULT`] and `REDACTIONS` the crate's own
/// redactions for the snapshots (see the [module](self)).
#[macro_export]
macro_rules! example_tests {
    ($table:expr, $redactions:expr) => {
        #[test]
        fn each_program_prints_its_snapshot() {
            $crate::table::snapshots($table, $redactions);
        }
        #[test]
        fn a_closed_or_full_stdout_ends_each_program_cleanly() {
            $crate::table::stdout_failures($table);
        }
        #[test]
        fn a_bad_argument_is_one_line_and_exit_2() {
            $crate::table::bad_arguments($table);
        }
        #[test]
        fn help_prints_the_command_that_runs_each_program() {
            $crate::table::help($table);
        }
        #[test]
        fn too_few_tasks_end_each_program_in_one_line() {
            $crate::table::task_limits($table);
        }
        #[test]
        fn too_few_descriptors_end_each_program_in_one_line() {
            $crate::table::descriptor_limits($table);
        }
        #[test]
        fn killed_alone_each_program_leaves_nothing_running() {
            $crate::table::parent_killed_alone($table);
        }
    };
}
