//! A POSIX message queue between two processes.
//!
//! The queue is a named object in the kernel (`mq_open("/name")`, listed under `/dev/mqueue`
//! when that filesystem is mounted). It is not tied to any process: it exists from `mq_open`
//! with `O_CREAT` until `mq_unlink`, even while no process has it open. So a sender can fill it
//! and exit, and a receiver can come later and find the messages, highest priority first.
//! The other side of that coin: nothing removes it for you, so this program unlinks it on
//! every way out.
//!
//! Linux only (POSIX message queues through `nix::mqueue`); elsewhere it says so and exits 1.
#![cfg_attr(not(target_os = "linux"), allow(dead_code, unused_imports))]

use std::process::ExitCode;

use anyhow::{Context, Result, bail, ensure};
use clap::Parser;

/// A sender process fills a POSIX message queue and exits; the parent opens the queue by name
/// afterwards and receives the messages by priority.
#[derive(Parser)]
struct Args {}

/// Every queue this program creates is named `PREFIX<pid>`.
const PREFIX: &str = "/message-queues-example-";
/// Room for this many messages, of at most `MSG_SIZE` bytes each (10 is Linux's default
/// ceiling for unprivileged users, /proc/sys/fs/mqueue/msg_max).
const CAPACITY: mq_attr_member_t = 10;
const MSG_SIZE: mq_attr_member_t = 64;

/// What the sender sends, in this order, with these priorities (higher is more urgent).
const MESSAGES: [(&str, u32); 4] = [
    ("routine report", 1),
    ("first normal", 5),
    ("urgent!", 9),
    ("second normal", 5),
];

#[cfg(not(target_os = "linux"))]
fn main() -> ExitCode {
    eprintln!("message-queues: this example needs Linux");
    ExitCode::FAILURE
}

#[cfg(target_os = "linux")]
fn main() -> ExitCode {
    example_support::main("message-queues", run)
}

#[cfg(target_os = "linux")]
fn run() -> Result<()> {
    Args::parse();
    let hygiene = example_support::Hygiene::start()?;
    // ANCHOR: story
    let name = format!("{PREFIX}{}", getpid());
    println!("Queue name: {name} (our pid makes it unique to this run)");
    let name_guard = UnlinkOnDrop::new(&name); // from here on, every way out removes the name

    create_and_close(&name)?;
    // SAFETY: the process is single-threaded here, so the child may run ordinary Rust code.
    let sender = unsafe { fork_child("message-queues", "sender", || send_all(&name)) }?;
    sender.wait()?;
    println!(
        "The sender has exited and been reaped. The queue is still there, with its messages:"
    );
    let received = receive_all(&name)?;

    name_guard.unlink_now()?;
    // ANCHOR_END: story
    let reopened = mq_open(name.as_str(), MQ_OFlag::O_RDONLY, Mode::empty(), None);
    match reopened {
        Err(Errno::ENOENT) => println!(
            "mq_unlink removed the name: opening it again fails with ENOENT. \
             Nothing of ours is left in the kernel."
        ),
        Err(errno) => {
            bail!("re-opening {name} after mq_unlink: {errno}, expected ENOENT")
        }
        Ok(queue) => {
            let _ = mq_close(queue);
            bail!("{name} could still be opened after mq_unlink");
        }
    }

    let mut expected = MESSAGES.to_vec();
    expected.sort_by_key(|&(_, priority)| std::cmp::Reverse(priority)); // stable: FIFO within a priority
    let received: Vec<(&str, u32)> =
        received.iter().map(|(t, p)| (t.as_str(), *p)).collect();
    ensure!(
        received == expected,
        "received {received:?}, expected {expected:?}"
    );
    println!(
        "Checks passed: all {} messages outlived their sender and came out highest priority first, \
         in sending order within a priority.",
        MESSAGES.len()
    );
    hygiene.check()
}

// ANCHOR: create
/// Creates the queue (it must not exist yet: O_EXCL) and closes it again at once.
#[cfg(target_os = "linux")]
fn create_and_close(name: &str) -> Result<()> {
    let attr = MqAttr::new(0, CAPACITY, MSG_SIZE, 0);
    let flags = MQ_OFlag::O_CREAT | MQ_OFlag::O_EXCL | MQ_OFlag::O_RDONLY;
    let mode = Mode::S_IRUSR | Mode::S_IWUSR;
    let queue = mq_open(name, flags, mode, Some(&attr)).context("mq_open()")?;
    mq_close(queue).context("mq_close()")?;
    println!(
        "The parent (pid {}) created it with room for {CAPACITY} messages of up to {MSG_SIZE} \
         bytes, and closed it: no process has it open now.",
        getpid()
    );
    Ok(())
}
// ANCHOR_END: create

