//! Creation: a process or thread is created, ends at once, and is waited for.
//! Each function runs `ops` operations and returns the mean time of one, in µs.

use std::ptr;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

pub use super::sys::Page;
use super::sys::{BIN_TRUE, creating, fork_child, small_pages};

fn per_op(start: Instant, ops: u64) -> f64 {
    start.elapsed().as_secs_f64() * 1e6 / ops as f64
}

// ANCHOR: fork-wait
/// fork; the child, once set to die with its parent, calls `_exit(0)`; the parent reaps
/// it with waitpid.
pub fn fork_wait(ops: u64) -> Result<f64> {
    let start = Instant::now();
    for _ in 0..ops {
        let child = fork_child(|| 0)?;
        child.wait()?;
    }
    Ok(per_op(start, ops))
}
// ANCHOR_END: fork-wait

/// argv and envp for /bin/true, built before forking: the child must not allocate.
struct TrueCommand {
    argv: [*const libc::c_char; 2],
    envp: [*const libc::c_char; 1],
}

impl TrueCommand {
    fn new() -> TrueCommand {
        TrueCommand {
            argv: [BIN_TRUE.as_ptr(), ptr::null()],
            envp: [ptr::null()],
        }
    }
}

/// fork, the child replaces itself with /bin/true (execve), the parent reaps it.
pub fn fork_exec(ops: u64) -> Result<f64> {
    let cmd = TrueCommand::new();
    let start = Instant::now();
    for _ in 0..ops {
        let child = fork_child(|| {
            // SAFETY: path, argv and envp are NUL-terminated C strings and
            // null-terminated arrays in this (copied) memory; execve is
            // async-signal-safe.
            unsafe {
                libc::execve(BIN_TRUE.as_ptr(), cmd.argv.as_ptr(), cmd.envp.as_ptr())
            };
            127 // only reached if execve failed
        })?;
        child.wait().context("running /bin/true after fork")?;
    }
    Ok(per_op(start, ops))
}

/// posix_spawn of /bin/true, then waitpid. glibc implements it with clone(CLONE_VM |
/// CLONE_VFORK): the child borrows the parent's memory until it execs, so no page table
/// is copied, however much memory the parent has.
pub fn posix_spawn(ops: u64) -> Result<f64> {
    let cmd = TrueCommand::new();
    let start = Instant::now();
    for _ in 0..ops {
        let mut pid: libc::pid_t = 0;
        // SAFETY: `pid` is a valid out-pointer; path, argv and envp are valid
        // NUL-terminated strings in null-terminated arrays; null file actions and
        // attributes mean the defaults.
        let rc = unsafe {
            libc::posix_spawn(
                &mut pid,
                BIN_TRUE.as_ptr(),
                ptr::null(),
                ptr::null(),
                cmd.argv.as_ptr().cast(),
                cmd.envp.as_ptr().cast(),
            )
        };
        if rc != 0 {
            return creating(Err(Errno::from_raw(rc)), "posix_spawn(/bin/true)");
        }
        match waitpid(Pid::from_raw(pid), None).context("waitpid()")? {
            WaitStatus::Exited(_, 0) => {}
            other => bail!("/bin/true ended badly: {other:?}"),
        }
    }
    Ok(per_op(start, ops))
}

// ANCHOR: thread-spawn
/// std::thread::spawn of an empty closure, then join.
pub fn thread_spawn(ops: u64) -> Result<f64> {
    let start = Instant::now();
    for _ in 0..ops {
        creating(std::thread::Builder::new().spawn(|| {}), "pthread_create()")?
            .join()
            .map_err(|_| anyhow::anyhow!("a spawned thread panicked"))?;
    }
    Ok(per_op(start, ops))
}
// ANCHOR_END: thread-spawn

/// std::thread::scope with one scoped thread: the scope joins it on exit.
pub fn scoped_thread(ops: u64) -> Result<f64> {
    let start = Instant::now();
    for _ in 0..ops {
        std::thread::scope(|s| {
            creating(
                std::thread::Builder::new().spawn_scoped(s, || {}),
                "pthread_create()",
            )
            .map(|_| ())
        })?;
    }
    Ok(per_op(start, ops))
}

// ANCHOR: touch
/// `mib` MiB of private memory with every 4 KiB page written once, so each page has a
/// page-table entry that fork must copy (and mark copy-on-write) for the child.
pub fn touched_memory(mib: u64) -> Result<Vec<Page>> {
    small_pages((mib as usize) << 8)
}
// ANCHOR_END: touch

/// fork + _exit + waitpid while `idle` idle children (in `pause`) exist: one figure
/// per trial.
pub fn fork_wait_with_idle(idle: u64, trials: u32, ops: u64) -> Result<Vec<f64>> {
    // Each guard kills and reaps its idle child when dropped, however we return.
    let mut children = Vec::new();
    for _ in 0..idle {
        children.push(fork_child(|| {
            loop {
                // SAFETY: pause has no preconditions; it sleeps until SIGKILL comes.
                unsafe { libc::pause() };
            }
        })?);
    }
    let samples = super::repeat(trials, || fork_wait(ops));
    drop(children);
    samples
}

/// Thread spawn + join while `idle` threads of this process wait.
pub fn thread_spawn_with_idle(idle: u64, trials: u32, ops: u64) -> Result<Vec<f64>> {
    super::memory::with_idle_threads(idle, || {
        super::repeat(trials, || thread_spawn(ops))
    })
}
