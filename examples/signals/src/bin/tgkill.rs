//! `tgkill` sends a signal to one thread. Each thread has its own signal mask: while
//! the target blocks the signal, it stays pending for that thread alone, even though
//! another thread does not block it. The handler, installed by the main thread, runs in
//! the target.

use std::ffi::c_int;
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering::SeqCst};
use std::sync::mpsc;
use std::thread;

use anyhow::{Context, Result, anyhow, ensure};
use example_support::proc::status_field;
use nix::errno::Errno;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::unistd::{Pid, getpid, gettid};

fn main() -> ExitCode {
    example_support::main!(run)
}

static HANDLED_BY: AtomicI32 = AtomicI32::new(0);

extern "C" fn record_thread(_signal: c_int) {
    // Only async-signal-safe work in a handler: a system call and an atomic store.
    HANDLED_BY.store(gettid().as_raw(), SeqCst);
}

// ANCHOR: status
/// Whether SIGUSR1 is in a mask line of a thread's /proc status (`SigBlk`, `SigPnd`).
fn has_usr1(tid: Pid, line: &str) -> Result<bool> {
    let status = format!("/proc/self/task/{tid}/status");
    let mask = u64::from_str_radix(&status_field(&status, line)?, 16)?;
    Ok(mask & 1 << (Signal::SIGUSR1 as u32 - 1) != 0)
}
// ANCHOR_END: status

fn run() -> Result<()> {
    let main_tid = gettid();
    println!("Main thread, tid {main_tid}: installs a handler for SIGUSR1");
    let action = SigAction::new(
        SigHandler::Handler(record_thread),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler is async-signal-safe (see `record_thread`).
    unsafe { sigaction(Signal::SIGUSR1, &action) }.context("sigaction")?;
    SigSet::from(Signal::SIGUSR1).thread_unblock()?; // whatever we inherited

    let (pending, target) = thread::scope(|s| -> Result<_> {
        let (tid_tx, tid_rx) = mpsc::channel();
        let (go, wait_for_go) = mpsc::channel::<()>();
        // ANCHOR: target
        let target = thread::Builder::new()
            .spawn_scoped(s, move || -> Result<()> {
                SigSet::from(Signal::SIGUSR1).thread_block()?; // this thread only
                tid_tx.send(gettid())?;
                let _ = wait_for_go.recv();
                SigSet::empty().suspend().context("sigsuspend")
            })
            .context("spawning a thread")?;
        // ANCHOR_END: target
        let tid = tid_rx.recv();
        let pending = match tid {
            Ok(tid) => send_to(main_tid, tid),
            Err(_) => Ok(false),
        };
        drop(go); // the target may unblock it now
        target
            .join()
            .map_err(|_| anyhow!("the target thread panicked"))??;
        Ok((pending?, tid?))
    })?;
    let handled_by = HANDLED_BY.load(SeqCst);
    ensure!(pending, "the signal was not pending for the target alone");
    ensure!(handled_by == target.as_raw(), "another thread handled it");
    println!("Once it unblocked SIGUSR1, the handler ran in tid {handled_by}");
    println!(
        "tgkill picked the thread; a mask blocks a signal for its own thread only."
    );
    Ok(())
}

/// Sends SIGUSR1 to the thread `tid`, which blocks it; whether it is pending for that
/// thread alone, not handled by the main thread.
fn send_to(main_tid: Pid, tid: Pid) -> Result<bool> {
    // ANCHOR: tgkill
    for (who, t) in [("Main thread", main_tid), ("Target thread", tid)] {
        println!(
            "{who}, tid {t}: SIGUSR1 blocked: {}",
            has_usr1(t, "SigBlk")?
        );
    }
    // SAFETY: tgkill(2) only sends a signal; our handler is async-signal-safe.
    let sent = unsafe {
        libc::tgkill(getpid().as_raw(), tid.as_raw(), Signal::SIGUSR1 as c_int)
    };
    Errno::result(sent).context("tgkill")?;
    println!("Main thread: tgkill(pid {}, tid {tid}, SIGUSR1)", getpid());
    let for_thread = has_usr1(tid, "SigPnd")?;
    let for_process = has_usr1(tid, "ShdPnd")?;
    println!("Pending for that thread: {for_thread}; for the process: {for_process}");
    let handled = HANDLED_BY.load(SeqCst) != 0;
    println!("Handled by the main thread, which does not block it: {handled}");
    // ANCHOR_END: tgkill
    Ok(for_thread && !for_process && !handled)
}
