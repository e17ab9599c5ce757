//! Removing the queue on every way out the program can catch: a guard for the ways that
//! unwind (`?`, a panic), a signal handler for the signals that usually end a program.

use std::ffi::{CString, c_int};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

use anyhow::{Context, Result, ensure};
use nix::mqueue::mq_unlink;
use nix::sys::signal::{SIGHUP, SIGINT, SIGPIPE, SIGTERM};
use nix::sys::signal::{
    SaFlags, SigAction, SigHandler, SigSet, Signal, raise, sigaction,
};
use nix::unistd::{Pid, getpid};

// ANCHOR: unlink-guard
/// Whether this run created the queue: a queue of that name it did not create (one left
/// by a killed earlier run that had our pid) is not its to remove.
pub static CREATED: AtomicBool = AtomicBool::new(false);

/// Removes the queue's name when dropped, if this run created it: after an error
/// returned with `?`, during a panic, and after success (then the name is gone already:
/// ENOENT, which is fine).
pub struct UnlinkOnDrop(pub String);

impl Drop for UnlinkOnDrop {
    fn drop(&mut self) {
        if CREATED.load(SeqCst) {
            let _ = mq_unlink(self.0.as_str());
        }
    }
}
// ANCHOR_END: unlink-guard

// ANCHOR: unlink-on-signals
/// The queue's name, and the process that removes it, for the signal handler.
static QUEUE: OnceLock<(CString, Pid)> = OnceLock::new();

/// From now on SIGINT (Ctrl-C), SIGTERM (`kill`), SIGHUP (the terminal closed) and
/// SIGPIPE (no reader left for our output) remove the queue first, then end the process
/// as before. A signal the caller ignores (`nohup`, a background job) stays ignored.
pub fn unlink_on_signals(name: &str) -> Result<()> {
    let owner = (CString::new(name).context("queue name")?, getpid());
    ensure!(QUEUE.set(owner).is_ok(), "unlink_on_signals called twice");
    let handler = SigHandler::Handler(unlink_then_die);
    let action = SigAction::new(handler, SaFlags::SA_RESETHAND, SigSet::empty());
    for signal in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] {
        // SAFETY: the handler reads `QUEUE`, set before this call, and `CREATED`, an
        // atomic, and makes only system calls, which take no lock: getpid, mq_unlink
        // (glibc hands it straight to the kernel) and raise.
        let before = unsafe { sigaction(signal, &action) }.context("sigaction()")?;
        if matches!(before.handler(), SigHandler::SigIgn) {
            // SAFETY: puts back what was there: SIG_IGN runs no code.
            unsafe { sigaction(signal, &before) }.context("sigaction()")?;
        }
    }
    Ok(())
}

extern "C" fn unlink_then_die(signal: c_int) {
    // Not in the forked sender: it must leave the queue to its parent.
    if let Some((name, owner)) = QUEUE.get()
        && getpid() == *owner
        && CREATED.load(SeqCst)
    {
        let _ = mq_unlink(name.as_c_str());
    }
    // SA_RESETHAND has put back the default action, so the signal raised again ends the
    // process as if there had been no handler (once this handler returns).
    if let Ok(signal) = Signal::try_from(signal) {
        let _ = raise(signal);
    }
}
// ANCHOR_END: unlink-on-signals
