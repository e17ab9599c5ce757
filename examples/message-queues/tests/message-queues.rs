//! `message-queues` keeps the house rules (`test_support::table`), and no queue of a run
//! survives it, whichever way it ends: success, a refused `mq_open` or `fork`, a stdout nobody
//! reads, or a signal; a signal its caller ignores stays ignored, and a queue it did not create
//! is not its to remove. Each test judges only the queue its own run made, named by its pid.

use std::io::{BufRead as _, BufReader, PipeReader, PipeWriter, Read as _, Write as _};
use std::os::fd::AsFd as _;
use std::os::unix::process::ExitStatusExt as _;
use std::process::{Child, Stdio};
use std::time::Duration;

use nix::errno::Errno;
use nix::mqueue::{MQ_OFlag, mq_close, mq_open, mq_unlink};
use nix::poll::{PollFd, PollFlags, poll};
use nix::sys::signal::{Signal, kill};
use nix::sys::stat::Mode;
use nix::unistd::Pid;
use test_support::table::{DEFAULT, Program};

const BIN: &str = env!("CARGO_BIN_EXE_message-queues");

/// SIGKILL leaves the queue of a run behind, as the chapter says: the test removes it.
const PROGRAMS: &[Program] = &[Program {
    name: "message-queues",
    after_kill: Some(|pid| mq_unlink(queue(pid).as_str()).unwrap_or_default()),
    ..DEFAULT
}];

test_support::example_tests!(
    PROGRAMS,
    &[("[PID]", r"/message-queues-example-(?<redacted>\d+)")]
);

fn queue(pid: u32) -> String {
    format!("/message-queues-example-{pid}")
}

/// Whether the queue of the run with this pid exists (also without /dev/mqueue mounted).
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

/// At RLIMIT_MSGQUEUE 0 no queue can be created (the kernel says EMFILE, as the chapter
/// quotes); allowed one task, the queue exists when `fork` is refused, and is removed.
#[test]
fn a_refused_mq_open_or_fork_is_one_line_and_leaves_no_queue() {
    let out = test_support::run("prlimit", &["--msgqueue=0", BIN]);
    out.assert_code(1).assert_one_line_error();
    out.assert_stderr_contains("message-queues: error: mq_open(): EMFILE: ");
    assert!(!exists(pid_of(&out.stdout)));
    if let Some(out) = test_support::run_with_task_limit(BIN, &[], 1) {
        out.assert_code(1)
            .assert_stderr_contains("message-queues: error: fork(): EAGAIN: ");
        assert!(!exists(pid_of(&out.stdout)));
    }
}

/// A queue of our name that this run did not create (left by a killed run that had our pid:
/// here pid 1, in a new pid namespace) is one clear line, and is left alone.
#[test]
fn a_queue_left_by_another_run_is_one_line_and_left_alone() {
    let flags = MQ_OFlag::O_CREAT | MQ_OFlag::O_RDONLY;
    let attr = nix::mqueue::MqAttr::new(0, 1, 8, 0);
    let mode = Mode::S_IRUSR | Mode::S_IWUSR;
    mq_close(mq_open(queue(1).as_str(), flags, mode, Some(&attr)).unwrap()).unwrap();
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

/// The example started with `MESSAGE_QUEUES_PAUSE` (with SIGHUP and SIGINT ignored, as
/// `nohup` and a background job do, if `ignore`), now waiting for Enter with the messages in
/// the queue: the child, its pid, its stdout, and a copy of its writing end.
fn paused(ignore: bool) -> (Child, u32, BufReader<PipeReader>, PipeWriter) {
    let trap = if ignore { "trap '' HUP INT;" } else { "" };
    let script = format!("{trap} exec \"$0\"");
    let (reader, writer) = std::io::pipe().expect("a pipe");
    let mut cmd = test_support::command("bash", &["-c", &script, BIN]);
    cmd.env("MESSAGE_QUEUES_PAUSE", "1")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.stdout(writer.try_clone().expect("dup"));
    let child = test_support::in_new_session(&mut cmd)
        .spawn()
        .expect("starting it");
    drop(cmd); // it holds a copy of the writing end
    let (mut stdout, mut seen) = (BufReader::new(reader), String::new());
    while !seen.contains("Paused:") {
        assert!(
            stdout.read_line(&mut seen).expect("reading") > 0,
            "ended early:\n{seen}"
        );
    }
    (child, pid_of(&seen), stdout, writer)
}

/// Ctrl-C (SIGINT), `kill` (SIGTERM), a closed terminal (SIGHUP) or, like `| head -n 1`, a
/// reader of its output that goes away (SIGPIPE at its next line) while the queue holds the
/// messages: the example removes the queue and still dies of the signal, silently, as a
/// shell expects. Ignored by its caller, SIGHUP and SIGINT change nothing.
#[test]
fn a_signal_leaves_no_queue_and_an_ignored_one_stays_ignored() {
    use Signal::*;
    let ignored = [(true, SIGHUP), (true, SIGINT)];
    for (ignore, signal) in [SIGINT, SIGTERM, SIGHUP, SIGPIPE]
        .map(|s| (false, s))
        .into_iter()
        .chain(ignored)
    {
        let (mut child, pid, mut stdout, writer) = paused(ignore);
        if signal == SIGPIPE {
            stdout = BufReader::new(std::io::pipe().expect("a pipe").0); // the old one closed
            // Until no reader is left (another test thread's child may hold a copy of the
            // reading end until it execs): the kernel says so on the writing end.
            let pollerr =
                || poll(&mut [PollFd::new(writer.as_fd(), PollFlags::empty())], 10u8);
            let deadline = std::time::Instant::now() + test_support::TIMEOUT;
            while pollerr() != Ok(1) {
                assert!(std::time::Instant::now() < deadline, "a reader stayed");
            }
        } else {
            kill(Pid::from_raw(pid as i32), signal).expect("kill");
        }
        let _ = child.stdin.take().expect("stdin").write_all(b"\n");
        drop(writer);
        let _ = stdout.read_to_string(&mut String::new());
        let status = child.wait().expect("waiting for the example");
        let mut stderr = String::new();
        let _ = child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr);
        let sid = Pid::from_raw(child.id() as i32);
        let left = test_support::session_left_after(sid, Duration::from_secs(2));
        assert!(
            left.is_empty() && !exists(pid),
            "{signal}: left {left:?} or the queue"
        );
        let died = status.signal() == Some(signal as i32);
        let ended = if ignore { status.success() } else { died };
        assert!(
            ended && stderr.is_empty(),
            "{signal} ({ignore}): {status}, {stderr}"
        );
    }
}