// ANCHOR: send
/// The sender opens the queue by name, sends every message, and returns (the child exits).
#[cfg(target_os = "linux")]
fn send_all(name: &str) -> Result<()> {
    let queue = Queue::open(name, MQ_OFlag::O_WRONLY)?;
    println!(
        "The sender (pid {}) opened it by name and sent, in this order:",
        getpid()
    );
    for (text, priority) in MESSAGES {
        mq_send(&queue, text.as_bytes(), priority).context("mq_send()")?;
        println!("  {text:?} (priority {priority})");
    }
    Ok(())
}
// ANCHOR_END: send

// ANCHOR: receive
/// Opens the queue by name and receives until it is empty. Non-blocking, so "empty" is an
/// EAGAIN error instead of waiting forever.
#[cfg(target_os = "linux")]
fn receive_all(name: &str) -> Result<Vec<(String, u32)>> {
    let queue = Queue::open(name, MQ_OFlag::O_RDONLY | MQ_OFlag::O_NONBLOCK)?;
    let waiting = mq_getattr(&queue).context("mq_getattr()")?.curmsgs();
    println!("  the parent opened it by name: {waiting} messages waiting");
    let mut received = Vec::new();
    loop {
        let mut buf = [0u8; MSG_SIZE as usize]; // must hold the largest message the queue allows
        let mut priority = 0;
        match mq_receive(&queue, &mut buf, &mut priority) {
            Ok(len) => {
                let text = String::from_utf8_lossy(&buf[..len]).into_owned();
                println!("  mq_receive → {text:?} (priority {priority})");
                received.push((text, priority));
            }
            Err(Errno::EAGAIN) => {
                println!("  mq_receive → EAGAIN: the queue is empty");
                return Ok(received);
            }
            Err(errno) => return Err(errno).context("mq_receive()"),
        }
    }
}
// ANCHOR_END: receive

// ANCHOR: unlink-guard
/// Removes the queue's name when dropped: after success, after any `?` error, during a panic.
/// Only in the process that made it: a forked child holds a copy of this guard, and must not
/// remove the queue from under its parent.
#[cfg(target_os = "linux")]
struct UnlinkOnDrop {
    name: String,
    owner: Pid,
    done: bool,
}

#[cfg(target_os = "linux")]
impl UnlinkOnDrop {
    fn new(name: &str) -> Self {
        let (name, owner, done) = (name.to_owned(), getpid(), false);
        UnlinkOnDrop { name, owner, done }
    }

    /// Removes the name now and reports failure; the drop then has nothing left to do.
    fn unlink_now(mut self) -> Result<()> {
        self.done = true;
        mq_unlink(self.name.as_str()).context("mq_unlink()")
    }
}

#[cfg(target_os = "linux")]
impl Drop for UnlinkOnDrop {
    fn drop(&mut self) {
        if !self.done && getpid() == self.owner {
            // ENOENT when the queue was never created: nothing to remove, which is fine.
            let _ = mq_unlink(self.name.as_str());
        }
    }
}
// ANCHOR_END: unlink-guard

// ---------------------------------------------------------------------------------------------
// Plumbing.

#[cfg(target_os = "linux")]
use example_support::child::fork_child;
#[cfg(target_os = "linux")]
use nix::errno::Errno;
#[cfg(target_os = "linux")]
use nix::mqueue::{
    MQ_OFlag, MqAttr, MqdT, mq_attr_member_t, mq_close, mq_getattr, mq_open,
    mq_receive, mq_send, mq_unlink,
};
#[cfg(target_os = "linux")]
use nix::sys::stat::Mode;
#[cfg(target_os = "linux")]
use nix::unistd::{Pid, getpid};

/// An open queue descriptor, closed on drop (nix's `MqdT` does not close itself).
#[cfg(target_os = "linux")]
struct Queue(Option<MqdT>);

#[cfg(target_os = "linux")]
impl Queue {
    /// Opens an existing queue by name.
    fn open(name: &str, flags: MQ_OFlag) -> Result<Self> {
        let queue = mq_open(name, flags, Mode::empty(), None).context("mq_open()")?;
        Ok(Queue(Some(queue)))
    }
}

#[cfg(target_os = "linux")]
impl std::ops::Deref for Queue {
    type Target = MqdT;
    fn deref(&self) -> &MqdT {
        self.0.as_ref().expect("open until dropped")
    }
}

#[cfg(target_os = "linux")]
impl Drop for Queue {
    fn drop(&mut self) {
        if let Some(queue) = self.0.take() {
            let _ = mq_close(queue);
        }
    }
}
