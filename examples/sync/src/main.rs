//! Synchronisation between threads, and between processes.
//!
//! Threads of one process share memory, so a lock is just memory plus a way to sleep:
//! `Mutex`, `Condvar`, and a counting semaphore built from the two (std has none). Processes
//! share no memory, so a `std::sync::Mutex` in one of them means nothing to the others; to limit
//! how many processes do something at once they need an object the kernel shares between
//! them. Here: a pipe holding one byte per free permit.
//!
//! Linux only for the process half (fork, pipe, mmap); elsewhere it says so and exits 1.
#![cfg_attr(not(target_os = "linux"), allow(dead_code, unused_imports))]

use std::process::ExitCode;
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Condvar, Mutex, PoisonError};
use std::thread::{self, Scope, ScopedJoinHandle};

use anyhow::{Context, Result, bail, ensure};
use clap::Parser;

/// Mutex, Condvar and a semaphore between threads; the same limit between processes with a
/// pipe of tokens; and why a std Mutex cannot do that.
#[derive(Parser)]
struct Args {
    /// Permits: how many workers may be inside at once.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=16))]
    limit: u32,
    /// Workers competing for the permits (threads, then processes).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=32))]
    workers: u32,
}

#[cfg(not(target_os = "linux"))]
fn main() -> ExitCode {
    eprintln!("sync: this example needs Linux");
    ExitCode::FAILURE
}

#[cfg(target_os = "linux")]
fn main() -> ExitCode {
    example_support::main("sync", run)
}

#[cfg(target_os = "linux")]
fn run() -> Result<()> {
    let Args { limit, workers } = Args::parse();
    let hygiene = example_support::Hygiene::start()?;

    println!("Threads:");
    let total = mutex_counter()?;
    let handed_over = condvar_handshake(5)?;
    let thread_peak = threads_limited(limit, workers)?;

    println!("Processes:");
    let parent_sees = mutex_after_fork()?;
    locked_mutex_across_fork()?;
    let process_peak = processes_limited(limit, workers)?;

    let most = limit.min(workers);
    ensure!(total == 4000, "the Mutex counter is {total}, expected 4000");
    ensure!(
        handed_over == [1, 2, 3, 4, 5],
        "the consumer got {handed_over:?}"
    );
    ensure!(
        thread_peak == most,
        "threads: {thread_peak} inside at once, expected {most}"
    );
    ensure!(
        parent_sees == 0,
        "the parent's counter is {parent_sees}, expected 0"
    );
    ensure!(
        process_peak == most,
        "processes: {process_peak} inside at once, expected {most}"
    );
    println!(
        "Checks passed: no increment lost, every item handed over in order, never more than \
         {limit} inside at once (threads or processes), and the std Mutex stayed per-process."
    );
    hygiene.check()
}

// ANCHOR: mutex
/// Four threads add 1 a thousand times each to one counter behind one `Mutex`.
fn mutex_counter() -> Result<u64> {
    let counter = Mutex::new(0u64);
    thread::scope(|s| {
        for _ in 0..4 {
            spawn(s, || {
                for _ in 0..1000 {
                    *counter.lock().unwrap() += 1; // lock, add, unlock at the end of the statement
                }
            })?;
        }
        Ok::<_, anyhow::Error>(())
    })?;
    let total = counter.into_inner()?;
    println!("  Mutex: 4 threads × 1000 increments of one counter: {total}");
    Ok(total)
}
// ANCHOR_END: mutex

// ANCHOR: condvar
/// A one-item slot: the producer waits until it is empty, fills it and notifies; the consumer
/// waits until it is full, empties it and notifies. `wait_while` releases the lock while it
/// sleeps and re-checks the condition after every wake-up.
fn condvar_handshake(items: u32) -> Result<Vec<u32>> {
    let slot: Mutex<Option<u32>> = Mutex::new(None);
    let changed = Condvar::new();
    let mut received = Vec::new();
    thread::scope(|s| {
        spawn(s, || {
            for item in 1..=items {
                let mut slot = changed
                    .wait_while(slot.lock().unwrap(), |s| s.is_some())
                    .unwrap();
                *slot = Some(item);
                changed.notify_one();
            }
        })?;
        for _ in 1..=items {
            let mut slot = changed
                .wait_while(slot.lock().unwrap(), |s| s.is_none())
                .unwrap();
            received.extend(slot.take());
            changed.notify_one();
        }
        Ok::<_, anyhow::Error>(())
    })?;
    println!(
        "  Condvar: the producer handed over 1..={items} one at a time; consumer got {received:?}"
    );
    Ok(received)
}
// ANCHOR_END: condvar

// ANCHOR: semaphore
/// A counting semaphore from a `Mutex` and a `Condvar`: `acquire` sleeps until a permit is free
/// and takes it; dropping the `Permit` puts it back and wakes one sleeper.
struct Semaphore {
    free: Mutex<u32>,
    returned: Condvar,
}

