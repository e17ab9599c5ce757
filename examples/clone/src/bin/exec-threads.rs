//! `execve` from one thread ends every other thread of the process. This program
//! runs itself again from a second thread; the new program finds itself alone, under
//! the same pid.

use std::os::unix::process::CommandExt as _;
use std::process::{Command, ExitCode};
use std::sync::mpsc;
use std::{env, thread};

use anyhow::{Context, Result, anyhow, ensure};
use example_support::proc::threads;
use nix::unistd::{getpid, gettid};

/// Set for the program after `execve`: the pid the process had before it.
const PID_BEFORE_EXEC: &str = "EXEC_THREADS_PID_BEFORE";

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run() -> Result<()> {
    if let Ok(pid_before) = env::var(PID_BEFORE_EXEC) {
        return after_exec(&pid_before);
    }
    println!("pid {}: {} thread", getpid(), threads()?.len());
    thread::scope(|s| -> Result<()> {
        let mut stops = Vec::new();
        for _ in 0..2 {
            let (stop, stopped) = mpsc::channel::<()>();
            stops.push(stop);
            thread::Builder::new()
                .spawn_scoped(s, move || stopped.recv())
                .context("spawning a thread")?;
        }
        // ANCHOR: exec
        let execer = thread::Builder::new()
            .spawn_scoped(s, || -> Result<()> {
                let count = threads()?.len();
                println!("Thread tid {} calls execve; {count} threads run", gettid());
                let program = env::current_exe().context("finding this program")?;
                let err = Command::new(program)
                    .env(PID_BEFORE_EXEC, getpid().to_string())
                    .exec(); // returns only if execve failed
                Err(err).context("execve")
            })
            .context("spawning a thread")?;
        // ANCHOR_END: exec
        execer.join().map_err(|_| anyhow!("the thread panicked"))?
    })
}

// ANCHOR: after
fn after_exec(pid_before: &str) -> Result<()> {
    let threads = threads()?;
    let (pid, tid) = (getpid(), gettid());
    println!(
        "After execve: pid {pid}, {} thread, tid {tid}",
        threads.len()
    );
    ensure!(pid.to_string() == pid_before, "execve changed the pid");
    ensure!(
        threads == [pid.as_raw() as u32],
        "other threads survived execve"
    );
    ensure!(
        tid == pid,
        "the thread left is not the process's main thread"
    );
    println!("execve ended the other threads; the caller went on as the main thread.");
    Ok(())
}
// ANCHOR_END: after
