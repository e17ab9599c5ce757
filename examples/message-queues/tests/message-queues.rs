//! The `message-queues` program keeps the house rules (`test_support::table`), and no queue
//! of a run survives it, whichever way the run ends: success, a refused `mq_open` or `fork`,
//! a stdout nobody reads, or a signal; a signal its caller ignores stays ignored, and a queue
//! it did not create is not its to remove. Each test judges only the queue its own run made,
//! named after the run's pid.

use std::io::{BufRead as _, BufReader, PipeReader, PipeWriter, Read as _, Write as _};
use std::os::fd::AsFd as _;
use std::os::unix::process::ExitStatusExt as _;
use std::process::{Child, ChildStdin, Command, Stdio};

use nix::errno::Errno;
use nix::mqueue::{MQ_OFlag, mq_close, mq_open, mq_unlink};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::sys::stat::Mode;
use nix::unistd::Pid;
use test_support::table::{DEFAULT, Program};

const BIN: &str = env!("CARGO_BIN_EXE_message-queues");

/// SIGKILL leaves the queue of a run behind, as the chapter says: the test removes it.
const PROGRAMS: &[Program] = &[Program {
    name: "message-queues",
    after_kill: Some(|pid| {
        let _ = mq_unlink(queue(pid).as_str());
    }),
    ..DEFAULT
}];

test_support::example_tests!(
    PROGRAMS,
    &[("[PID]", r"/message-queues-example-(?<redacted>\d+)")]
);

/// The name of the queue of the run with this pid.
fn queue(pid: u32) -> String {
    format!("/message-queues-example-{pid}")
}

/// Whether the queue of the run with this pid still exists. (This works whether or not
/// /dev/mqueue is mounted.)
fn exists(pid: u32) -> bool {
    match mq_open(queue(pid).as_str(), MQ_OFlag::O_RDONLY, Mode::empty(), None) {
        Err(Errno::ENOENT) => false,
        Err(errno) => panic!("checking for {}: mq_open(): {errno}", queue(pid)),
        Ok(q) => mq_close(q).is_ok(),
    }
}

/// The pid in a run's first line, `Queue name: /message-queues-example-PID (…)`.
fn pid_of(stdout: &str) -> u32 {
    let rest = stdout.split("example-").nth(1).expect("a queue name");
    rest.split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a pid")
}

/// RLIMIT_MSGQUEUE caps the bytes a user's queues may hold; at 0, creating any queue
/// fails. (The kernel reports it as EMFILE, the error the chapter quotes.)
#[test]
fn a_refused_mq_open_is_one_clear_line() {
    let out = test_support::run("prlimit", &["--msgqueue=0", BIN]);
    out.assert_code(1)
        .assert_one_line_error()
        .assert_stderr_contains("message-queues: error: mq_open(): EMFILE: ");
    assert!(!exists(pid_of(&out.stdout)));
}

/// The queue exists when `fork` is refused (one task allowed): it is removed all the same.
#[test]
fn a_refused_fork_leaves_no_queue() {
    let Some(cmd) = test_support::with_process_limit(BIN, &[], 1) else {
        return;
    };
    let out = test_support::run_command(cmd);
    out.assert_code(1)
        .assert_stderr_contains("message-queues: error: fork(): EAGAIN: ");
    assert!(!exists(pid_of(&out.stdout)));
}

/// A queue of our name that this run did not create (left by a killed run that had our
/// pid: here pid 1, in a new pid namespace) is one clear line, and is left alone.
#[test]
fn a_queue_left_by_another_run_is_one_line_and_left_alone() {
    let (mode, flags) = (
        Mode::S_IRUSR | Mode::S_IWUSR,
        MQ_OFlag::O_CREAT | MQ_OFlag::O_RDONLY,
    );
    let attr = nix::mqueue::MqAttr::new(0, 1, 8, 0);
    let created =
        mq_open(queue(1).as_str(), flags, mode, Some(&attr)).expect("mq_open");
    mq_close(created).expect("mq_close");
    let namespace = ["--user", "--map-root-user", "--pid", "--fork", BIN];
    let out = test_support::run("unshare", &namespace);
    let left = exists(1);
    let _ = mq_unlink(queue(1).as_str());
    if out.stderr.starts_with("unshare: ") {
        return test_support::skipped(
            "no user and pid namespaces here (unshare failed)",
        );
    }
    out.assert_code(1)
        .assert_one_line_error()
        .assert_stderr_contains("EEXIST");
    assert!(left, "the run removed a queue it did not create");
}

