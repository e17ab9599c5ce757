//! Shared memory between processes, compared with threads.
//!
//! After `fork` a child shares nothing writable with its parent unless the memory was mapped
//! with `MAP_SHARED` before the fork. Once it is shared, bytes written by one process are seen by
//! the other, but nothing tells the reader *when* they are complete: the two processes need a
//! protocol (here: an atomic state word with Release/Acquire, and a futex to sleep on it).
//! Threads get all of that memory for free: a scoped borrow is enough.
//!
//! Linux only (mmap flags, futex); elsewhere it says so and exits 1.
#![cfg_attr(not(target_os = "linux"), allow(dead_code, unused_imports))]

use std::cell::UnsafeCell;
use std::process::ExitCode;
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::thread;

use anyhow::{Context, Result, anyhow, ensure};
use clap::Parser;

/// Two processes share one memory region: a child writes a message, the parent reads it and
/// answers, synchronised through an atomic in the same region.
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

#[cfg(not(target_os = "linux"))]
fn main() -> ExitCode {
    eprintln!("shared-memory: this example needs Linux");
    ExitCode::FAILURE
}

#[cfg(target_os = "linux")]
fn main() -> ExitCode {
    example_support::main("shared-memory", run)
}

#[cfg(target_os = "linux")]
fn run() -> Result<()> {
    let args = Args::parse();
    let hygiene = example_support::Hygiene::start()?;

    println!("After fork, a child stores 42 in a mapping that starts out as 0:");
    let private = child_stores_42(MapFlags::MAP_PRIVATE)?;
    let shared = child_stores_42(MapFlags::MAP_SHARED)?;

    println!("A message and a reply through one MAP_SHARED page:");
    let (received, child_ok) = message_through_shared_memory(&args.message)?;

    println!("Threads need none of this:");
    let seen_by_main = threads_share_the_heap()?;

    ensure!(
        private == 0,
        "MAP_PRIVATE: parent read {private}, expected 0"
    );
    ensure!(
        shared == 42,
        "MAP_SHARED: parent read {shared}, expected 42"
    );
    ensure!(
        received == args.message,
        "parent read {received:?}, expected {:?}",
        args.message
    );
    ensure!(child_ok, "the child did not read the parent's reply");
    ensure!(
        seen_by_main == ["from main", "from a thread"],
        "main saw {seen_by_main:?}"
    );
    println!(
        "Checks passed: private stayed 0, shared became 42, the message and the reply arrived intact."
    );
    hygiene.check()
}

// ANCHOR: private-vs-shared
/// Maps one zeroed `u32` with `flags`, forks, lets the child store 42 in it, and returns what
/// the parent reads afterwards.
#[cfg(target_os = "linux")]
fn child_stores_42(flags: MapFlags) -> Result<u32> {
    let kind = if flags == MapFlags::MAP_SHARED {
        "MAP_SHARED: "
    } else {
        "MAP_PRIVATE:"
    };
    let value = Mapping::<AtomicU32>::new(flags)?;
    // SAFETY: the process is single-threaded here (its threads run only later, scoped and joined),
    // so the child may run ordinary Rust code.
    let child = unsafe {
        fork_child("shared-memory", "child", || {
            value.store(42, Relaxed);
            println!("  {kind} child (pid {}) stored 42", getpid());
            Ok(())
        })
    }?;
    child.wait()?; // after waitpid the child's store is over, whatever it did
    let seen = value.load(Relaxed);
    println!("  {kind} parent (pid {}) reads {seen}", getpid());
    Ok(seen)
}
// ANCHOR_END: private-vs-shared

// ANCHOR: mailbox
/// The layout both processes agree on. The kernel fills a new mapping with zeros, which is a
/// valid `Mailbox` in state 0: empty.
#[repr(C)]
struct Mailbox {
    state: AtomicU32,
    len: AtomicU32,
    text: UnsafeCell<[u8; CAPACITY]>,
}

const MESSAGE: u32 = 1; // the child's message is in `text`
const REPLY: u32 = 2; // the parent's reply is in `text`

#[cfg(target_os = "linux")]
impl Mailbox {
    /// Writes `text`, then publishes it by storing `state` with Release. Only the side whose
    /// turn it is calls this: the child in state 0, the parent after it saw MESSAGE.
    fn put(&self, state: u32, text: &str) {
        let bytes = text.as_bytes();
        // SAFETY: turn-taking makes this the only access to `text` right now: the other process
        // does not touch it until it sees `state`, which is stored only after the copy.
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
        // SAFETY: the Acquire load that saw `state` pairs with the writer's Release store, so
        // its copy happened before this read, and it writes no more until we publish again.
        let buffer = unsafe { &*self.text.get() };
        String::from_utf8_lossy(&buffer[..len]).into_owned()
    }
}
// ANCHOR_END: mailbox

// ANCHOR: futex
/// Sleeps in the kernel while `word` is not `want`. No FUTEX_PRIVATE_FLAG: a private futex is
/// looked up by this process's virtual address; a shared one by the page itself, which is what
/// lets a process wake a waiter in *another* process.
#[cfg(target_os = "linux")]
fn futex_wait_until(word: &AtomicU32, want: u32) {
    loop {
        let now = word.load(Acquire);
        if now == want {
            return;
        }
        // SAFETY: `word` is a live, aligned u32 for the whole call. FUTEX_WAIT only reads it and
        // returns at once (EAGAIN) if it no longer holds `now`, so no wake-up is lost.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAIT,
                now,
                NO_TIMEOUT,
            )
        };
    }
}

