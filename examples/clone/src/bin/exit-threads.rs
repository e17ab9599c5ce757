//! `exit` from any thread ends the whole process, and so does returning from `main`:
//! the other threads are not waited for. This program runs itself as a child to watch
//! it.

use std::process::{Command, ExitCode};
use std::sync::mpsc;
use std::{env, thread};

use anyhow::{Context, Result, bail, ensure};

/// Set for the child: which way it ends.
const HOW: &str = "EXIT_THREADS_HOW";

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run() -> Result<()> {
    match env::var(HOW).as_deref() {
        Ok("exit") => return a_thread_exits(),
        Ok("return") => return main_returns(),
        _ => {}
    }
    println!("Running this program again as a child, twice:");
    let program = env::current_exe().context("finding this program")?;
    for (how, code) in [("exit", 3), ("return", 0)] {
        let out = Command::new(&program)
            .env(HOW, how)
            .output()
            .context("spawning the child")?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !stderr.is_empty() {
            bail!("the child failed: {}", stderr.trim());
        }
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            println!("  child | {line}");
        }
        println!("  the child ended: {}", out.status);
        ensure!(out.status.code() == Some(code), "expected exit code {code}");
    }
    println!("One thread's exit, or main's return, ended every thread of the process.");
    Ok(())
}

// ANCHOR: exit
fn a_thread_exits() -> Result<()> {
    println!("main: starts a worker and waits for it in join()");
    let worker = thread::Builder::new()
        .spawn(|| {
            println!("worker: calls std::process::exit(3)");
            std::process::exit(3)
        })
        .context("spawning a thread")?;
    let _ = worker.join();
    bail!("join() returned: the process outlived exit()")
}
// ANCHOR_END: exit

// ANCHOR: return
fn main_returns() -> Result<()> {
    let (started, worker_started) = mpsc::channel();
    thread::Builder::new()
        .spawn(move || {
            println!("worker: started; waits forever");
            let _ = started.send(());
            loop {
                thread::park();
            }
        })
        .context("spawning a thread")?;
    worker_started.recv()?;
    println!("main: returns from main without joining the worker");
    Ok(())
}
// ANCHOR_END: return
