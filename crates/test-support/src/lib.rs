//! Helpers for the integration tests of the example crates.
//!
//! The test harness is multi-threaded, so it never forks: every test runs the example's binary
//! (`env!("CARGO_BIN_EXE_<name>")`) as a child process with [`run`] and asserts on its output
//! and exit status.
//!
//! ```no_run
//! // In an example's integration test the path is `env!("CARGO_BIN_EXE_fork")`.
//! let out = test_support::run("target/debug/fork", &[]);
//! out.assert_success();
//! out.assert_stdout_snapshot("output.txt", &[test_support::PIDS]);
//! ```
//!
//! Snapshots are compared with `snapbox`; `SNAPSHOTS=overwrite cargo test` rewrites them from a
//! real run (already redacted).

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use wait_timeout::ChildExt;

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

/// Run `program` with `args` as a child process (in its own process group, stdin closed) and
/// wait for it, at most [`TIMEOUT`]. On timeout the whole group is killed and the test fails.
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
pub fn run_command(cmd: Command) -> Finished {
    run_with_stdout(cmd, Stdio::piped())
}

/// Run `program` like [`run`] does, but with its stdout a pipe whose reading end is already
/// closed, as in `program | head -n 0`: every write to stdout fails with `EPIPE` (or raises
/// `SIGPIPE`). [`Finished::stdout`] is empty.
pub fn run_with_closed_stdout(program: impl AsRef<Path>, args: &[&str]) -> Finished {
    let (reader, writer) = std::io::pipe().expect("creating a pipe");
    drop(reader);
    run_with_stdout(command(program, args), writer.into())
}

fn run_with_stdout(mut cmd: Command, stdout: Stdio) -> Finished {
    let program = format!("{cmd:?}");
    let children_before = children_of_this_thread();
    cmd.stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        // Its own process group, so that a timeout can kill it and anything it started.
        .process_group(0);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {program}: {e}"));
    // `cmd` still holds our copy of a passed-in stdout pipe; close it.
    drop(cmd);
    let pgid = Pid::from_raw(child.id() as i32);
    let stdout = child.stdout.take().map(reader);
    let stderr = reader(child.stderr.take().expect("piped stderr"));
    let status = match child
        .wait_timeout(TIMEOUT)
        .expect("waiting for the example")
    {
        Some(status) => status,
        None => {
            let _ = killpg(pgid, Signal::SIGKILL);
            let _ = child.wait();
            panic!("{program} did not finish within {TIMEOUT:?}; killed its process group");
        }
    };
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
            "{} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
            self.program,
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    /// The example exited (not killed by a signal) with this code.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.status.code(),
            Some(code),
            "{} ended with {} instead of exit code {code}\n--- stdout\n{}\n--- stderr\n{}",
            self.program,
            self.status,
            self.stdout,
            self.stderr
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
        assert!(
            self.stdout.contains(needle),
            "stdout of {} lacks {needle:?}:\n{}",
            self.program,
            self.stdout
        );
        self
    }

    /// stderr contains `needle`.
    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr of {} lacks {needle:?}:\n{}",
            self.program,
            self.stderr
        );
        self
    }

    /// stderr is exactly one line (a clear error, not a panic backtrace).
    #[track_caller]
    pub fn assert_one_line_error(&self) -> &Self {
        assert_eq!(
            self.stderr.trim_end().lines().count(),
            1,
            "expected a one-line error from {}, got:\n{}",
            self.program,
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked"),
            "{} panicked:\n{}",
            self.program,
            self.stderr
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

/// A command that runs `program args` as the unprivileged user `nobody` (uid 65534) through
/// util-linux's `setpriv`. `None`, after a loud `SKIPPED` line on stderr naming the test, when
/// that is not possible here: not root, no `setpriv`, or `nobody` cannot execute `program`.
pub fn as_nobody(program: &str, args: &[&str]) -> Option<Command> {
    const SETPRIV: [&str; 4] = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ];
    let reason = if !running_as_root() {
        Some("switching to user nobody needs root".to_owned())
    } else if !on_path("setpriv") {
        Some("setpriv (util-linux) is not installed".to_owned())
    } else {
        // `test -x` wants a path: look a bare name up on PATH first.
        let path = if program.contains('/') {
            Some(PathBuf::from(program))
        } else {
            find_on_path(program)
        };
        let path = path.unwrap_or_else(|| PathBuf::from(program));
        let mut probe = Command::new(SETPRIV[0]);
        probe.args(&SETPRIV[1..]).arg("test").arg("-x").arg(&path);
        let executable = probe
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        (!executable).then(|| format!("user nobody cannot execute {program}"))
    };
    if let Some(reason) = reason {
        skipped(&reason);
        return None;
    }
    let mut cmd = command(SETPRIV[0], &SETPRIV[1..]);
    cmd.arg(program).args(args);
    Some(cmd)
}

/// A command that runs `program args` allowed a single process for its user
/// (`prlimit --nproc=1`), so that its first `fork` or thread creation fails with `EAGAIN`.
/// Root ignores that limit, so as root the program runs as `nobody` (see [`as_nobody`]).
/// `None`, after a loud `SKIPPED` line, when the tools are missing.
pub fn with_one_process_allowed(program: &str, args: &[&str]) -> Option<Command> {
    if !on_path("prlimit") {
        skipped("prlimit (util-linux) is not installed");
        return None;
    }
    let mut limited = vec!["--nproc=1", program];
    limited.extend_from_slice(args);
    if running_as_root() {
        as_nobody("prlimit", &limited)
    } else {
        Some(command("prlimit", &limited))
    }
}

fn on_path(tool: &str) -> bool {
    find_on_path(tool).is_some()
}

fn find_on_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
}

/// Says loudly, on stderr, that the running test checked nothing.
fn skipped(reason: &str) {
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    eprintln!("*** SKIPPED {test}: {reason}");
}