struct Permit<'a>(&'a Semaphore);

impl Semaphore {
    fn new(permits: u32) -> Self {
        Semaphore {
            free: Mutex::new(permits),
            returned: Condvar::new(),
        }
    }

    fn acquire(&self) -> Permit<'_> {
        let mut free = self
            .returned
            .wait_while(self.free.lock().unwrap(), |f| *f == 0)
            .unwrap();
        *free -= 1;
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.0.returned.notify_one();
    }
}
// ANCHOR_END: semaphore

// ANCHOR: thread-limit
/// `workers` threads, each taking a permit before it enters the room.
fn threads_limited(limit: u32, workers: u32) -> Result<u32> {
    let semaphore = Semaphore::new(limit);
    let room = Room::new(workers);
    thread::scope(|s| {
        for started in 0..workers {
            let worker = spawn(s, || {
                let _permit = semaphore.acquire();
                room.visit(limit);
            }); // the permit is returned here, when `_permit` is dropped
            if let Err(err) = worker {
                room.expect_only(started); // don't let the others wait for the missing ones
                return Err(err);
            }
        }
        Ok(())
    })?;
    let peak = room.peak.load(SeqCst);
    println!(
        "  Semaphore (Mutex + Condvar), limit {limit}, {workers} threads: at most {peak} inside at once"
    );
    Ok(peak)
}
// ANCHOR_END: thread-limit

// ANCHOR: room
/// Who is inside right now, and the most ever inside at once. Only atomics, so the same struct
/// works between threads (a borrow) and between processes (a MAP_SHARED page).
#[repr(C)]
struct Room {
    workers: AtomicU32,
    inside: AtomicU32,
    left: AtomicU32,
    peak: AtomicU32,
}

impl Room {
    fn new(workers: u32) -> Self {
        let room = Room {
            workers: AtomicU32::new(0),
            inside: AtomicU32::new(0),
            left: AtomicU32::new(0),
            peak: AtomicU32::new(0),
        };
        room.expect_only(workers);
        room
    }

    fn expect_only(&self, workers: u32) {
        self.workers.store(workers, SeqCst);
    }

    /// Called with a permit held. Stays until the room is as full as it can get (every permit
    /// taken, or every worker that has not left yet is inside), so that the peak is exactly
    /// min(limit, workers) however the scheduler interleaves: a deterministic demonstration.
    fn visit(&self, limit: u32) {
        let now = self.inside.fetch_add(1, SeqCst) + 1;
        self.peak.fetch_max(now, SeqCst);
        while self.inside.load(SeqCst) < limit
            && self.inside.load(SeqCst) + self.left.load(SeqCst)
                < self.workers.load(SeqCst)
        {
            thread::yield_now();
        }
        self.inside.fetch_sub(1, SeqCst);
        self.left.fetch_add(1, SeqCst);
    }
}
// ANCHOR_END: room

// ANCHOR: mutex-after-fork
/// Two children lock "the" mutex and add 1. Each sees 1; the parent still sees 0. Every
/// process has its own copy of the memory, so each locked a different mutex.
#[cfg(target_os = "linux")]
fn mutex_after_fork() -> Result<u32> {
    let counter = Mutex::new(0u32);
    println!("  std::sync::Mutex after fork: 2 children each lock it and add 1");
    for _ in 0..2 {
        // SAFETY: the process is single-threaded here (the threads of the earlier parts were scoped
        // and have all been joined), so the child may run ordinary Rust code.
        let child = unsafe {
            fork_child("sync", "child", || {
                let mut value = counter.lock().unwrap();
                *value += 1;
                println!("    child (pid {}) sees {}", getpid(), *value);
                ensure!(*value == 1, "the child saw {}", *value);
                Ok(())
            })
        }?;
        child.wait()?; // one after the other: were the mutex shared, the second would see 2
    }
    let value = *counter.lock().unwrap();
    println!(
        "    parent (pid {}) sees {value}: three processes, three separate mutexes",
        getpid()
    );
    Ok(value)
}
// ANCHOR_END: mutex-after-fork

// ANCHOR: locked-across-fork
/// The parent forks while it holds the lock. The child gets a copy of a *locked* mutex and no
/// thread that will ever unlock it: `lock()` there would wait forever.
#[cfg(target_os = "linux")]
fn locked_mutex_across_fork() -> Result<()> {
    let mutex = Mutex::new(());
    let guard = mutex.lock().unwrap();
    // SAFETY: the process is single-threaded here (the threads of the earlier parts were scoped and
    // have all been joined), so the child may run ordinary Rust code.
    let child = unsafe {
        fork_child("sync", "child", || match mutex.try_lock() {
            Err(TryLockError::WouldBlock) => {
                println!("  forked while the parent held the lock:");
                println!(
                    "    child (pid {}) try_lock → WouldBlock, and nobody in it can unlock",
                    getpid()
                );
                Ok(())
            }
            Ok(_) => bail!("the child could lock a mutex the parent held"),
            Err(TryLockError::Poisoned(_)) => bail!("poisoned"),
        })
    };
    drop(guard); // unlocks the parent's copy only
    child?.wait()
}
// ANCHOR_END: locked-across-fork

