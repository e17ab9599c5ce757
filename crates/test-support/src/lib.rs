//! Helpers for the integration tests of the example crates.
//!
//! The test harness is multi-threaded, so it never forks: every test runs the example's binary
//! as a child process with [`run`] and asserts on its output and exit status. The house rules
//! every program must keep (its snapshot, a closed or full stdout, bad arguments, `--help`, task
//! limits, its parent killed alone) are tested once, in [`table`], for every program of a crate:
//! a crate's test file is `test_support::example_tests!(…)` plus the tests of what only its
//! programs do.
//!
//! Snapshots are compared with `snapbox`; `SNAPSHOTS=overwrite cargo test` rewrites them from a
//! real run (already redacted).

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use wait_timeout::ChildExt;

mod ci;
mod limits;
pub mod table;

pub use ci::in_ci;
pub use limits::{as_nobody, with_process_limit};

/// How long one example may run before the test kills it. Generous: CI is a loaded 2-core machine.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// A redaction: the placeholder written to the snapshot, and a regex whose `redacted` group (or
/// whole match) is replaced by it.
pub type Redaction = (&'static str, &'static str);

/// `pid 1234`, `pid=1234`, `PID 1234` → `pid [PID]`.
pub const PIDS: Redaction = ("[PID]", r"(?i)\bpid[ =:]+(?<redacted>\d+)");
/// `tid 1234`, `thread id 1234` → `tid [TID]`.
pub const TIDS: Redaction = ("[TID]", r"(?i)\b(?:tid|thread id)[ =:]+(?<redacted>\d+)");
/// `0x7ffd5b3c…` → `[ADDR]`.
pub const ADDRS: Redaction = ("[ADDR]", r"0x[0-9a-fA-F]+");
/// `12.3 µs`, `4ms`, `1.5 s` → `[TIME]`.
pub const TIMES: Redaction = ("[TIME]", r"\b\d+(?:\.\d+)?\s?(?:ns|µs|us|ms|s)\b");

/// What an example did: its exit status and its output as text.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    program: String,
}

/// Run `program` with `args` as a child process (in a session of its own, stdin closed) and
/// wait for it, at most [`TIMEOUT`]. On timeout everything in its session is killed and the
/// test fails; so it does if a process of its session outlives it.
pub fn run(program: impl AsRef<Path>, args: &[&str]) -> Finished {
    run_command(command(program, args))
}

/// A [`Command`] set up like [`run`] would (for tests that need extra environment or a wrapper).
pub fn command(program: impl AsRef<Path>, args: &[&str]) -> Command {
    let mut cmd = Command::new(program.as_ref());
    cmd.args(args);
    cmd
}

/// Run a prepared command like [`run`] does.
pub fn run_command(cmd: impl Into<Prepared>) -> Finished {
    let Prepared { cmd, _copy } = cmd.into();
    run_with_stdout(cmd, Stdio::piped())
}

/// Puts `cmd` in a session of its own, so that [`session`] finds every process it started,
/// whatever process group or parent they end up with.
pub fn in_new_session(cmd: &mut Command) -> &mut Command {
    // SAFETY: setsid(2) is an async-signal-safe system call; it allocates nothing.
    unsafe { cmd.pre_exec(|| nix::unistd::setsid().map(drop).map_err(Into::into)) }
}

fn run_with_stdout(mut cmd: Command, stdout: Stdio) -> Finished {
    let program = format!("{cmd:?}");
    let children_before = children_of_this_thread();
    cmd.stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped());
    in_new_session(&mut cmd);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {program}: {e}"));
    // `cmd` still holds our copy of a passed-in stdout pipe; close it.
    drop(cmd);
    let sid = Pid::from_raw(child.id() as i32);
    let stdout = child.stdout.take().map(reader);
    let stderr = reader(child.stderr.take().expect("piped stderr"));
    let status = match child
        .wait_timeout(TIMEOUT)
        .expect("waiting for the example")
    {
        Some(status) => status,
        None => {
            kill_session(sid);
            let _ = child.wait();
            panic!("{program} did not finish within {TIMEOUT:?}; killed its session");
        }
    };
    // Before reading the output to its end: a process the example left behind may still hold
    // the pipes open, and the readers would wait for it forever.
    let left = session_left_after(sid, Duration::from_secs(2));
    assert!(
        left.is_empty(),
        "{program} left processes running after it ended (killed now): {left:?}"
    );
    let finished = Finished {
        status,
        stdout: stdout.map_or_else(String::new, |r| r.join().expect("stdout reader")),
        stderr: stderr.join().expect("stderr reader"),
        program,
    };
    let left: Vec<u32> = children_of_this_thread()
        .into_iter()
        .filter(|pid| !children_before.contains(pid))
        .collect();
    assert!(
        left.is_empty(),
        "{} left child processes behind: {left:?}",
        finished.program
    );
    finished
}

