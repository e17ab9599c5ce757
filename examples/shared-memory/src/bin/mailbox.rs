//! A message and a reply through one `MAP_SHARED` page. Shared memory carries bytes
//! but no signal that they are ready, so the two processes follow a protocol: an
//! atomic `state` word stored with Release and loaded with Acquire, and a futex to
//! sleep on it.

use std::cell::UnsafeCell;
use std::process::ExitCode;
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use anyhow::{Result, ensure};
use clap::Parser;
use example_support::child::fork_child;
use example_support::mapping::{Mapping, Zeroed};
use nix::sys::mman::MapFlags;
use nix::unistd::getpid;

/// A child writes a message into shared memory; the parent reads it and answers.
#[derive(Parser)]
struct Args {
    /// The message the child writes into shared memory (at most 64 bytes).
    #[arg(long, default_value = "hello from the child", value_parser = parse_message)]
    message: String,
}

/// Room for the text in the shared mailbox.
const CAPACITY: usize = 64;

fn parse_message(text: &str) -> Result<String, String> {
    if text.len() > CAPACITY {
        return Err(format!("at most {CAPACITY} bytes, got {}", text.len()));
    }
    Ok(text.to_owned())
}

fn main() -> ExitCode {
    example_support::main!(run)
}

// ANCHOR: message
fn run(Args { message }: Args) -> Result<()> {
    println!("A message and a reply through one MAP_SHARED page:");
    let mailbox = Mapping::<Mailbox>::new(MapFlags::MAP_SHARED)?;
    // Each side prints only after its part of the exchange: a process that dies while
    // the other sleeps on the futex would never wake it.
    // SAFETY: the process is single-threaded, so the child may run ordinary Rust code.
    let child = unsafe {
        fork_child("mailbox", "child", || {
            mailbox.put(MESSAGE, &message);
            let reply = mailbox.take(REPLY);
            println!(
                "  child  (pid {}) put {message:?}, then took {reply:?}",
                getpid()
            );
            ensure!(reply == "got it", "the child took {reply:?} as the reply");
            Ok(())
        })
    }?;
    let received = mailbox.take(MESSAGE);
    mailbox.put(REPLY, "got it");
    child.wait()?; // an error unless the child took the reply
    println!(
        "  parent (pid {}) took {received:?}, then put \"got it\"",
        getpid()
    );
    ensure!(received == message, "the parent took {received:?}");
    println!("The message and the reply each arrived whole, in turn.");
    Ok(())
}
// ANCHOR_END: message

// ANCHOR: mailbox
/// The layout both processes agree on. The kernel fills a new mapping with zeros, which
/// is a valid `Mailbox` in state 0: empty.
#[repr(C)]
struct Mailbox {
    state: AtomicU32,
    len: AtomicU32,
    text: UnsafeCell<[u8; CAPACITY]>,
}

const MESSAGE: u32 = 1; // the child's message is in `text`
const REPLY: u32 = 2; // the parent's reply is in `text`

impl Mailbox {
    /// Writes `text`, then publishes it by storing `state` with Release. Only the side
    /// whose turn it is calls this: the child in state 0, the parent after MESSAGE.
    fn put(&self, state: u32, text: &str) {
        let bytes = text.as_bytes();
        // SAFETY: turn-taking makes this the only access to `text` right now: the other
        // process does not touch it until it sees `state`, stored only after the copy.
        let buffer = unsafe { &mut *self.text.get() };
        buffer[..bytes.len()].copy_from_slice(bytes);
        self.len.store(bytes.len() as u32, Relaxed);
        self.state.store(state, Release);
        futex_wake(&self.state);
    }

    /// Sleeps until the state is `state` (Acquire), then reads the text.
    fn take(&self, state: u32) -> String {
        futex_wait_until(&self.state, state);
        let len = self.len.load(Relaxed) as usize;
        // SAFETY: the Acquire load that saw `state` pairs with the writer's Release
        // store, so its copy happened before this read, and it writes no more until
        // our turn ends.
        let buffer = unsafe { &*self.text.get() };
        String::from_utf8_lossy(&buffer[..len]).into_owned()
    }
}
// ANCHOR_END: mailbox

// SAFETY: atomics of zero bytes hold 0, and any bytes are a valid [u8; N].
unsafe impl Zeroed for Mailbox {}

// ANCHOR: futex
/// Sleeps in the kernel while `word` is not `want`. No FUTEX_PRIVATE_FLAG: the kernel
/// finds a shared futex by the memory behind the address, so one process can wake a
/// waiter in another.
fn futex_wait_until(word: &AtomicU32, want: u32) {
    loop {
        let now = word.load(Acquire);
        if now == want {
            return;
        }
        let no_timeout = std::ptr::null::<libc::timespec>();
        // SAFETY: `word` is a live, aligned u32 for the whole call. FUTEX_WAIT only
        // reads it and returns at once if it no longer holds `now`: no wake-up is lost.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAIT,
                now,
                no_timeout,
            )
        };
    }
}

/// Wakes every process sleeping on `word`.
fn futex_wake(word: &AtomicU32) {
    // SAFETY: `word` is a live, aligned u32; FUTEX_WAKE does not access its memory.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, i32::MAX)
    };
}
// ANCHOR_END: futex
