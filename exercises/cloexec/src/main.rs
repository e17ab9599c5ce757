//! Exercise `cloexec` (the task is in README.md; `cargo exercises cloexec` checks it).
//!
//! The program starts a helper program that runs in the background, then collects what a
//! worker thread sends it through a pipe, reading until end of file.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::process::{Command, ExitCode};
use std::thread;

use anyhow::{Context, Result, ensure};
use nix::unistd::pipe;

fn main() -> ExitCode {
    example_support::main!(run)
}

// ANCHOR: run
fn run() -> Result<()> {
    let (reader, writer) = pipe().context("pipe")?;
    // A helper that runs until it is stopped (a log shipper, a language server…).
    let mut helper = Command::new("sleep")
        .arg("infinity")
        .spawn()
        .context("sleep")?;
    let worker = thread::spawn(move || {
        let mut writer = File::from(writer);
        (1..=3).try_for_each(|n| writeln!(writer, "result {n}"))
        // Dropping `writer` here closes the worker's write end.
    });
    let mut results = String::new();
    let read = File::from(reader).read_to_string(&mut results);
    let running = helper.try_wait().context("waitpid")?.is_none();
    ensure!(running, "the helper must still run when the read ends");
    helper.kill().context("kill")?;
    helper.wait().context("wait")?;
    read.context("reading the pipe")?;
    worker.join().expect("the worker does not panic")?;
    print!("{results}");
    Ok(())
}
// ANCHOR_END: run