/// The processes still running in session `sid` (a session's id is its leader's pid), leader
/// excluded, each with its command name and state: from every `/proc/PID/stat`.
pub fn session(sid: Pid) -> Vec<(i32, String)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut members = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue; // it ended meanwhile
        };
        // "PID (COMMAND) STATE PPID PGRP SESSION …"; the command may contain anything.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let in_session = rest.split_whitespace().nth(3) == Some(&sid.to_string());
        // A zombie has ended; an orphan's is reaped by init, whenever init gets to it.
        let running = !rest.trim_start().starts_with('Z');
        if in_session && running && pid != sid.as_raw() {
            let name = head.split_once('(').map_or("", |(_, n)| n);
            let state = rest.split_whitespace().next().unwrap_or("?");
            members.push((pid, format!("{name} ({state})")));
        }
    }
    members
}

/// Waits up to `limit` until no process but its leader is left in session `sid` (orphans go
/// to an ancestor that reaps them, which can take a moment); kills what is left then, and
/// returns it.
pub fn session_left_after(sid: Pid, limit: Duration) -> Vec<(i32, String)> {
    let deadline = Instant::now() + limit;
    loop {
        let left = session(sid);
        if left.is_empty() {
            return left;
        }
        if Instant::now() > deadline {
            kill_session(sid);
            return left;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn kill_session(sid: Pid) {
    let _ = kill(sid, Signal::SIGKILL);
    for (pid, _) in session(sid) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

fn reader(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Fails the test if the calling thread still has a child process (running or zombie).
/// Children belong to the thread that spawned them, so this is exact even while other tests
/// run in parallel threads.
pub fn assert_no_children() {
    let children = children_of_this_thread();
    assert!(
        children.is_empty(),
        "child processes left behind: {children:?}"
    );
}

/// The pids of the calling thread's children, running or zombie.
fn children_of_this_thread() -> Vec<u32> {
    std::fs::read_to_string("/proc/thread-self/children")
        .expect("reading /proc/thread-self/children")
        .split_whitespace()
        .filter_map(|pid| pid.parse().ok())
        .collect()
}

impl Finished {
    /// The example exited with code 0.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert!(
            self.status.success(),
            "{} failed with {}\n{self}",
            self.program,
            self.status
        );
        self
    }

    /// The example exited (not killed by a signal) with this code.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.status.code(),
            Some(code),
            "{} ended with {} instead of exit code {code}\n{self}",
            self.program,
            self.status,
        );
        self
    }

    /// The signal that killed the example, if one did.
    pub fn signal(&self) -> Option<i32> {
        self.status.signal()
    }

    /// stdout contains `needle`.
    #[track_caller]
    pub fn assert_stdout_contains(&self, needle: &str) -> &Self {
        let program = &self.program;
        assert!(
            self.stdout.contains(needle),
            "stdout of {program} lacks {needle:?}:\n{self}"
        );
        self
    }

    /// stderr contains `needle`.
    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        let program = &self.program;
        assert!(
            self.stderr.contains(needle),
            "stderr of {program} lacks {needle:?}:\n{self}"
        );
        self
    }

    /// stderr is exactly one line (a clear error, not a panic backtrace).
    #[track_caller]
    pub fn assert_one_line_error(&self) -> &Self {
        let lines = self.stderr.trim_end().lines().count();
        let program = &self.program;
        assert_eq!(
            lines, 1,
            "expected a one-line error from {program}, got:\n{self}"
        );
        assert!(
            !self.stderr.contains("panicked"),
            "{program} panicked:\n{self}"
        );
        self
    }

    /// Compares redacted stdout with the snapshot file at `path` (relative to the crate that
    /// calls this). `SNAPSHOTS=overwrite` rewrites the file instead.
    #[track_caller]
    pub fn assert_stdout_snapshot(&self, path: impl AsRef<Path>, redactions: &[Redaction]) {
        assert_snapshot(&self.stdout, path, redactions);
    }
}

impl std::fmt::Display for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        )
    }
}

/// Apply `redactions` to `text`.
pub fn redact(text: &str, redactions: &[Redaction]) -> String {
    let mut set = snapbox::Redactions::new();
    for (placeholder, pattern) in redactions {
        let regex = regex::Regex::new(pattern)
            .unwrap_or_else(|e| panic!("bad redaction regex {pattern:?}: {e}"));
        set.insert(placeholder, regex)
            .unwrap_or_else(|e| panic!("bad placeholder {placeholder:?}: {e}"));
    }
    set.redact(text)
}

/// Compares `text`, redacted, with the snapshot file at `path` (relative to the calling crate's
/// directory when relative). `SNAPSHOTS=overwrite` rewrites the file instead.
#[track_caller]
pub fn assert_snapshot(text: &str, path: impl AsRef<Path>, redactions: &[Redaction]) {
    let path = crate_path(path.as_ref());
    let actual = redact(text, redactions);
    let expected = snapbox::Data::read_from(&path, None);
    snapbox::Assert::new()
        .action_env("SNAPSHOTS")
        // Program output is not a path: keep `\` as it is.
        .normalize_paths(false)
        .eq(actual, expected);
}

/// Relative paths are taken from the directory of the crate whose tests are running.
fn crate_path(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_owned();
    }
    let dir =
        std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR is set by cargo test");
    Path::new(&dir).join(path)
}

