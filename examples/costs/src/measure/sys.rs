//! Small safe wrappers the measurements share: forked children that are always reaped,
//! CPU pinning that is always undone, memory mappings that are always unmapped, and
//! waiting on shared memory.

use std::ffi::CStr;
use std::num::NonZeroUsize;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::sys::mman::{
    MapFlags, MmapAdvise, ProtFlags, madvise, mmap_anonymous, munmap,
};
use nix::sys::signal::{Signal, kill};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, getpid};

/// A forked child that is killed and reaped if nobody waited for it: no zombie, ever.
pub struct Child {
    pid: Option<Pid>,
}

impl Child {
    pub fn pid(&self) -> Pid {
        self.pid.expect("a child that was not yet reaped")
    }

    /// Waits for the child and fails unless it exited with status 0.
    pub fn wait(mut self) -> Result<()> {
        let pid = self.pid.take().expect("waited once");
        match waitpid(pid, None).context("waitpid()")? {
            WaitStatus::Exited(_, 0) => Ok(()),
            other => bail!("child pid {pid} ended badly: {other:?}"),
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.take() {
            // Only on an error path: the child may be blocked forever, so kill it
            // first.
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
    }
}

/// Forks a child that runs `body` and exits with its return value.
///
/// `body` runs in a copy of this process that has only the calling thread, so it must
/// restrict itself to async-signal-safe work: raw system calls, atomics, copying
/// memory. No allocation, no locks, no printing. Buffers it needs are allocated before
/// the fork.
pub fn fork_child(body: impl FnOnce() -> i32) -> Result<Child> {
    let parent = getpid();
    // SAFETY: the child only runs `body`, whose contract above keeps it
    // async-signal-safe, then calls `_exit`, so it never returns into code that assumes
    // the parent's other threads or locks. The parent side is an ordinary return.
    match unsafe { fork() }.context("fork()")? {
        ForkResult::Child => {
            // SAFETY: prctl, getppid and _exit are async-signal-safe system calls.
            unsafe {
                // Die with the parent: if it is killed mid-measurement, no child spins
                // on.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
                if libc::getppid() != parent.as_raw() {
                    libc::_exit(1);
                }
            }
            // A panic must not unwind into the parent's code in this copy of the
            // process.
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body))
                .unwrap_or(101);
            // SAFETY: `_exit` ends the child without running the parent's exit handlers
            // or flushing stdio buffers it copied from the parent.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => Ok(Child { pid: Some(child) }),
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
        let mut parts: Vec<String> = Vec::new();
        let mut i = 0;
        while i < self.allowed.len() {
            let start = self.allowed[i];
            let mut end = start;
            while i + 1 < self.allowed.len() && self.allowed[i + 1] == end + 1 {
                i += 1;
                end += 1;
            }
            parts.push(if start == end {
                start.to_string()
            } else {
                format!("{start}-{end}")
            });
            i += 1;
        }
        parts.join(",")
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

/// An anonymous memory mapping, unmapped on drop.
pub struct Mapping {
    ptr: NonNull<libc::c_void>,
    len: usize,
}

impl Mapping {
    /// `shared`: MAP_SHARED, so a forked child sees the same pages (writes included);
    /// otherwise MAP_PRIVATE (copy-on-write after fork). Zero-filled.
    pub fn new(len: usize, shared: bool) -> Result<Mapping> {
        let flags = if shared {
            MapFlags::MAP_SHARED
        } else {
            MapFlags::MAP_PRIVATE
        };
        let size = NonZeroUsize::new(len).context("mmap(): zero length")?;
        // SAFETY: a fresh anonymous mapping at an address the kernel chooses cannot
        // overlap any memory Rust already uses.
        let ptr = unsafe {
            mmap_anonymous(
                None,
                size,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                flags,
            )
        }
        .with_context(|| format!("mmap({len} bytes)"))?;
        Ok(Mapping { ptr, len })
    }

    /// Opts out of transparent huge pages, so the mapping is made of 4 KiB pages: the
    /// kind of memory whose page tables fork must copy entry by entry.
    pub fn no_huge_pages(&self) -> Result<()> {
        // SAFETY: the range is exactly this mapping; the advice does not change its
        // contents.
        unsafe { madvise(self.ptr, self.len, MmapAdvise::MADV_NOHUGEPAGE) }
            .context("madvise(MADV_NOHUGEPAGE)")
    }

    pub fn as_mut_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr().cast()
    }

    pub fn len(&self) -> usize {
        self.len
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping came from mmap with this length and nothing refers to it
        // after the owner drops it.
        let _ = unsafe { munmap(self.ptr, self.len) };
    }
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
