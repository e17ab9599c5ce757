//! The house rules every example program keeps, tested once for every program of a crate. A
//! crate's test file lists what differs from [`DEFAULT`] for some of its programs:
//!
//! ```text
//! const PROGRAMS: &[Program] = &[tasks("own-stacks", 4)];
//! test_support::example_tests!(PROGRAMS, &[REDACTION]);
//! ```
//!
//! The programs are found as cargo finds them (`src/main.rs`, `src/bin/NAME.rs`), so a new
//! program gets every test without an entry. The rules are the functions below, one test each.

use std::ffi::OsStr;
use std::hash::{BuildHasher, RandomState};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::*;

/// A program, where it differs from [`DEFAULT`].
#[derive(Clone, Copy, Debug)]
pub struct Program {
    pub name: &'static str,
    /// The arguments of its runs (those of a quick run, say).
    pub args: &'static [&'static str],
    /// How many tasks it certainly has alive at once, itself included: allowed fewer, it fails.
    pub tasks: u32,
    /// The most it may have alive at once ([`DEFAULT`]: `tasks + 1`). Allowed `tasks` to
    /// `most`, it may succeed, or be refused (an earlier task had not ended yet) in one line.
    pub most: u32,
    /// What its one error line says when a task is refused.
    pub says: &'static [&'static str],
    /// Whether its snapshot is checked here (`false` where its own test does).
    pub snapshot: bool,
    /// Whether it prints nothing on stderr in a normal run (a demonstration may panic).
    pub quiet: bool,
    /// A tool it runs, and the package that has it: without it, its tests skip loudly.
    pub needs: Option<(&'static str, &'static str)>,
    /// How often `| head -n 1` is tried: where parent and child both write, who meets the
    /// closed pipe first varies.
    pub stdout_tries: u32,
    /// Removes what SIGKILL (which no program can catch) left behind: a named kernel object.
    pub after_kill: Option<fn(u32)>,
}

/// One task besides itself (a thread or a child), refused with `EAGAIN` by the user's task
/// limit; a snapshot; a quiet stderr.
pub const DEFAULT: Program = Program {
    name: "",
    args: &[],
    tasks: 2,
    most: 0,
    says: &["EAGAIN", "RLIMIT_NPROC"],
    snapshot: true,
    quiet: true,
    needs: None,
    stdout_tries: 1,
    after_kill: None,
};

/// Program `name`, with `tasks` tasks alive at once.
pub const fn tasks(name: &'static str, tasks: u32) -> Program {
    Program { name, tasks, ..DEFAULT }
}

impl Program {
    /// … and at most `most` (more than one more than it needs).
    pub const fn up_to(self, most: u32) -> Program {
        Program { most, ..self }
    }

    /// … whose `| head -n 1` is tried `stdout_tries` times.
    pub const fn tries(self, stdout_tries: u32) -> Program {
        Program { stdout_tries, ..self }
    }
}

/// A program under test: its entry, its binary, the usual lines of its stderr (digits
/// blanked: an error may add one line to them), the redactions of its snapshot.
pub struct Run<'a> {
    pub program: Program,
    pub path: String,
    usual: Vec<String>,
    redactions: &'a [Redaction],
}

fn blank(line: &str) -> String {
    line.replace(|c: char| c.is_ascii_digit(), "#")
}

impl Run<'_> {
    /// `path` and the program's arguments, after `before`.
    fn argv<'b>(&'b self, before: &[&'b str]) -> Vec<&'b str> {
        [before, &[self.path.as_str()], self.program.args].concat()
    }

    /// Exit 1, and one line on stderr beyond the usual ones, saying each of `says`.
    #[track_caller]
    fn assert_fails_in_one_line(&self, out: &Finished, says: &[&str]) {
        let added: Vec<&str> =
            (out.stderr.lines()).filter(|l| !self.usual.contains(&blank(l))).collect();
        out.assert_code(1);
        let one = added.len() == 1 && !added[0].contains("panicked");
        assert!(one, "not one line:\n{out}");
        for needle in says {
            assert!(added[0].contains(needle), "does not say {needle:?}:\n{out}");
        }
    }

    /// `cargo run -p PACKAGE [--bin NAME]`, and the snapshot file `output[-NAME].txt`.
    fn command_and_snapshot(&self) -> (String, String) {
        let package = std::env::var("CARGO_PKG_NAME").expect("set by cargo test");
        match self.program.name == package {
            true => (format!("cargo run -p {package}"), "output.txt".into()),
            false => (
                format!("cargo run -p {package} --bin {}", self.program.name),
                format!("output-{}.txt", self.program.name),
            ),
        }
    }
}

