//! A supervisor with three worker processes. One job makes worker 2 crash; the
//! supervisor sees it die, starts a new worker 2, and workers 1 and 3 carry on,
//! untouched.
//!
//! Run it with `cargo run -p supervisor --bin restart`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{ChildStdin, ChildStdout, ExitCode};

use anyhow::{Context, Result, ensure};
use nix::sys::signal::Signal::SIGABRT;
use supervisor::{Worker, start_worker, worker};

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

/// A running worker and the two ends of its pipes.
struct Running {
    process: Worker,
    jobs: ChildStdin,
    answers: BufReader<ChildStdout>,
}

fn start() -> Result<Running> {
    let mut process = start_worker()?;
    let jobs = process.stdin.take().expect("piped stdin");
    let answers = BufReader::new(process.stdout.take().expect("piped stdout"));
    Ok(Running {
        process,
        jobs,
        answers,
    })
}

// ANCHOR: ask
/// Sends one job; returns the answer, or `None` if the worker died instead of answering
/// (its end of the pipe closed: end of file).
fn ask(worker: &mut Running, job: &str) -> Result<Option<String>> {
    writeln!(worker.jobs, "{job}").context("sending a job")?;
    let mut answer = String::new();
    let read = worker.answers.read_line(&mut answer).context("reading")?;
    Ok((read > 0).then(|| answer.trim().to_owned()))
}
// ANCHOR_END: ask

fn run() -> Result<()> {
    // ANCHOR: supervise
    println!("The supervisor starts 3 workers, each a process of its own.");
    let mut workers = Vec::new();
    for _ in 0..3 {
        workers.push(start()?);
    }
    let first_pids: Vec<u32> = workers.iter().map(|w| w.process.id()).collect();
    let rounds = [["3", "crash", "5"], ["6", "7", "8"]];
    for (round, jobs) in rounds.iter().enumerate() {
        println!("Round {}:", round + 1);
        for (i, job) in jobs.iter().enumerate() {
            let w = &mut workers[i];
            if let Some(answer) = ask(w, job)? {
                println!(
                    "  worker {} (pid {}): {job}² = {answer}",
                    i + 1,
                    w.process.id()
                );
                continue;
            }
            let status = w.process.wait().context("waitpid")?; // reap the dead one
            ensure!(
                status.signal() == Some(SIGABRT as i32),
                "unexpected: {status}"
            );
            let pid = w.process.id();
            let why = "the job \"crash\" aborts it on purpose";
            println!(
                "  worker {} (pid {pid}) was killed by SIGABRT: {why}",
                i + 1
            );
            *w = start()?; // the old one is reaped: replacing it leaves nothing behind
            println!("  restarted worker {} as pid {}", i + 1, w.process.id());
        }
    }
    // ANCHOR_END: supervise

    // ANCHOR: check
    for (i, mut w) in workers.into_iter().enumerate() {
        let pid = w.process.id();
        drop(w.jobs); // end of input: the worker finishes and exits
        let status = w.process.wait().context("waitpid")?;
        ensure!(status.success(), "worker {} ended with {status}", i + 1);
        let same = pid == first_pids[i];
        ensure!(same == (i != 1), "only worker 2 should have been replaced");
        println!("worker {}: pid {pid}, {status}", i + 1);
    }
    println!("Worker 2 crashed and was replaced; workers 1 and 3 never noticed.");
    // ANCHOR_END: check
    Ok(())
}
