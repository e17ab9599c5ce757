//! Small safe wrappers the measurements share: forking a child that runs only
//! async-signal-safe code (reaped by example-support's [`Child`] guard), CPU pinning that
//! is always undone, memory in 4 KiB pages, waiting on shared memory, and errors that
//! name the limit that refused a new task.

use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
pub use example_support::child::Child;
use example_support::mapping::Zeroed;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::sys::mman::{MmapAdvise, madvise};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
use nix::unistd::{ForkResult, Pid, fork};

/// Forks a child that runs `body` and exits with its return value.
///
/// `body` runs in a copy of this process that has only the calling thread, so it must
/// restrict itself to async-signal-safe work: raw system calls, atomics, copying
/// memory. No allocation, no locks, no printing. Buffers it needs are allocated before
/// the fork. Before `body`, the child dies with its parent: example-support's fork
/// handler, which runs in every child, sets `PR_SET_PDEATHSIG` and checks `getppid`.
pub fn fork_child(body: impl FnOnce() -> i32) -> Result<Child> {
    // SAFETY: the child only runs `body`, whose contract above keeps it
    // async-signal-safe, then calls `_exit`, so it never returns into code that assumes
    // the parent's other threads or locks. The parent side is an ordinary return.
    match creating(unsafe { fork() }, "fork()")? {
        ForkResult::Child => {
            // A panic must not unwind into the parent's code in this copy of the
            // process.
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body))
                .unwrap_or(101);
            // SAFETY: `_exit` ends the child without running the parent's exit handlers
            // or flushing stdio buffers it copied from the parent.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => Ok(Child::new(child)),
    }
}

/// A pipe, both ends close-on-exec: (read end, write end).
pub fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).context("pipe2()")
}

/// A connected pair of Unix stream sockets.
pub fn socket_pair() -> Result<(OwnedFd, OwnedFd)> {
    socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("socketpair(AF_UNIX, SOCK_STREAM)")
}

/// Writes all of `buf` to `fd` with raw `write` calls (async-signal-safe). False on
/// error.
pub fn raw_write_all(fd: RawFd, mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        // SAFETY: `buf` is valid for `buf.len()` bytes.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            if Errno::last() == Errno::EINTR {
                continue;
            }
            return false;
        }
        buf = &buf[n as usize..];
    }
    true
}

/// Reads into `buf` with one raw `read` (async-signal-safe): bytes read, 0 at end of
/// file, -1 on error.
pub fn raw_read(fd: RawFd, buf: &mut [u8]) -> isize {
    loop {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 && Errno::last() == Errno::EINTR {
            continue;
        }
        return n;
    }
}

/// Closes a descriptor in a forked child, where the `OwnedFd` copies are never dropped.
pub fn raw_close(fd: RawFd) {
    // SAFETY: called in a forked child on a descriptor it inherited and no longer
    // needs; the parent's `OwnedFd` for it lives in the parent's own copy of memory.
    unsafe { libc::close(fd) };
}

/// Writes all of `buf` (in the parent, with errors that name the call).
pub fn write_all(fd: impl AsFd, mut buf: &[u8]) -> Result<()> {
    while !buf.is_empty() {
        match nix::unistd::write(&fd, buf) {
            Ok(n) => buf = &buf[n..],
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e).context("write()"),
        }
    }
    Ok(())
}

/// Reads exactly `buf.len()` bytes; end of file is an error (the partner went away).
pub fn read_exact(fd: impl AsFd, buf: &mut [u8]) -> Result<()> {
    let mut got = 0;
    while got < buf.len() {
        match nix::unistd::read(&fd, &mut buf[got..]) {
            Ok(0) => bail!("read(): the other end closed early"),
            Ok(n) => got += n,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e).context("read()"),
        }
    }
    Ok(())
}

/// The CPUs this process may use, and pinning to one of them.
pub struct Cpus {
    original: CpuSet,
    allowed: Vec<usize>,
}

impl Cpus {
    pub fn detect() -> Result<Cpus> {
        let original =
            sched_getaffinity(Pid::from_raw(0)).context("sched_getaffinity()")?;
        let allowed: Vec<usize> = (0..CpuSet::count())
            .filter(|&cpu| original.is_set(cpu).unwrap_or(false))
            .collect();
        if allowed.is_empty() {
            bail!("sched_getaffinity(): no CPU in this process's affinity mask");
        }
        Ok(Cpus { original, allowed })
    }

    /// The CPU pinned measurements use: the first one this process may run on.
    pub fn pinned_cpu(&self) -> usize {
        self.allowed[0]
    }