/// Checks `rule` for every program of the crate under test (found as cargo finds them), with
/// what `table` says of it, whose tools are installed.
pub fn check(table: &[Program], redactions: &[Redaction], rule: fn(&Run)) {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo test"));
    let package = std::env::var("CARGO_PKG_NAME").expect("set by cargo test");
    let bins = std::fs::read_dir(dir.join("src/bin")).into_iter().flatten();
    let mut names: Vec<String> = (bins.flatten())
        .filter_map(|e| Some(e.file_name().to_str()?.strip_suffix(".rs")?.into()))
        .chain(dir.join("src/main.rs").is_file().then_some(package))
        .collect();
    names.sort();
    let unknown = table.iter().find(|p| !names.contains(&p.name.to_owned()));
    assert!(unknown.is_none(), "no program {unknown:?}");
    for name in names {
        let entry = table.iter().find(|p| p.name == name).copied();
        let program = entry.unwrap_or(Program { name: name.leak(), ..DEFAULT });
        if let Some((tool, package)) = program.needs
            && !have(tool, package)
        {
            continue;
        }
        // The test binary is target/<profile>/deps/NAME.
        let exe = std::env::current_exe().expect("the test binary's path");
        let path = exe.ancestors().nth(2).expect("target/<profile>").join(program.name);
        let path = path.to_str().expect("a UTF-8 path").to_owned();
        let usual = match program.quiet {
            true => Vec::new(),
            false => run(&path, program.args).stderr.lines().map(blank).collect(),
        };
        let most = program.most.max(program.tasks + 1);
        let program = Program { most, ..program };
        rule(&Run { program, path, usual, redactions });
    }
}

