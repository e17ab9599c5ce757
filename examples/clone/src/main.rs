//! A task that shares its parent's memory but is not one of its threads: `clone` with
//! `CLONE_VM` and without `CLONE_THREAD` makes a process with a pid of its own, whose
//! writes land in its parent's memory.

use std::ffi::{c_int, c_void};
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering::SeqCst};

use anyhow::{Context, Result, ensure};
use example_support::child::Child;
use example_support::proc::status_field;
use nix::errno::Errno;
use nix::sys::wait::{Id, WaitPidFlag, waitid};
use nix::unistd::{Pid, getpid};

fn main() -> ExitCode {
    example_support::main!(run)
}

// ANCHOR: child
/// Memory the parent and the new task both use.
struct Shared {
    value: AtomicI32,
    child_pid: AtomicI32,
}

/// What the new task runs, on its own stack but in the parent's address space.
extern "C" fn child_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` points to the parent's `Shared`, which outlives this task.
    let shared = unsafe { &*arg.cast::<Shared>() };
    shared.child_pid.store(getpid().as_raw(), SeqCst);
    shared.value.store(42, SeqCst);
    0 // the task's exit status
}
// ANCHOR_END: child

fn run() -> Result<()> {
    // ANCHOR: clone
    let shared = Shared {
        value: AtomicI32::new(0),
        child_pid: AtomicI32::new(0),
    };
    println!(
        "Parent: pid {}, value = {}",
        getpid(),
        shared.value.load(SeqCst)
    );

    let mut stack = vec![0_u128; 4096]; // 64 KiB, 16-byte aligned
    let stack_top = stack.as_mut_ptr_range().end.cast::<c_void>();
    let arg = (&raw const shared).cast_mut().cast::<c_void>();
    // SAFETY: the new task runs only `child_main`: two atomic stores and getpid(2). No
    // allocation, no lock, no thread-local: its thread pointer is still ours.
    // `stack` and `shared` outlive it: `child` below reaps it before they are dropped.
    let pid = unsafe {
        libc::clone(child_main, stack_top, libc::CLONE_VM | libc::SIGCHLD, arg)
    };
    let pid = Pid::from_raw(Errno::result(pid).context("clone")?);
    let child = Child::new(pid);
    println!("clone(CLONE_VM | SIGCHLD) created a task with pid {pid}");
    // ANCHOR_END: clone

    // ANCHOR: check
    // Wait until it has exited, but leave it a zombie: /proc still describes it.
    waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT)
        .context("waitid")?;
    let status = format!("/proc/{pid}/status");
    let tgid = status_field(&status, "Tgid")?;
    let child_pid = shared.child_pid.load(SeqCst);
    ensure!(
        child_pid == pid.as_raw() && pid != getpid(),
        "the child has no pid of its own"
    );
    ensure!(
        tgid == pid.to_string(),
        "the child joined thread group {tgid}"
    );
    println!(
        "The child's getpid() returned pid {child_pid}; its thread group: Tgid {tgid}"
    );
    let value = shared.value.load(SeqCst);
    println!("Parent: value = {value}, written by the child");
    child.wait()?;
    println!("waitpid: the child exited with status 0");
    // ANCHOR_END: check

    ensure!(value == 42, "the parent did not see the child's write");
    println!(
        "CLONE_VM without CLONE_THREAD: a separate process that shares our memory."
    );
    Ok(())
}