/// The example, started with `MESSAGE_QUEUES_PAUSE` (maybe with SIGHUP and SIGINT ignored,
/// as `nohup` and a background job do) and now waiting at its pause with the messages in the
/// queue.
struct Paused {
    child: Child,
    pid: u32,
    stdin: ChildStdin,
    stdout: BufReader<PipeReader>,
    /// A copy of the writing end of its stdout, to learn when no reader is left.
    stdout_writer: PipeWriter,
}

fn start_paused(ignore_hup_and_int: bool) -> Paused {
    let script = format!(
        "{} exec \"$0\"",
        if ignore_hup_and_int {
            "trap '' HUP INT;"
        } else {
            ""
        }
    );
    let mut cmd = Command::new("bash");
    cmd.args(["-c", &script, BIN])
        .env("MESSAGE_QUEUES_PAUSE", "1");
    let (reader, writer) = std::io::pipe().expect("a pipe");
    let stdout_writer = writer.try_clone().expect("dup");
    cmd.stdin(Stdio::piped())
        .stdout(writer)
        .stderr(Stdio::piped());
    test_support::in_new_session(&mut cmd);
    let mut child = cmd.spawn().expect("starting the example");
    drop(cmd); // it holds a copy of the writing end
    let mut stdout = BufReader::new(reader);
    let (mut seen, mut line) = (String::new(), String::new());
    while !line.starts_with("Paused:") {
        line.clear();
        assert!(
            stdout.read_line(&mut line).expect("reading") > 0,
            "ended early:\n{seen}"
        );
        seen.push_str(&line);
    }
    let stdin = child.stdin.take().expect("stdin");
    Paused {
        pid: pid_of(&seen),
        child,
        stdin,
        stdout,
        stdout_writer,
    }
}

impl Paused {
    /// Sends `signal`, presses Enter, and returns how the example ended and what it said on
    /// stderr, once nothing of its session is left.
    fn signal_then_enter(
        mut self,
        signal: Signal,
    ) -> (std::process::ExitStatus, String) {
        kill(Pid::from_raw(self.pid as i32), signal).expect("kill");
        let _ = self.stdin.write_all(b"\n");
        drop(self.stdout_writer);
        let _ = self.stdout.read_to_string(&mut String::new());
        let status = self.child.wait().expect("waiting for the example");
        let mut stderr = String::new();
        let _ = self
            .child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr);
        let sid = Pid::from_raw(self.child.id() as i32);
        let left =
            test_support::session_left_after(sid, std::time::Duration::from_secs(2));
        assert!(left.is_empty(), "left running: {left:?}");
        assert!(!exists(self.pid), "{signal} left {}", queue(self.pid));
        (status, stderr)
    }
}

/// Ctrl-C (SIGINT), `kill` (SIGTERM) or a closed terminal (SIGHUP) while the queue holds
/// the messages: the example removes the queue, and still dies of the signal, silently, as
/// a shell expects. Ignored by its caller, SIGHUP and SIGINT change nothing.
#[test]
fn a_signal_leaves_no_queue_and_an_ignored_one_stays_ignored() {
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        let (status, stderr) = start_paused(false).signal_then_enter(signal);
        assert_eq!(
            status.signal(),
            Some(signal as i32),
            "{status}, stderr: {stderr}"
        );
        assert_eq!(stderr, "", "it should end silently, as by {signal}");
    }
    for signal in [Signal::SIGHUP, Signal::SIGINT] {
        let (status, stderr) = start_paused(true).signal_then_enter(signal);
        assert!(
            status.success(),
            "ignored {signal} ended it: {status}, stderr: {stderr}"
        );
    }
}

/// Like `message-queues | head -n 1`: the reader of its stdout goes away while the queue
/// exists, and the example's next line raises SIGPIPE. It removes the queue, then dies of
/// SIGPIPE as any writer to a closed pipe.
#[test]
fn a_reader_that_goes_away_leaves_no_queue() {
    let Paused {
        mut child,
        pid,
        mut stdin,
        stdout,
        stdout_writer,
    } = start_paused(false);
    drop(stdout);
    // No reader anywhere (another test thread's child may hold a copy of the reading end
    // until it execs): the kernel says so on the writing end with POLLERR.
    let deadline = std::time::Instant::now() + test_support::TIMEOUT;
    loop {
        let mut fds = [PollFd::new(stdout_writer.as_fd(), PollFlags::empty())];
        let ready = poll(&mut fds, PollTimeout::from(10_u8)).expect("poll");
        if ready == 1
            && fds[0]
                .revents()
                .is_some_and(|r| r.contains(PollFlags::POLLERR))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the reading end stayed open"
        );
    }
    stdin.write_all(b"\n").expect("pressing Enter");
    let status = child.wait().expect("waiting");
    assert_eq!(status.signal(), Some(Signal::SIGPIPE as i32), "{status}");
    assert!(!exists(pid), "SIGPIPE left {}", queue(pid));
}
