//! Helpers for the integration tests of the example crates.
//!
//! The test harness is multi-threaded, so it never forks: every test runs the example's binary
//! (`env!("CARGO_BIN_EXE_<name>")`) as a child process with [`run`] and asserts on its output
//! and exit status; `examples/fork/tests/fork.rs` is a short example of their use.
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
pub fn run_command(cmd: impl Into<Prepared>) -> Finished {
    let prepared = cmd.into();
    let Prepared { cmd, _copy } = prepared;
    let finished = run_with_stdout(cmd, Stdio::piped());
    drop(_copy);
    finished
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
    // Before reading the output to its end: a process the example left behind may still hold
    // the pipes open, and the readers would wait for it forever.
    assert_group_is_gone(pgid, &program);
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

/// Fails the test if a process of the example's process group outlived it (an orphan that kept
/// running, or one not yet reaped). Orphans go to an ancestor that reaps them, which can take a
/// moment, so this waits up to two seconds before it kills what is left and fails.
fn assert_group_is_gone(pgid: Pid, program: &str) {
    for _ in 0..200 {
        if killpg(pgid, None) == Err(nix::errno::Errno::ESRCH) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = killpg(pgid, Signal::SIGKILL);
    panic!("{program} left processes running in its process group {pgid} after it ended");
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

const SETPRIV: [&str; 4] = [
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
];

/// A command that runs `program args` as the unprivileged user `nobody` (uid 65534) through
/// util-linux's `setpriv`. The program runs from a copy in a new directory under the system's
/// temporary directory that every user may enter, so it does not matter whether `nobody` may
/// enter the checkout (a 0700 home, `/root`); the copy is deleted when the [`Prepared`] is.
/// `None`, after a loud skip (see [`skipped`]), when not root or without `setpriv`.
pub fn as_nobody(program: &str, args: &[&str]) -> Option<Prepared> {
    let reason = if !running_as_root() {
        Some("switching to user nobody needs root")
    } else if !on_path("setpriv") {
        Some("setpriv (util-linux) is not installed")
    } else {
        None
    };
    if let Some(reason) = reason {
        skipped(reason);
        return None;
    }
    let (path, copy) = reachable_copy(program);
    let mut cmd = command(SETPRIV[0], &SETPRIV[1..]);
    cmd.arg(path).args(args);
    Some(Prepared { cmd, _copy: copy })
}

/// A command that runs `program args` allowed `nproc` tasks (processes and threads) for its
/// user (`prlimit --nproc=N`), so that creating task number `nproc + 1` fails with `EAGAIN`.
/// Root ignores that limit, so as root the program runs as `nobody` (see [`as_nobody`]); an
/// ordinary user runs it directly, provided it has no other process running (the limit counts
/// them all). `None`, after a loud skip, when that is impossible here.
pub fn with_process_limit(program: &str, args: &[&str], nproc: u32) -> Option<Prepared> {
    if !on_path("prlimit") {
        skipped("prlimit (util-linux) is not installed");
        return None;
    }
    let limit = format!("--nproc={nproc}");
    if running_as_root() {
        if !on_path("setpriv") {
            skipped("setpriv (util-linux) is not installed");
            return None;
        }
        let (path, copy) = reachable_copy(program);
        let mut cmd = command(SETPRIV[0], &SETPRIV[1..]);
        cmd.arg("prlimit").arg(&limit).arg(path).args(args);
        Some(Prepared { cmd, _copy: copy })
    } else {
        let mut cmd = command("prlimit", &[&limit, program]);
        cmd.args(args);
        Some(cmd.into())
    }
}

/// Runs `program args` allowed 1, 2, … `up_to` tasks (see [`with_process_limit`]). Up to
/// `must_fail_up_to` the program cannot start all its tasks: it must end with exit 1 and one
/// line on stderr that contains each of `says`, with no hang and nothing left behind. Above
/// that it may succeed; if it fails (other processes of the same user count against the limit
/// too), it must fail the same clean way. Checks nothing, after a loud skip, when the limit
/// cannot be set here.
#[track_caller]
pub fn assert_task_limits_end_cleanly(
    program: &str,
    args: &[&str],
    must_fail_up_to: u32,
    up_to: u32,
    says: &[&str],
) {
    for limit in 1..=up_to {
        let Some(cmd) = with_process_limit(program, args, limit) else {
            return;
        };
        let out = run_command(cmd);
        if limit > must_fail_up_to && out.status.success() {
            continue;
        }
        out.assert_code(1).assert_one_line_error();
        for needle in says {
            out.assert_stderr_contains(needle);
        }
    }
}

/// A copy of `program` that every user can execute: the binary is copied into a new directory
/// (mode 0755) under the system's temporary directory. A bare name (looked up on `PATH`) is used
/// as it is.
fn reachable_copy(program: &str) -> (PathBuf, Option<tempfile::TempDir>) {
    use std::os::unix::fs::PermissionsExt;
    if !program.contains('/') {
        return (PathBuf::from(program), None);
    }
    let dir = tempfile::Builder::new()
        .prefix("pvt-example-")
        .tempdir()
        .expect("creating a temporary directory for a copy of the example");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod 0755 on the temporary directory");
    let name = Path::new(program).file_name().expect("a file name");
    let copy = dir.path().join(name);
    // Copied by a separate `install` process: a descriptor open for writing on the copy must
    // never exist in this multithreaded harness, where a child that another test thread forks
    // could inherit it until its `exec`, and executing the copy would then fail with ETXTBSY.
    let copied = Command::new("install")
        .args(["-m", "0755"])
        .arg(program)
        .arg(&copy)
        .status()
        .unwrap_or_else(|e| panic!("running install to copy {program}: {e}"));
    assert!(
        copied.success(),
        "install could not copy {program}: {copied}"
    );
    (copy, Some(dir))
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
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 141)),
        "`{name} | head -n 1` should end with exit 0 or by SIGPIPE (141), ended with {:?}\n--- stderr\n{}",
        out.status,
        out.stderr
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
    // The program names itself by its binary or by its crate.
    let package = std::env::var("CARGO_PKG_NAME").unwrap_or_default();
    let named = [&name, &package]
        .iter()
        .any(|n| out.stderr.starts_with(&format!("{n}: error: ")));
    assert!(
        named && out.stderr.contains("No space left on device"),
        "`{name} > /dev/full` should say `{name}: error: … No space left on device`, said:\n{}",
        out.stderr
    );
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

/// Says loudly that the running test checked nothing: one line written straight to the
/// process's stderr, past the test harness's output capture, so that a plain `cargo test`
/// shows it; the line is also appended to `target/skipped-tests.txt`, which `cargo xtask test`
/// lists at the end of the run. Under CI (`CI` set, and not `false` or `0`) a skip fails the
/// test instead: CI installs everything the tests need.
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
    if let Some(mut file) = skip_log().and_then(|log| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .ok()
    }) {
        let _ = writeln!(file, "{line}");
    }
}

/// `target/skipped-tests.txt`, next to the test binaries (`target/debug/deps/…`).
pub fn skip_log() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    // target/<profile>/deps/<test binary>
    let target = exe.parent()?.parent()?.parent()?;
    Some(target.join("skipped-tests.txt"))
}

/// Whether the tests run under CI: `CI` set, and not `false` or `0`.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}
