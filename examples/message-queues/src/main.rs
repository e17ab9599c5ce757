//! `cargo run -p message-queues`: a POSIX message queue between two processes.
//!
//! The queue is a named kernel object: it exists from the `mq_open` that creates it
//! until `mq_unlink`, even while no process has it open. A sender fills it and exits;
//! the receiver finds the messages afterwards, highest priority first. Nothing removes
//! the queue for us, so the program removes it on every way out it can catch
//! (`cleanup.rs`).
//! `MESSAGE_QUEUES_PAUSE=1` makes it wait for Enter with the messages in the queue.

mod cleanup;

use std::process::ExitCode;
use std::sync::atomic::Ordering::SeqCst;

use anyhow::{Context, Result, ensure};
use cleanup::{CREATED, UnlinkOnDrop, unlink_on_signals};
use example_support::child::fork_child;
use nix::errno::Errno;
use nix::mqueue::{MQ_OFlag, MqAttr, mq_attr_member_t, mq_close, mq_getattr, mq_open};
use nix::mqueue::{mq_receive, mq_send, mq_unlink};
use nix::sys::stat::Mode;
use nix::unistd::getpid;

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
