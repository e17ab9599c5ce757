//! The Linux system calls behind part 4: fork a child that reports one number, a barrier for
//! forked children made of pipes, and a counter in a shared anonymous mapping.

use std::ffi::c_void;
use std::io::{self, PipeReader, PipeWriter, Read, Write};
use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;
use std::sync::atomic::AtomicU64;

use anyhow::{Context, Result, bail};
use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

// ANCHOR: fork-child
/// A forked child that runs one closure and sends the number it returns back up a pipe.
pub struct Child {
    pid: Pid,
    result: PipeReader,
    reaped: bool,
}

/// Forks a child that runs `work` in its own copy of this process, then exits.
pub fn fork_child(work: impl FnOnce() -> io::Result<u64>) -> Result<Child> {
    let (result, mut result_writer) = io::pipe().context("pipe()")?;
    // SAFETY: after fork the child may only rely on async-signal-safe calls if other threads
    // existed. The child below only does arithmetic, atomics, read/write on pipes and
    // _exit; and every thread of parts 1 and 2 has been joined, so it has no other thread.
    match unsafe { fork() }.context("fork()")? {
        ForkResult::Child => {
            let value = catch_unwind(AssertUnwindSafe(work));
            let sent = match value {
                Ok(Ok(value)) => result_writer.write_all(&value.to_ne_bytes()).is_ok(),
                _ => false,
            };
            // _exit, not exit: the parent's stdout buffer and exit handlers are not ours.
            // SAFETY: _exit ends this process at once; nothing runs after it.
            unsafe { libc::_exit(if sent { 0 } else { 1 }) }
        }
        ForkResult::Parent { child } => Ok(Child {
            pid: child,
            result,
            reaped: false,
        }),
    }
}

impl Child {
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Reaps the child (no zombie is left) and returns the number it sent.
    pub fn wait(mut self) -> Result<u64> {
        let status = waitpid(self.pid, None).context("waitpid()")?;
        self.reaped = true;
        if status != WaitStatus::Exited(self.pid, 0) {
            bail!("child {} failed: {status:?}", self.pid);
        }
        let mut bytes = [0; 8];
        (&self.result)
            .read_exact(&mut bytes)
            .context("reading the child's result")?;
        Ok(u64::from_ne_bytes(bytes))
    }
}

impl Drop for Child {
    /// Only on an error path (a child that was never waited for): kill and reap it, so
    /// that no child outlives the example.
    fn drop(&mut self) {
        if !self.reaped {
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = waitpid(self.pid, None);
        }
    }
}
// ANCHOR_END: fork-child

// ANCHOR: pipe-barrier
/// A barrier for forked children, made of two pipes: each child writes a byte to `arrived`
/// and blocks reading `release`; the parent reads one byte per child, then writes one byte
/// per child. Threads would use `std::sync::Barrier`; it cannot work across fork.
pub struct PipeBarrier {
    arrived: (PipeReader, PipeWriter),
    release: (PipeReader, PipeWriter),
}

impl PipeBarrier {
    pub fn new() -> Result<Self> {
        Ok(PipeBarrier {
            arrived: io::pipe().context("pipe()")?,
            release: io::pipe().context("pipe()")?,
        })
    }

    /// In a child: say "I am here", then block until the parent releases everyone.
    pub fn arrive_and_wait(&self) -> io::Result<()> {
        (&self.arrived.1).write_all(b"!")?;
        (&self.release.0).read_exact(&mut [0])
    }

    /// In the parent: wait until `children` children have arrived, then release them all.
    pub fn release_when_arrived(&self, children: usize) -> Result<()> {
        (&self.arrived.0)
            .read_exact(&mut vec![0; children])
            .context("read() from the barrier pipe")?;
        (&self.release.1)
            .write_all(&vec![0; children])
            .context("write() to the barrier pipe")
    }
}
// ANCHOR_END: pipe-barrier

// ANCHOR: shared-page
/// A counter in memory that stays shared after fork: an anonymous MAP_SHARED mapping.
pub struct SharedPage {
    ptr: NonNull<c_void>,
}

const LEN: NonZeroUsize = NonZeroUsize::new(size_of::<AtomicU64>()).unwrap();

impl SharedPage {
    pub fn new() -> Result<Self> {
        // SAFETY: a new anonymous mapping at an address the kernel chooses overlaps nothing
        // that Rust owns. The kernel rounds the length up to a whole page, zero-filled.
        let ptr = unsafe {
            mmap_anonymous(
                None,
                LEN,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            )
        }
        .context("mmap()")?;
        Ok(SharedPage { ptr })
    }

    /// The counter at the start of the page (initially 0).
    pub fn counter(&self) -> &AtomicU64 {
        // SAFETY: the page is mapped, readable, writable, page-aligned and zero-filled (a
        // valid AtomicU64 holding 0) for as long as `self` lives, which bounds the returned
        // reference. All access to it goes through atomic operations, in every process.
        unsafe { AtomicU64::from_ptr(self.ptr.as_ptr().cast()) }
    }
}

impl Drop for SharedPage {
    fn drop(&mut self) {
        // SAFETY: the mapping was created in `new` and no reference into it outlives `self`.
        // munmap can fail only for an invalid range, which this one is not.
        let _ = unsafe { munmap(self.ptr, LEN.get()) };
    }
}
// ANCHOR_END: shared-page
