#![cfg(target_os = "linux")]
//! Runs the `message-queues` example as a child process and checks what it demonstrates, and
//! that no queue of ours survives a run, successful or not.

use std::sync::Mutex;

use nix::errno::Errno;
use nix::mqueue::{MQ_OFlag, mq_close, mq_open, mq_unlink};
use nix::sys::stat::Mode;
use test_support::{Finished, PIDS, Redaction, run_command};

const BIN: &str = env!("CARGO_BIN_EXE_message-queues");
/// Every queue the example creates is `/PREFIX<pid>`.
const PREFIX: &str = "message-queues-example-";

/// The queue name ends in the example's pid.
const QUEUE_PID: Redaction = ("[PID]", r"/message-queues-example-(?<redacted>\d+)");

/// The prefix check looks at every queue of ours, so runs of this file must not overlap.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn run_alone(cmd: impl Into<test_support::Prepared>) -> Finished {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let out = run_command(cmd);
    assert_no_queue_left(&out);
    out
}

/// The queue this run used (from its first line) cannot be opened any more, and, when
/// /dev/mqueue is mounted, it lists no queue with our prefix.
fn assert_no_queue_left(out: &Finished) {
    let first = out.stdout.lines().next().unwrap_or("");
    if let Some(rest) = first.strip_prefix("Queue name: ") {
        let name = rest.split_whitespace().next().expect("a name");
        assert!(name.starts_with(&format!("/{PREFIX}")), "{first}");
        match mq_open(name, MQ_OFlag::O_RDONLY, Mode::empty(), None) {
            Err(Errno::ENOENT) => {}
            Err(errno) => panic!("checking that {name} is gone: mq_open(): {errno}"),
            Ok(queue) => {
                let _ = mq_close(queue);
                let _ = mq_unlink(name);
                panic!("{name} survived the run (removed it now)");
            }
        }
    }
    match std::fs::read_dir("/dev/mqueue") {
        Ok(entries) => {
            let ours: Vec<String> = entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(PREFIX))
                .collect();
            assert!(ours.is_empty(), "left in /dev/mqueue: {ours:?}");
        }
        Err(err) => eprintln!(
            "WARNING: SKIPPED the /dev/mqueue listing check: cannot read /dev/mqueue ({err}); \
             mount it with `mount -t mqueue none /dev/mqueue` to enable it. The queue of this \
             run was checked by name instead."
        ),
    }
}

#[test]
fn messages_outlive_the_sender_and_come_out_by_priority() {
    let out = run_alone(test_support::command(BIN, &[]));
    out.assert_success()
        .assert_stdout_contains("closed it: no process has it open now.")
        .assert_stdout_contains("The sender has exited and been reaped.")
        .assert_stdout_contains("the parent opened it by name: 4 messages waiting");
    let received: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  mq_receive → "))
        .collect();
    assert_eq!(
        received,
        [
            "\"urgent!\" (priority 9)",
            "\"first normal\" (priority 5)",
            "\"second normal\" (priority 5)",
            "\"routine report\" (priority 1)",
            "EAGAIN: the queue is empty",
        ]
    );
    out.assert_stdout_contains("opening it again fails with ENOENT");
    out.assert_stdout_snapshot("output.txt", &[PIDS, QUEUE_PID]);
}

#[test]
fn bad_flag_is_a_usage_error() {
    let out = run_alone(test_support::command(BIN, &["--bogus"]));
    out.assert_code(2).assert_stderr_contains("Usage:");
}

/// RLIMIT_MSGQUEUE caps the bytes a user's queues may hold; at 0, creating any queue fails.
/// (The kernel reports it as EMFILE.)
#[test]
fn failed_mq_open_is_one_clear_line_and_leaves_nothing() {
    let out = run_alone(test_support::command("prlimit", &["--msgqueue=0", BIN]));
    out.assert_code(1).assert_one_line_error();
    assert!(
        out.stderr
            .starts_with("message-queues: error: mq_open(): EMFILE: "),
        "stderr: {}",
        out.stderr
    );
}

/// Here the queue already exists when `fork` fails: the guard must still remove it.
#[test]
fn failure_after_the_queue_exists_still_unlinks_it() {
    let Some(cmd) = test_support::with_one_process_allowed(BIN, &[]) else {
        return;
    };
    let out = run_alone(cmd);
    out.assert_code(1).assert_one_line_error();
    assert!(
        out.stdout.contains("The parent (pid"),
        "the queue was not created first:\n{}",
        out.stdout
    );
    assert!(
        out.stderr
            .starts_with("message-queues: error: fork(): EAGAIN: "),
        "stderr: {}",
        out.stderr
    );
}
