//! Runs the `message-queues` example and checks what it demonstrates, and that no queue
//! of a run survives it, whichever way the run ends: success, a refused `mq_open` or
//! `fork`, a stdout nobody reads, or a signal. Each test judges only the queue its own
//! run made, named after the run's pid (from its first line of output).

use std::io::{BufRead as _, BufReader, PipeReader, PipeWriter, Read as _, Write as _};
use std::os::fd::AsFd as _;
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::mqueue::{MQ_OFlag, mq_close, mq_open, mq_unlink};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::stat::Mode;
use nix::unistd::Pid;
use test_support::{Finished, PIDS, Redaction};

const BIN: &str = env!("CARGO_BIN_EXE_message-queues");

/// The queue name ends in the example's pid.
const QUEUE_PID: Redaction = ("[PID]", r"/message-queues-example-(?<redacted>\d+)");

/// The name in the run's first line, `Queue name: /message-queues-example-PID (…)`.
fn queue_name(first_line: &str) -> String {
    let rest = first_line
        .strip_prefix("Queue name: ")
        .unwrap_or_else(|| panic!("no queue name in {first_line:?}"));
    rest.split_whitespace().next().expect("a name").to_owned()
}

/// The queue named in `first_line` is gone: opening it fails with ENOENT. (This works
/// whether or not /dev/mqueue is mounted.)
fn assert_queue_gone(first_line: &str) {
    let name = queue_name(first_line);
    match mq_open(name.as_str(), MQ_OFlag::O_RDONLY, Mode::empty(), None) {
        Err(Errno::ENOENT) => {}
        Err(errno) => panic!("checking that {name} is gone: mq_open(): {errno}"),
        Ok(queue) => {
            let _ = mq_close(queue);
            let _ = mq_unlink(name.as_str());
            panic!("{name} survived the run (removed it now)");
        }
    }
}

fn first_line(out: &Finished) -> &str {
    out.stdout.lines().next().unwrap_or("")
}

#[test]
fn messages_outlive_the_sender_and_come_out_by_priority() {
    let out = test_support::run(BIN, &[]);
    out.assert_success();
    assert_queue_gone(first_line(&out));
    out.assert_stdout_snapshot("output.txt", &[PIDS, QUEUE_PID]);
}

#[test]
fn an_argument_is_refused_in_one_line() {
    test_support::run(BIN, &["--bogus"])
        .assert_code(2)
        .assert_one_line_error()
        .assert_stderr_contains("unexpected argument \"--bogus\"");
}

/// RLIMIT_MSGQUEUE caps the bytes a user's queues may hold; at 0, creating any queue
/// fails. (The kernel reports it as EMFILE.)
#[test]
fn a_refused_mq_open_is_one_clear_line() {
    let cmd = test_support::command("prlimit", &["--msgqueue=0", BIN]);
    let out = test_support::run_command(cmd);
    out.assert_code(1)
        .assert_one_line_error()
        .assert_stderr_contains("message-queues: error: mq_open(): EMFILE: ");
    assert_queue_gone(first_line(&out));
}

/// The queue exists when `fork` is refused (one task allowed): it must still be
/// removed. Allowed two tasks, the run succeeds, or (when other processes of the same
/// user take the room) fails just as cleanly; either way its queue is gone.
#[test]
fn a_refused_fork_is_one_clear_line_and_leaves_no_queue() {
    for limit in 1..=2 {
        let Some(cmd) = test_support::with_process_limit(BIN, &[], limit) else {
            return;
        };
        let out = test_support::run_command(cmd);
        assert_queue_gone(first_line(&out));
        if limit > 1 && out.status.success() {
            continue;
        }
        out.assert_code(1)
            .assert_one_line_error()
            .assert_stderr_contains("message-queues: error: fork(): EAGAIN: ");
        out.assert_stdout_contains("The parent (pid");
    }
}

#[test]
fn stdout_failures_end_cleanly() {
    test_support::assert_stdout_failures_end_cleanly(BIN, &[]);
}