/// Whether the tests run as root (effective uid 0): `/proc/self` belongs to the effective user.
pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .expect("stat /proc/self")
        .uid()
        == 0
}

/// A command ready to run with [`run_command`], with what it needs kept alive until then (a
/// copy of the example binary that user `nobody` can execute). Derefs to [`Command`].
pub struct Prepared {
    cmd: Command,
    _copy: Option<tempfile::TempDir>,
}

impl From<Command> for Prepared {
    fn from(cmd: Command) -> Self {
        Prepared { cmd, _copy: None }
    }
}

impl std::ops::Deref for Prepared {
    type Target = Command;
    fn deref(&self) -> &Command {
        &self.cmd
    }
}

impl std::ops::DerefMut for Prepared {
    fn deref_mut(&mut self) -> &mut Command {
        &mut self.cmd
    }
}

/// Runs `program args` as a reader would pipe it, and checks that a failing stdout ends it
/// cleanly (the house rule: one clear line, non-zero exit, no panic, nothing left behind):
///
/// * `program | head -n 1`: the example ends quietly, as `yes | head -n 1` does: exit 0, or
///   ended by `SIGPIPE` once nobody reads; nothing on stderr that a normal run does not print
///   too (a demonstration's panic message, say).
/// * `program > /dev/full`: exit code 1 and one line on stderr, `NAME: error: … No space left
///   on device …`.
///
/// The pipe is made by a `bash` in its own process, not by the test harness, whose other test
/// threads could hold a copy of its reading end while they start programs of their own.
#[track_caller]
pub fn assert_stdout_failures_end_cleanly(program: &str, args: &[&str]) {
    let name = Path::new(program)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(program)
        .to_owned();
    // What the program says on stderr in a normal run (a demonstration's panic message, for
    // instance), with numbers blanked: a closed stdout must add nothing to it.
    let normal = run(program, args);
    let blank = |line: &str| line.replace(|c: char| c.is_ascii_digit(), "#");
    let usual: Vec<String> = normal.stderr.lines().map(blank).collect();
    // PIPESTATUS[0] is the example's status; a death by SIGPIPE (13) shows as 141.
    let script = r#""$@" | head -n 1 >/dev/null; exit "${PIPESTATUS[0]}""#;
    let mut cmd = command("bash", &["-c", script, "bash", program]);
    cmd.args(args);
    let out = run_command(cmd);
    assert!(
        matches!(out.status.code(), Some(0 | 141)),
        "`{name} | head -n 1` should end with exit 0 or by SIGPIPE (141), ended with {:?}\n{out}",
        out.status,
    );
    let added: Vec<&str> = out
        .stderr
        .lines()
        .filter(|line| !usual.contains(&blank(line)))
        .collect();
    assert!(
        added.is_empty(),
        "`{name} | head -n 1` should print nothing on stderr beyond what a normal run prints, \
         printed:\n{}",
        added.join("\n")
    );

    let mut cmd = command("bash", &["-c", r#"exec "$@" >/dev/full"#, "bash", program]);
    cmd.args(args);
    let out = run_with_stdout(cmd, Stdio::null());
    out.assert_code(1).assert_one_line_error();
    assert!(
        out.stderr.starts_with(&format!("{name}: error: "))
            && out.stderr.contains("No space left on device"),
        "`{name} > /dev/full` should say `{name}: error: … No space left on device`, said:\n{}",
        out.stderr
    );
}

/// The path of `tool` on `PATH`, if it is there.
pub fn find_on_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
}

/// Whether `tool` is on `PATH`; if not, says so with a loud skip (see [`skipped`]).
pub fn have(tool: &str, package: &str) -> bool {
    let found = find_on_path(tool).is_some();
    if !found {
        skipped(&format!("{tool} ({package}) is not installed"));
    }
    found
}

/// Says loudly that the running test checked nothing: one line written straight to the
/// process's stderr, past the test harness's output capture, so that a plain `cargo test`
/// shows it; the line is also appended to `target/skipped-tests.txt`, which `cargo xtask test`
/// lists at the end of the run. Under CI ([`in_ci`]) a skip fails the test instead: CI installs
/// everything the tests need.
pub fn skipped(reason: &str) {
    use std::io::Write as _;
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let crate_name = std::env::var("CARGO_PKG_NAME").unwrap_or_default();
    let line = format!("*** SKIPPED {crate_name}::{test}: {reason}");
    if in_ci() {
        panic!("{line} (a skip fails under CI)");
    }
    // A test that meets the same missing tool for each of its programs says so once.
    static SAID: std::sync::Mutex<std::collections::BTreeSet<String>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    if !SAID
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(line.clone())
    {
        return;
    }
    let _ = writeln!(std::io::stderr(), "{line}");
    // target/<profile>/deps/<test binary>: the log sits in target/.
    let exe = std::env::current_exe().ok();
    let log = exe
        .as_deref()
        .and_then(|e| e.ancestors().nth(3))
        .map(|t| t.join("skipped-tests.txt"));
    if let Some(mut file) = log.and_then(|log| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .ok()
    }) {
        let _ = writeln!(file, "{line}");
    }
}