/// Its redacted output is its snapshot, and it says nothing on stderr; run with core dumps
/// allowed (up to the hard limit) in an empty directory, it leaves no core file there.
pub fn snapshot(it: &Run) {
    if !it.program.snapshot {
        return;
    }
    let dir = tempdir().expect("an empty directory");
    let argv = it.argv(&["-c", r#"ulimit -c hard && exec "$@""#, "bash"]);
    let out = run_command(command("bash", &argv).current_dir(dir.path()));
    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").flatten().collect();
    assert!(left.is_empty(), "{} left {left:?}", it.program.name);
    if it.program.quiet {
        assert_eq!(out.assert_success().stderr, "", "{}", it.program.name);
    }
    let redactions = [&[PIDS, TIDS, FDS, ADDRS], it.redactions].concat();
    out.assert_success().assert_stdout_snapshot(&it.command_and_snapshot().1, &redactions);
}

/// `| head -n 1` ends it quietly: exit 0, or death by SIGPIPE once nobody reads, and nothing
/// added on stderr. `> /dev/full` ends it in one line. (A `bash` of its own makes the pipe: a
/// child another test thread forks could hold a copy of a pipe made here.)
pub fn stdout_failures(it: &Run) {
    for _ in 0..it.program.stdout_tries {
        let head = r#""$@" | head -n 1 >/dev/null; exit "${PIPESTATUS[0]}""#;
        let out = run("bash", &it.argv(&["-c", head, "bash"]));
        let quiet = !out.stderr.lines().any(|l| !it.usual.contains(&blank(l)));
        assert!(quiet && matches!(out.status.code(), Some(0 | 141)), "| head: {out}");
    }
    let out = run("bash", &it.argv(&["-c", r#"exec "$@" >/dev/full"#, "bash"]));
    let prefix = format!("{}: error: ", it.program.name);
    it.assert_fails_in_one_line(&out, &[&prefix, "No space left on device"]);
}

/// An unknown flag, a non-UTF-8 argument and a 100 KB argument: one line each (the argument
/// not echoed whole), exit 2, nothing on stdout. `--help` prints the command that runs it,
/// also when `argv[0]` is not UTF-8.
pub fn arguments(it: &Run) {
    let long = "x".repeat(100_000);
    let prefix = format!("{}: error: ", it.program.name);
    for arg in ["--bogus".as_ref(), OsStr::from_bytes(b"\xff"), long.as_ref()] {
        let out = run_command(command(&it.path, &[]).arg(arg));
        out.assert_code(2).assert_one_line_error();
        let short = out.stderr.starts_with(&prefix) && out.stderr.len() < 500;
        assert!(short && out.stdout.is_empty(), "{out}");
    }
    let (run_it, _) = it.command_and_snapshot();
    for arg0 in [OsStr::new(it.program.name), OsStr::from_bytes(b"\xff\xfe")] {
        let out = run_command(command(&it.path, &["--help"]).arg0(arg0));
        out.assert_success().assert_stdout_contains(&run_it);
        assert_eq!(out.stderr, "", "{}", it.program.name);
    }
}

/// Run allowed 1, 2, … tasks: allowed fewer than it needs, it fails in one line naming the
/// limit; allowed more, it may succeed, or fail the same way.
pub fn task_limits(it: &Run) {
    for limit in 1..=it.program.most {
        let Some(out) = run_with_task_limit(&it.path, it.program.args, limit) else {
            return;
        };
        if limit < it.program.tasks || !out.status.success() {
            it.assert_fails_in_one_line(&out, it.program.says);
        }
    }
}

/// Allowed 4 to 8 open files (stdin, stdout and stderr take three), it succeeds or fails in
/// one line.
pub fn descriptor_limits(it: &Run) {
    if !have("prlimit", "util-linux") {
        return;
    }
    for n in 4..=8 {
        let out = run("prlimit", &it.argv(&[&format!("--nofile={n}")]));
        if !out.status.success() {
            it.assert_fails_in_one_line(&out, &[]);
        }
    }
}

/// Killed alone with SIGKILL, at its first child and at `PARENT_KILLS` (default 2) random
/// moments of a run, it leaves nothing running: every child ends with its parent.
pub fn parent_killed_alone(it: &Run) {
    let kills = std::env::var("PARENT_KILLS").map_or(2, |n| n.parse().expect("a number"));
    let start = Instant::now();
    run(&it.path, it.program.args);
    let micros = start.elapsed().as_micros() as u64 + 1;
    let random = || Some(Duration::from_micros(RandomState::new().hash_one(0) % micros));
    for delay in std::iter::once(None).chain(std::iter::repeat_with(random).take(kills)) {
        let mut cmd = command(&it.path, it.program.args);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let mut child = in_new_session(&mut cmd).spawn().expect("starting it");
        let pid = Pid::from_raw(child.id() as i32);
        let deadline = Instant::now() + delay.unwrap_or(Duration::from_secs(10));
        while Instant::now() < deadline && (delay.is_some() || !has_a_child(pid)) {
            std::thread::sleep(Duration::from_micros(100));
        }
        // Not reaped yet, even if it has ended: its pid is still its own.
        let _ = kill(pid, Signal::SIGKILL);
        let left = session_left_after(pid, Duration::from_secs(5));
        let _ = child.wait();
        if let Some(clean_up) = it.program.after_kill {
            clean_up(pid.as_raw() as u32);
        }
        let when = delay.map_or("at its first child".into(), |d| format!("after {d:?}"));
        assert!(left.is_empty(), "{} killed {when} left {left:?}", it.program.name);
    }
}

/// Whether process `pid` has a child now, or has ended (then there is nothing to wait for).
fn has_a_child(pid: Pid) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return true;
    };
    let ended = stat.rsplit_once(')').is_none_or(|(_, s)| s.trim_start().starts_with('Z'));
    ended
        || tasks.flatten().any(|task| {
            let children = std::fs::read_to_string(task.path().join("children"));
            children.is_ok_and(|c| !c.trim().is_empty())
        })
}

/// The standard tests of an example crate, one per rule: `example_tests!(TABLE, REDACTIONS)`,
/// `TABLE` a `&[Program]` of what differs from [`DEFAULT`], `REDACTIONS` the crate's own.
#[macro_export]
macro_rules! example_tests {
    ($table:expr, $redactions:expr) => {
        $crate::example_tests!($table, $redactions,
            each_program_prints_its_snapshot_and_leaves_no_core: snapshot,
            a_closed_or_full_stdout_ends_each_program_cleanly: stdout_failures,
            bad_arguments_and_help_get_one_clear_answer: arguments,
            too_few_tasks_end_each_program_in_one_line: task_limits,
            too_few_descriptors_end_each_program_in_one_line: descriptor_limits,
            killed_alone_each_program_leaves_nothing_running: parent_killed_alone);
    };
    ($table:expr, $redactions:expr, $($test:ident: $rule:ident),*) => {
        $(#[test]
        fn $test() {
            $crate::table::check($table, $redactions, $crate::table::$rule);
        })*
    };
}