    /// "0-1" or "0,2,5": the CPUs unpinned measurements may use.
    pub fn allowed_list(&self) -> String {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let list = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"));
        list.map_or_else(|| self.allowed[0].to_string(), |l| l.trim().to_string())
    }

    /// Pins the calling thread to [`Cpus::pinned_cpu`] until the guard is dropped.
    /// Threads it spawns and processes it forks meanwhile inherit the pin, so both
    /// sides of a ping-pong share the one CPU.
    pub fn pin(&self) -> Result<Pinned<'_>> {
        let mut one = CpuSet::new();
        one.set(self.pinned_cpu()).context("CpuSet::set")?;
        sched_setaffinity(Pid::from_raw(0), &one).context("sched_setaffinity()")?;
        Ok(Pinned { cpus: self })
    }

    /// Pins (`true`) or leaves the thread free (`false`).
    pub fn pin_if(&self, pinned: bool) -> Result<Option<Pinned<'_>>> {
        if pinned {
            self.pin().map(Some)
        } else {
            Ok(None)
        }
    }
}

/// While alive, the calling thread runs on one CPU only.
pub struct Pinned<'a> {
    cpus: &'a Cpus,
}

impl Drop for Pinned<'_> {
    fn drop(&mut self) {
        let _ = sched_setaffinity(Pid::from_raw(0), &self.cpus.original);
    }
}

/// Memory in 4 KiB pages: a `Vec<Page>` is page-aligned.
#[derive(Clone, Copy)]
#[repr(C, align(4096))]
pub struct Page(pub [u8; 4096]);

/// `pages` pages of private memory, each written once, in 4 KiB pages: transparent
/// huge pages are turned off for them (`MADV_NOHUGEPAGE`) before the first write, so
/// every page has its own page-table entry, as in most programs' heaps.
pub fn small_pages(pages: usize) -> Result<Vec<Page>> {
    let mut memory: Vec<Page> = Vec::new();
    memory
        .try_reserve_exact(pages)
        .with_context(|| format!("allocating {} KiB", pages * 4))?;
    if let Some(start) = NonNull::new(memory.as_mut_ptr().cast::<libc::c_void>())
        && pages > 0
    {
        // SAFETY: the range is exactly the vector's page-aligned allocation; the advice
        // does not change its contents.
        unsafe {
            madvise(
                start,
                pages * size_of::<Page>(),
                MmapAdvise::MADV_NOHUGEPAGE,
            )
        }
        .context("madvise(MADV_NOHUGEPAGE)")?;
    }
    memory.resize(pages, Page([1; 4096]));
    Ok(memory)
}

/// Checks before `wait_for` starts yielding: a few microseconds, about what a partner
/// running on another CPU needs to answer. Spinning longer only burns the time slice of
/// a partner that waits on the same CPU.
const SPINS: u32 = 200;

/// How long a task waits on shared memory for its partner before giving up.
const PARTNER_TIMEOUT: Duration = Duration::from_secs(30);

/// Waits until `ready()` holds: spins briefly (the partner is usually running on the
/// other CPU), then yields the CPU on each check so a partner on the same CPU can run.
/// Returns false after [`PARTNER_TIMEOUT`] (the partner is gone). Async-signal-safe.
#[inline]
pub fn wait_for(mut ready: impl FnMut() -> bool) -> bool {
    for _ in 0..SPINS {
        if ready() {
            return true;
        }
        std::hint::spin_loop();
    }
    let start = Instant::now();
    loop {
        if ready() {
            return true;
        }
        // SAFETY: sched_yield has no preconditions.
        unsafe { libc::sched_yield() };
        if start.elapsed() > PARTNER_TIMEOUT {
            return false;
        }
    }
}

/// A 64-byte aligned atomic, so two of them never share a cache line.
#[repr(C, align(64))]
pub struct Slot(pub AtomicU64);

// SAFETY: an AtomicU64 of zero bytes holds 0.
unsafe impl Zeroed for Slot {}

impl Slot {
    pub fn load(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
    pub fn store(&self, v: u64) {
        self.0.store(v, Ordering::Release)
    }
}

/// The raw descriptor, for a forked child or a thread that uses raw calls.
pub fn raw(fd: &OwnedFd) -> RawFd {
    fd.as_raw_fd()
}

/// A C string literal for paths handed to exec and posix_spawn.
pub const BIN_TRUE: &CStr = c"/bin/true";

/// `result` with `call` as its context. An `EAGAIN` (a new task refused) is named, with the
/// limit that refused it, by `example_support::one_line` when the error is printed.
pub fn creating<T, E: Into<anyhow::Error>>(
    result: Result<T, E>,
    call: &str,
) -> Result<T> {
    result.map_err(|e| e.into().context(call.to_string()))
}
