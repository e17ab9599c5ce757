//! Helpers for the tests of the example crates. The test harness is multi-threaded, so it never
//! forks: a test runs a program as a child process ([`run`]) and asserts on what it did. The
//! house rules every program keeps are tested once, for every program of a crate, by
//! [`example_tests!`] (see [`table`]). `SNAPSHOTS=overwrite cargo test` rewrites the snapshots.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use wait_timeout::ChildExt;

mod ci;
mod limits;
pub mod table;

pub use ci::in_ci;
pub use limits::{run_as_nobody, run_with_task_limit};
pub use tempfile::tempdir;

/// How long one program may run before the test kills it. Generous: CI is a loaded 2-core machine.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// A redaction: the placeholder written to the snapshot, and a regex whose `redacted` group (or
/// whole match) it replaces.
pub type Redaction = (&'static str, &'static str);

pub const PIDS: Redaction = ("[PID]", r"(?i)\b(?:pid|tgid)[ =:]+(?<redacted>\d+)");
pub const TIDS: Redaction = ("[TID]", r"(?i)\b(?:tid|thread id)[ =:]+(?<redacted>\d+)");
/// A descriptor's number depends on how many the program inherited.
pub const FDS: Redaction = ("[FD]", r"\b(?:descriptor|fd) (?<redacted>\d+)");
/// An address (not `0x0`: no real address is below the kernel's `mmap_min_addr`, 0x10000).
pub const ADDRS: Redaction = ("[ADDR]", r"0x[0-9a-fA-F]{5,}");
pub const TIMES: Redaction = ("[TIME]", r"\b\d+(?:\.\d+)?\s?(?:ns|µs|us|ms|s)\b");

/// What a program did: its exit status and its output as text.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    program: String,
}

/// `program args` as a [`Command`], for [`run_command`].
pub fn command(program: impl AsRef<Path>, args: &[&str]) -> Command {
    let mut cmd = Command::new(program.as_ref());
    cmd.args(args);
    cmd
}

/// Runs `program args` with [`run_command`].
pub fn run(program: impl AsRef<Path>, args: &[&str]) -> Finished {
    run_command(command(program, args))
}

/// Runs `cmd` in a session of its own, stdin closed, and waits at most [`TIMEOUT`], then kills
/// its whole session. Fails if a process of that session outlives it (checked before reading
/// the output, which an orphan holding the pipe would keep open forever), or if this thread is
/// left with a child.
pub fn run_command(mut cmd: impl std::borrow::BorrowMut<Command>) -> Finished {
    let cmd = cmd.borrow_mut();
    let program = format!("{cmd:?}");
    let children_before = children_of_this_thread();
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child =
        in_new_session(cmd).spawn().unwrap_or_else(|e| panic!("could not start {program}: {e}"));
    let sid = Pid::from_raw(child.id() as i32);
    let stdout = reader(child.stdout.take().expect("piped stdout"));
    let stderr = reader(child.stderr.take().expect("piped stderr"));
    let Some(status) = child.wait_timeout(TIMEOUT).expect("waiting") else {
        kill_session(sid);
        let _ = child.wait();
        panic!("{program} did not finish within {TIMEOUT:?}; killed its session");
    };
    let left = session_left_after(sid, Duration::from_secs(2));
    assert!(left.is_empty(), "{program} left processes running (killed now): {left:?}");
    let out = Finished {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
        program,
    };
    let left: Vec<u32> = children_of_this_thread()
        .into_iter()
        .filter(|pid| !children_before.contains(pid))
        .collect();
    assert!(left.is_empty(), "{} left child processes behind: {left:?}", out.program);
    out
}

/// Puts `cmd` in a session of its own, where [`session`] finds every process it started, with
/// the default action for SIGINT and SIGHUP (a harness started in the background or under
/// `nohup` would pass them on ignored).
pub fn in_new_session(cmd: &mut Command) -> &mut Command {
    use nix::sys::signal::{SigHandler::SigDfl, signal};
    // SAFETY: setsid(2) and sigaction(2) are async-signal-safe system calls; nothing allocates.
    unsafe {
        cmd.pre_exec(|| {
            signal(Signal::SIGINT, SigDfl)?;
            signal(Signal::SIGHUP, SigDfl)?;
            Ok(nix::unistd::setsid().map(drop)?)
        })
    }
}

/// The processes of session `sid` still running, leader and zombies excluded, each with its
/// command name and state (from every `/proc/PID/stat`).
pub fn session(sid: Pid) -> Vec<(i32, String)> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse().ok()) else {
            continue;
        };
        // "PID (COMMAND) STATE PPID PGRP SESSION …"; the command may contain anything.
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue; // it ended meanwhile
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(3) == Some(&&*sid.to_string()) && fields[0] != "Z" && pid != sid.as_raw() {
            let name = head.split_once('(').map_or("", |(_, n)| n);
            members.push((pid, format!("{name} ({})", fields[0])));
        }
    }
    members
}