/// Wakes every process sleeping on `word`.
#[cfg(target_os = "linux")]
fn futex_wake(word: &AtomicU32) {
    // SAFETY: `word` is a live, aligned u32; FUTEX_WAKE does not access its memory.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, i32::MAX)
    };
}
// ANCHOR_END: futex

#[cfg(target_os = "linux")]
const NO_TIMEOUT: *const libc::timespec = std::ptr::null();

// ANCHOR: message
/// The child puts `message` in a shared mailbox; the parent takes it and puts a reply, which
/// the child takes before it exits. Returns what the parent read and whether the child got the
/// reply (its exit status).
#[cfg(target_os = "linux")]
fn message_through_shared_memory(message: &str) -> Result<(String, bool)> {
    let mailbox = Mapping::<Mailbox>::new(MapFlags::MAP_SHARED)?;
    // SAFETY: the process is single-threaded here (its threads run only later, scoped and joined),
    // so the child may run ordinary Rust code.
    let child = unsafe {
        fork_child("shared-memory", "child", || {
            println!(
                "  child (pid {}) writes {message:?}, then sets state = MESSAGE",
                getpid()
            );
            mailbox.put(MESSAGE, message);
            let reply = mailbox.take(REPLY);
            println!("  child saw state = REPLY and read {reply:?}");
            ensure!(reply == "got it", "the child read {reply:?} as the reply");
            Ok(())
        })
    }?;
    let received = mailbox.take(MESSAGE);
    println!(
        "  parent (pid {}) saw state = MESSAGE and read {received:?}",
        getpid()
    );
    println!("  parent writes \"got it\", then sets state = REPLY");
    mailbox.put(REPLY, "got it");
    let child_ok = child.wait().is_ok();
    Ok((received, child_ok))
}
// ANCHOR_END: message

// ANCHOR: threads
/// The same sharing between threads: the heap already is common ground, so a scoped thread
/// just borrows main's vector. No mapping, no fork; `join` is the synchronisation.
fn threads_share_the_heap() -> Result<Vec<&'static str>> {
    let mut notes = vec!["from main"];
    thread::scope(|s| {
        let writer = thread::Builder::new()
            .spawn_scoped(s, || notes.push("from a thread"))
            .context("spawning a thread")?;
        writer.join().map_err(|_| anyhow!("the thread panicked"))
    })?;
    println!("  a scoped thread pushed onto main's Vec; main now sees {notes:?}");
    Ok(notes)
}
// ANCHOR_END: threads

// ---------------------------------------------------------------------------------------------
// Plumbing: an owned anonymous mapping. (Forking and reaping: `example_support::child`.)

#[cfg(target_os = "linux")]
use example_support::child::fork_child;
#[cfg(target_os = "linux")]
use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};
#[cfg(target_os = "linux")]
use nix::unistd::getpid;

/// Types for which all-zero bytes are a valid value, so a fresh anonymous mapping holds one.
///
/// # Safety
/// Implement only for types whose every field is valid when zeroed.
unsafe trait Zeroed {}
// SAFETY: an AtomicU32 of zero bytes is 0.
unsafe impl Zeroed for AtomicU32 {}
// SAFETY: atomics of zero bytes are 0, and any bytes are a valid [u8; N].
unsafe impl Zeroed for Mailbox {}

/// One `T` alone in a new anonymous mapping, unmapped on drop. With `MAP_SHARED`, parent and
/// children forked later all see the same page; with `MAP_PRIVATE`, each gets its own copy on
/// its first write.
#[cfg(target_os = "linux")]
struct Mapping<T: Zeroed> {
    ptr: std::ptr::NonNull<T>,
}

#[cfg(target_os = "linux")]
impl<T: Zeroed> Mapping<T> {
    fn new(flags: MapFlags) -> Result<Self> {
        let len = std::num::NonZeroUsize::new(size_of::<T>().max(1)).expect("not zero");
        let prot = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
        // SAFETY: a new mapping at an address the kernel picks overlaps no existing Rust object.
        let ptr =
            unsafe { mmap_anonymous(None, len, prot, flags) }.context("mmap()")?;
        Ok(Mapping { ptr: ptr.cast() })
    }
}

#[cfg(target_os = "linux")]
impl<T: Zeroed> std::ops::Deref for Mapping<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the mapping is page-aligned, zero-filled (a valid T, see Zeroed), mapped until
        // drop, and only shared references to it are ever handed out.
        unsafe { self.ptr.as_ref() }
    }
}

#[cfg(target_os = "linux")]
impl<T: Zeroed> Drop for Mapping<T> {
    fn drop(&mut self) {
        // SAFETY: the region was mapped by `new` with this size and nothing borrows it any more
        // (borrows of `self` have ended).
        let _ = unsafe { munmap(self.ptr.cast(), size_of::<T>().max(1)) };
    }
}
