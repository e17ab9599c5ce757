//! A process can be stopped from outside: wait for a worker with a time limit, and kill
//! it when it overruns. Both workers run this same program with `--worker`.
//!
//! Run it with `cargo run -p supervisor`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use nix::sys::signal::Signal::SIGKILL;
use supervisor::{start_worker, wait_timeout, worker};

fn main() -> ExitCode {
    // The workers are this same program, started again with `--worker`.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|arg| arg == "--worker")
    {
        return example_support::main_with_args("worker", worker);
    }
    example_support::main!(run)
}

fn run() -> Result<()> {
    // ANCHOR: in-time
    println!("Worker 1 gets a job, answers it, and ends when its stdin is closed.");
    let mut first = start_worker()?;
    let mut stdin = first.stdin.take().expect("piped stdin");
    writeln!(stdin, "7").context("sending a job")?;
    drop(stdin); // end of input: the worker's loop ends and it exits
    let mut answer = String::new();
    let stdout = first.stdout.take().expect("piped stdout");
    BufReader::new(stdout)
        .read_line(&mut answer)
        .context("reading the answer")?;
    println!("  pid {} answered 7² = {}", first.id(), answer.trim());
    let status = wait_timeout(&mut first, Duration::from_secs(10))?;
    let status = status.context("worker 1 still runs after 10 s")?;
    println!("  waited (at most 10 s) and reaped: {status}");
    ensure!(status.success(), "worker 1 did not end well");
    // ANCHOR_END: in-time

    // ANCHOR: overrun
    println!("Worker 2 gets no job: it blocks reading its stdin, which stays open.");
    let mut second = start_worker()?;
    let limit = Duration::from_millis(200);
    let status = wait_timeout(&mut second, limit)?;
    ensure!(status.is_none(), "worker 2 ended by itself: {status:?}");
    println!(
        "  pid {} still runs after {} ms",
        second.id(),
        limit.as_millis()
    );
    second.kill().context("kill")?; // SIGKILL: it cannot be caught or ignored
    let status = second.wait().context("waitpid")?; // reaps it: no zombie left
    println!("  killed, then reaped: {status}");
    ensure!(
        status.signal() == Some(SIGKILL as i32),
        "worker 2: {status}"
    );
    // ANCHOR_END: overrun
    println!("A process can be stopped from outside, whatever it is doing.");
    Ok(())
}