// ANCHOR: pipe-semaphore
/// A counting semaphore between processes: a pipe holding one byte per free permit. Reading a
/// byte takes a permit, and blocks in the kernel while the pipe is empty; writing the byte back
/// returns it and wakes a blocked reader. Children inherit both ends across fork.
#[cfg(target_os = "linux")]
struct PipeSemaphore {
    take: OwnedFd,
    give: OwnedFd,
}

#[cfg(target_os = "linux")]
impl PipeSemaphore {
    fn new(permits: u32) -> Result<Self> {
        let (take, give) = pipe().context("pipe()")?;
        for _ in 0..permits {
            write(&give, b"t").context("write()")?;
        }
        Ok(PipeSemaphore { take, give })
    }

    fn acquire(&self) -> Result<()> {
        match read(&self.take, &mut [0u8]).context("read()")? {
            1 => Ok(()),
            _ => bail!("the token pipe was closed"),
        }
    }

    fn release(&self) -> Result<()> {
        write(&self.give, b"t").context("write()")?;
        Ok(())
    }
}
// ANCHOR_END: pipe-semaphore

// ANCHOR: process-limit
/// `workers` processes, each taking a token from the pipe before it enters the room, which
/// lives in a MAP_SHARED page so that every process counts in the same place.
#[cfg(target_os = "linux")]
fn processes_limited(limit: u32, workers: u32) -> Result<u32> {
    let semaphore = PipeSemaphore::new(limit)?;
    let room = Shared::new(Room::new(workers))?;
    let mut children = Vec::new();
    for _ in 0..workers {
        // SAFETY: the process is single-threaded here (the threads of the earlier parts were scoped
        // and have all been joined), so the child may run ordinary Rust code.
        children.push(unsafe {
            fork_child("sync", "child", || {
                semaphore.acquire()?;
                room.visit(limit);
                semaphore.release()
            })
        }?); // on error, the children already started are killed and reaped (Child's Drop)
    }
    for child in children {
        child.wait()?;
    }
    let peak = room.peak.load(SeqCst);
    println!(
        "  Pipe of tokens as a semaphore, limit {limit}, {workers} processes: at most {peak} inside at once"
    );
    Ok(peak)
}
// ANCHOR_END: process-limit

// ---------------------------------------------------------------------------------------------
// Plumbing.

#[cfg(target_os = "linux")]
use std::os::fd::OwnedFd;
#[cfg(target_os = "linux")]
use std::sync::TryLockError;

#[cfg(target_os = "linux")]
use example_support::child::fork_child;
#[cfg(target_os = "linux")]
use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};
#[cfg(target_os = "linux")]
use nix::unistd::{getpid, pipe, read, write};

/// `Scope::spawn`, but a failure to start the thread is an error instead of a panic.
fn spawn<'scope, T: Send + 'scope>(
    s: &'scope Scope<'scope, '_>,
    f: impl FnOnce() -> T + Send + 'scope,
) -> Result<ScopedJoinHandle<'scope, T>> {
    thread::Builder::new()
        .spawn_scoped(s, f)
        .context("spawning a thread")
}

/// A `Room` moved into a new MAP_SHARED anonymous mapping, unmapped on drop: parent and
/// children forked afterwards all see the same page.
#[cfg(target_os = "linux")]
struct Shared {
    ptr: std::ptr::NonNull<Room>,
}

#[cfg(target_os = "linux")]
impl Shared {
    fn new(room: Room) -> Result<Self> {
        let len =
            std::num::NonZeroUsize::new(size_of::<Room>()).expect("Room is not empty");
        let prot = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
        // SAFETY: a new mapping at an address the kernel picks overlaps no existing Rust object.
        let ptr = unsafe { mmap_anonymous(None, len, prot, MapFlags::MAP_SHARED) }
            .context("mmap()")?
            .cast::<Room>();
        // SAFETY: the mapping is fresh, writable, page-aligned and large enough for a Room.
        unsafe { ptr.write(room) };
        Ok(Shared { ptr })
    }
}

#[cfg(target_os = "linux")]
impl std::ops::Deref for Shared {
    type Target = Room;
    fn deref(&self) -> &Room {
        // SAFETY: initialised in `new`, mapped until drop, and only shared references (to
        // atomics) are ever handed out.
        unsafe { self.ptr.as_ref() }
    }
}

#[cfg(target_os = "linux")]
impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: mapped by `new` with this size; borrows of `self` have ended. Room has no
        // destructor to run.
        let _ = unsafe { munmap(self.ptr.cast(), size_of::<Room>()) };
    }
}