/// Waits up to `limit` until no process but its leader is left in session `sid` (an orphan is
/// reaped by an ancestor, which can take a moment); kills what is left then, and returns it.
pub fn session_left_after(sid: Pid, limit: Duration) -> Vec<(i32, String)> {
    let deadline = Instant::now() + limit;
    loop {
        let left = session(sid);
        if left.is_empty() || Instant::now() > deadline {
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

/// Fails if the calling thread has a child process, running or zombie. Children belong to the
/// thread that spawned them, so this holds while other tests run in other threads.
pub fn assert_no_children() {
    let children = children_of_this_thread();
    assert!(children.is_empty(), "child processes left behind: {children:?}");
}

fn children_of_this_thread() -> Vec<u32> {
    std::fs::read_to_string("/proc/thread-self/children")
        .expect("reading /proc/thread-self/children")
        .split_whitespace()
        .filter_map(|pid| pid.parse().ok())
        .collect()
}

impl Finished {
    #[track_caller]
    fn check(&self, ok: bool, what: std::fmt::Arguments) -> &Self {
        assert!(ok, "{what}: {}\n{self}", self.status);
        self
    }

    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        self.check(self.status.success(), format_args!("not a success"))
    }

    /// It exited (not killed by a signal) with this code.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        self.check(self.status.code() == Some(code), format_args!("not exit {code}"))
    }

    #[track_caller]
    pub fn assert_stdout_contains(&self, needle: &str) -> &Self {
        let ok = self.stdout.contains(needle);
        self.check(ok, format_args!("stdout lacks {needle:?}"))
    }

    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        let ok = self.stderr.contains(needle);
        self.check(ok, format_args!("stderr lacks {needle:?}"))
    }

    /// stderr is one line, not a panic: a clear error.
    #[track_caller]
    pub fn assert_one_line_error(&self) -> &Self {
        let one = self.stderr.trim_end().lines().count() == 1;
        let ok = one && !self.stderr.contains("panicked");
        self.check(ok, format_args!("not a one-line error"))
    }

    /// Compares redacted stdout with the snapshot file at `path`, relative to the crate under
    /// test. `SNAPSHOTS=overwrite` rewrites the file instead.
    #[track_caller]
    pub fn assert_stdout_snapshot(&self, path: &str, redactions: &[Redaction]) {
        let dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo test");
        let expected = snapbox::Data::read_from(&Path::new(&dir).join(path), None);
        snapbox::Assert::new()
            .action_env("SNAPSHOTS")
            .normalize_paths(false) // program output is not a path: keep `\` as it is
            .eq(redact(&self.stdout, redactions), expected);
    }
}

impl std::fmt::Display for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (program, stdout, stderr) = (&self.program, &self.stdout, &self.stderr);
        write!(f, "{program}\n--- stdout\n{stdout}\n--- stderr\n{stderr}")
    }
}

/// Applies `redactions` to `text`.
pub fn redact(text: &str, redactions: &[Redaction]) -> String {
    let mut set = snapbox::Redactions::new();
    for (placeholder, pattern) in redactions {
        let regex = regex::Regex::new(pattern).expect("a redaction's regex");
        set.insert(placeholder, regex).expect("a redaction's placeholder");
    }
    set.redact(text)
}

/// Whether the tests run as root: `/proc/self` belongs to the effective user.
pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Whether `tool` is on `PATH`; if not, says so with a loud skip (see [`skipped`]).
pub fn have(tool: &str, package: &str) -> bool {
    let found = which::which(tool).is_ok();
    if !found {
        skipped(&format!("{tool} ({package}) is not installed"));
    }
    found
}

/// Says loudly that the running test checked nothing: a line straight to stderr (past the
/// harness's capture, once per test and reason), also appended to `target/skipped-tests.txt`,
/// which `cargo xtask test` lists at the end. Under CI ([`in_ci`]) a skip fails instead: CI
/// installs everything the tests need.
pub fn skipped(reason: &str) {
    use std::io::Write as _;
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let crate_name = std::env::var("CARGO_PKG_NAME").unwrap_or_default();
    let line = format!("*** SKIPPED {crate_name}::{test}: {reason}");
    assert!(!in_ci(), "{line} (a skip fails under CI)");
    static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut said = SAID.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if said.contains(&line) {
        return;
    }
    said.push(line.clone());
    let _ = writeln!(std::io::stderr(), "{line}");
    // The test binary is target/<profile>/deps/NAME.
    let exe = std::env::current_exe().expect("the test binary's path");
    let log = exe.ancestors().nth(3).expect("target").join("skipped-tests.txt");
    let file = std::fs::File::options().create(true).append(true).open(log);
    let _ = file.map(|mut file| writeln!(file, "{line}"));
}
