//! `cargo run -p message-queues`: a POSIX message queue between two processes.
//!
//! The queue is a named kernel object: it exists from the `mq_open` that creates it
//! until `mq_unlink`, even while no process has it open. A sender fills it and exits;
//! the receiver finds the messages afterwards, highest priority first. Nothing removes
//! the queue for us, so the program removes it on every way out it can catch.
//! `MESSAGE_QUEUES_PAUSE=1` makes it wait for Enter with the messages in the queue.

use std::ffi::{CString, c_int};
use std::process::ExitCode;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

use anyhow::{Context, Result, ensure};
use example_support::child::fork_child;
use nix::errno::Errno;
use nix::mqueue::{MQ_OFlag, MqAttr, mq_attr_member_t, mq_close, mq_getattr, mq_open};
use nix::mqueue::{mq_receive, mq_send, mq_unlink};
use nix::sys::signal::{SIGHUP, SIGINT, SIGPIPE, SIGTERM};
use nix::sys::signal::{
    SaFlags, SigAction, SigHandler, SigSet, Signal, raise, sigaction,
};
use nix::sys::stat::Mode;
use nix::unistd::{Pid, getpid};

/// Room for 10 messages (msg_max, the default ceiling without privilege) of 64 bytes.
const CAPACITY: mq_attr_member_t = 10;
const MSG_SIZE: mq_attr_member_t = 64;

/// What the sender sends, in this order, with these priorities (higher is more urgent).
const MESSAGES: [(&str, u32); 4] = [
    ("routine report", 1),
    ("first normal", 5),
    ("urgent!", 9),
    ("second normal", 5),
];

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run() -> Result<()> {
    // ANCHOR: story
    let name = format!("/message-queues-example-{}", getpid());
    println!("Queue name: {name} (our pid makes it unique to this run)");
    let _guard = UnlinkOnDrop(name.clone()); // returning now removes the name
    unlink_on_signals(&name)?; // and so do the signals that usually end a program

    create_and_close(&name)?;
    // SAFETY: one thread here, so the child may run ordinary Rust code.
    let sender = unsafe { fork_child("message-queues", "sender", || send_all(&name)) }?;
    sender.wait()?;
    println!("The sender has exited and been reaped. The queue is still there:");
    pause_if_asked()?;
    let received = receive_all(&name)?;

    mq_unlink(name.as_str()).context("mq_unlink()")?;
    // ANCHOR_END: story
    let reopened = mq_open(name.as_str(), MQ_OFlag::O_RDONLY, Mode::empty(), None);
    ensure!(
        reopened.err() == Some(Errno::ENOENT),
        "{name} is still there"
    );
    println!("mq_unlink removed the name: opening it again fails with ENOENT.");

    let mut expected = MESSAGES.map(|(text, priority)| (text.to_owned(), priority));
    expected.sort_by_key(|&(_, priority)| std::cmp::Reverse(priority)); // a stable sort
    ensure!(received == expected, "received {received:?}");
    println!(
        "All {} messages outlived their sender and came out highest priority first, \
         in sending order within a priority.",
        MESSAGES.len()
    );
    Ok(())
}

// ANCHOR: create
/// Creates the queue (it must not exist yet: O_EXCL) and closes it again at once.
fn create_and_close(name: &str) -> Result<()> {
    let attr = MqAttr::new(0, CAPACITY, MSG_SIZE, 0);
    let flags = MQ_OFlag::O_CREAT | MQ_OFlag::O_EXCL | MQ_OFlag::O_RDONLY;
    let mode = Mode::S_IRUSR | Mode::S_IWUSR;
    let queue = mq_open(name, flags, mode, Some(&attr)).context("mq_open()")?;
    CREATED.store(true, SeqCst); // ours now: the guard and the handler may remove it
    mq_close(queue).context("mq_close()")?;
    println!(
        "The parent (pid {}) created it with room for {CAPACITY} messages of up to \
         {MSG_SIZE} bytes, and closed it: no process has it open now.",
        getpid()
    );
    Ok(())
}
// ANCHOR_END: create

// ANCHOR: send
/// The sender opens the queue by name and sends every message.
fn send_all(name: &str) -> Result<()> {
    let queue =
        mq_open(name, MQ_OFlag::O_WRONLY, Mode::empty(), None).context("mq_open()")?;
    println!(
        "The sender (pid {}) opened it by name and sent, in this order:",
        getpid()
    );
    for (text, priority) in MESSAGES {
        mq_send(&queue, text.as_bytes(), priority).context("mq_send()")?;
        println!("  {text:?} (priority {priority})");
    }
    mq_close(queue).context("mq_close()")
}
// ANCHOR_END: send

