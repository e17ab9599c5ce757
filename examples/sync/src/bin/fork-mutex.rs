//! Why a `std::sync::Mutex` cannot synchronize processes: forked children lock copies
//! of it; and a copy forked while another thread held the lock stays locked for good,
//! since the thread that could unlock it was not copied.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::process::{self, ExitCode};
use std::sync::{Mutex, TryLockError, mpsc};
use std::thread;

use anyhow::{Context, Result, ensure};
use example_support::child::{Child, fork_child};
use example_support::proc::status_field;
use nix::libc;
use nix::unistd::{ForkResult, fork};

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run() -> Result<()> {
    println!("A std::sync::Mutex, locked by 2 forked children one after the other:");
    // ANCHOR: mutex-after-fork
    let counter = Mutex::new(0u32);
    for _ in 0..2 {
        // SAFETY: no other thread runs in this process, so the child may run any code.
        let child = unsafe {
            fork_child("fork-mutex", "child", || {
                let mut value = counter.lock().unwrap();
                *value += 1;
                println!(
                    "  child (pid {}) locked it, added 1: {value}",
                    process::id()
                );
                ensure!(*value == 1, "the child saw another process's increment");
                Ok(())
            })
        }?;
        child.wait()?; // one after the other: were the mutex shared, the second saw 2
    }
    let value = *counter.lock().unwrap();
    // ANCHOR_END: mutex-after-fork
    println!(
        "  parent (pid {}) sees {value}: three processes, three mutexes",
        process::id()
    );
    ensure!(value == 0, "the parent's counter changed");

    println!("Forked while another thread holds the lock:");
    // ANCHOR: lock-owner
    let mutex = Mutex::new(());
    thread::scope(|s| -> Result<()> {
        let (locked_tx, locked) = mpsc::channel();
        let (release, parked) = mpsc::channel::<()>(); // dropped on every early return
        let mutex = &mutex;
        thread::Builder::new()
            .spawn_scoped(s, move || {
                let _guard = mutex.lock().unwrap();
                let _ = locked_tx.send(()); // "I hold the lock"
                let _ = parked.recv(); // and keep it until main says so
            })
            .context("spawning a thread")?;
        locked
            .recv()
            .context("the other thread never took the lock")?;
        // ANCHOR_END: lock-owner
        let threads = status_field("/proc/self/status", "Threads")?;
        println!("  parent: {threads} threads, and the other one holds the lock");

        // ANCHOR: fork-while-locked
        let (mut answer, answer_tx) = io::pipe().context("pipe()")?;
        let (wait, mut done) = io::pipe().context("pipe()")?;
        // SAFETY: the child makes only async-signal-safe calls (below), never returns.
        let pid = match unsafe { fork() }.context("fork()")? {
            ForkResult::Parent { child } => child,
            ForkResult::Child => {
                // Only the thread that called fork exists here, not the lock's owner.
                let blocked = matches!(mutex.try_lock(), Err(TryLockError::WouldBlock));
                let (report, mut byte) = ([u8::from(blocked)], [0u8]);
                // SAFETY: try_lock above is one compare-and-exchange on the lock word;
                // write, read and _exit are async-signal-safe; the buffers live here.
                unsafe {
                    libc::write(answer_tx.as_raw_fd(), report.as_ptr().cast(), 1);
                    libc::read(wait.as_raw_fd(), byte.as_mut_ptr().cast(), 1);
                    libc::_exit(0)
                }
            }
        };
        let child = Child::new(pid); // killed and reaped if an error cuts this short
        drop(answer_tx);
        let mut report = [0];
        answer
            .read_exact(&mut report)
            .context("reading the child's answer")?;
        let child_threads = status_field(&format!("/proc/{pid}/status"), "Threads")?;
        done.write_all(b"!").context("letting the child exit")?;
        child.wait()?;
        ensure!(report == [1], "the child could lock its copy of the mutex");
        // ANCHOR_END: fork-while-locked
        ensure!(
            child_threads == "1",
            "the child runs {child_threads} threads"
        );
        println!("  child (pid {pid}): {child_threads} thread; try_lock: WouldBlock");
        let _ = release.send(()); // the owner unlocks the parent's copy
        Ok(())
    })?;
    ensure!(
        mutex.try_lock().is_ok(),
        "the parent's copy is still locked"
    );
    println!(
        "  parent: the owner unlocked the parent's copy; the child's had no owner left"
    );
    println!("Each process locked its own copy of the mutex, locked or not.");
    Ok(())
}