/// The example, started with `MESSAGE_QUEUES_PAUSE` and now waiting at its pause with
/// the messages in the queue.
struct Paused {
    child: Child,
    pid: Pid,
    first_line: String,
    /// Its stdin: open, so that the example keeps waiting for a line.
    stdin: ChildStdin,
    /// The reading end of its stdout.
    stdout: Option<PipeReader>,
    /// A copy of the writing end of its stdout, to learn when no reader is left.
    stdout_writer: PipeWriter,
}

fn start_paused() -> Paused {
    let (reader, writer) = std::io::pipe().expect("creating a pipe");
    let stdout_writer = writer.try_clone().expect("dup");
    let mut cmd = Command::new(BIN);
    cmd.env("MESSAGE_QUEUES_PAUSE", "1")
        .stdin(Stdio::piped())
        .stdout(writer)
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().expect("starting the example");
    drop(cmd); // it holds a copy of the writing end
    let pid = Pid::from_raw(child.id() as i32);
    let stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(reader);
    let mut first_line = String::new();
    let mut line = String::new();
    while !line.starts_with("Paused:") {
        line.clear();
        let n = stdout.read_line(&mut line).expect("reading stdout");
        assert!(n > 0, "the example ended before its pause");
        if first_line.is_empty() {
            first_line = line.trim_end().to_owned();
        }
    }
    let stdout = Some(stdout.into_inner());
    Paused {
        child,
        pid,
        first_line,
        stdin,
        stdout,
        stdout_writer,
    }
}

impl Paused {
    /// Waits (at most the usual timeout) until the example has ended, and checks that
    /// it was `signal` that ended it, that it said nothing on stderr, and that no
    /// process of its group and no queue of its run is left.
    fn assert_ended_by(mut self, signal: Signal) {
        let deadline = Instant::now() + test_support::TIMEOUT;
        let status = loop {
            if let Some(status) =
                self.child.try_wait().expect("waiting for the example")
            {
                break status;
            }
            if Instant::now() > deadline {
                let _ = killpg(self.pid, Signal::SIGKILL);
                let _ = self.child.wait();
                panic!("the example did not end by {signal}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut stderr = String::new();
        let _ = self
            .child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr);
        assert_eq!(
            status.signal(),
            Some(signal as i32),
            "{status:?}, stderr: {stderr}"
        );
        assert_eq!(stderr, "", "it should end silently, as by {signal}");
        assert_eq!(
            killpg(self.pid, None),
            Err(Errno::ESRCH),
            "left processes behind"
        );
        assert_queue_gone(&self.first_line);
    }
}

/// Ctrl-C (SIGINT), `kill` (SIGTERM) or a closed terminal (SIGHUP) while the queue
/// holds the messages: the example removes the queue, and still dies of the signal, as
/// a shell expects.
#[test]
fn a_signal_leaves_no_queue() {
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        let paused = start_paused();
        kill(paused.pid, signal).expect("kill");
        paused.assert_ended_by(signal);
    }
}

/// Like `message-queues | head -n 1`: the reader of its stdout goes away while the
/// queue exists, and the example's next line raises SIGPIPE. It removes the queue, then
/// dies of SIGPIPE as any writer to a closed pipe.
#[test]
fn a_reader_that_goes_away_leaves_no_queue() {
    let mut paused = start_paused();
    drop(paused.stdout.take());
    // No reader anywhere (another test thread's child may hold a copy of the reading
    // end until it execs): the kernel says so on the writing end with POLLERR.
    let deadline = Instant::now() + test_support::TIMEOUT;
    loop {
        let mut fds = [PollFd::new(
            paused.stdout_writer.as_fd(),
            PollFlags::empty(),
        )];
        let ready = poll(&mut fds, PollTimeout::from(10_u8)).expect("poll");
        let error = fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLERR));
        if ready == 1 && error {
            break;
        }
        assert!(Instant::now() < deadline, "the reading end stayed open");
    }
    paused.stdin.write_all(b"\n").expect("pressing Enter");
    paused.assert_ended_by(Signal::SIGPIPE);
}