// ANCHOR: receive
/// Opens the queue by name and receives until it is empty. Non-blocking, so that
/// "empty" is the error EAGAIN instead of waiting forever.
fn receive_all(name: &str) -> Result<Vec<(String, u32)>> {
    let flags = MQ_OFlag::O_RDONLY | MQ_OFlag::O_NONBLOCK;
    let queue = mq_open(name, flags, Mode::empty(), None).context("mq_open()")?;
    let waiting = mq_getattr(&queue).context("mq_getattr()")?.curmsgs();
    println!("  the parent opened it by name: {waiting} messages waiting");
    let mut received = Vec::new();
    // The buffer must hold the largest message the queue allows.
    let mut buf = [0u8; MSG_SIZE as usize];
    let mut priority = 0;
    let end = loop {
        match mq_receive(&queue, &mut buf, &mut priority) {
            Ok(len) => {
                let text = String::from_utf8_lossy(&buf[..len]).into_owned();
                println!("  mq_receive → {text:?} (priority {priority})");
                received.push((text, priority));
            }
            Err(errno) => break errno,
        }
    };
    mq_close(queue).context("mq_close()")?;
    if end != Errno::EAGAIN {
        return Err(end).context("mq_receive()");
    }
    println!("  mq_receive → EAGAIN: the queue is empty");
    Ok(received)
}
// ANCHOR_END: receive

// ANCHOR: unlink-guard
/// Whether this run created the queue: a queue of that name it did not create (one left
/// by a killed earlier run that had our pid) is not its to remove.
static CREATED: AtomicBool = AtomicBool::new(false);

/// Removes the queue's name when dropped, if this run created it: after an error
/// returned with `?`, during a panic, and after success (then the name is gone already:
/// ENOENT, which is fine).
struct UnlinkOnDrop(String);

impl Drop for UnlinkOnDrop {
    fn drop(&mut self) {
        if CREATED.load(SeqCst) {
            let _ = mq_unlink(self.0.as_str());
        }
    }
}
// ANCHOR_END: unlink-guard

// ANCHOR: unlink-on-signals
/// The queue's name, and the process that removes it, for the signal handler.
static QUEUE: OnceLock<(CString, Pid)> = OnceLock::new();

/// From now on SIGINT (Ctrl-C), SIGTERM (`kill`), SIGHUP (the terminal closed) and
/// SIGPIPE (no reader left for our output) remove the queue first, then end the process
/// as before. A signal the caller ignores (`nohup`, a background job) stays ignored.
fn unlink_on_signals(name: &str) -> Result<()> {
    let owner = (CString::new(name).context("queue name")?, getpid());
    ensure!(QUEUE.set(owner).is_ok(), "unlink_on_signals called twice");
    let handler = SigHandler::Handler(unlink_then_die);
    let action = SigAction::new(handler, SaFlags::SA_RESETHAND, SigSet::empty());
    for signal in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] {
        // SAFETY: the handler reads `QUEUE`, set before this call, and `CREATED`, an
        // atomic, and makes only system calls, which take no lock: getpid, mq_unlink
        // (glibc hands it straight to the kernel) and raise.
        let before = unsafe { sigaction(signal, &action) }.context("sigaction()")?;
        if matches!(before.handler(), SigHandler::SigIgn) {
            // SAFETY: puts back what was there: SIG_IGN runs no code.
            unsafe { sigaction(signal, &before) }.context("sigaction()")?;
        }
    }
    Ok(())
}

extern "C" fn unlink_then_die(signal: c_int) {
    // Not in the forked sender: it must leave the queue to its parent.
    if let Some((name, owner)) = QUEUE.get()
        && getpid() == *owner
        && CREATED.load(SeqCst)
    {
        let _ = mq_unlink(name.as_c_str());
    }
    // SA_RESETHAND has put back the default action, so the signal raised again ends the
    // process as if there had been no handler (once this handler returns).
    if let Ok(signal) = Signal::try_from(signal) {
        let _ = raise(signal);
    }
}
// ANCHOR_END: unlink-on-signals

/// With MESSAGE_QUEUES_PAUSE set, waits for Enter: time to look for the queue in
/// /dev/mqueue, or to press Ctrl-C and see it go.
fn pause_if_asked() -> Result<()> {
    if std::env::var_os("MESSAGE_QUEUES_PAUSE").is_some() {
        println!("Paused: press Enter to receive the messages, or Ctrl-C to stop.");
        std::io::stdin()
            .read_line(&mut String::new())
            .context("reading stdin")?;
    }
    Ok(())
}
