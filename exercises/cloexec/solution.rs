//! A solution of the exercise `cloexec`: the pipe is made close-on-exec, so the helper
//! program does not get a copy of its write end.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::process::{Command, ExitCode};
use std::thread;

use anyhow::{Context, Result, ensure};
use nix::fcntl::OFlag;
use nix::unistd::pipe2;

fn main() -> ExitCode {
    example_support::main!(run)
}

// ANCHOR: run
fn run() -> Result<()> {
    // New: both ends close on exec, so programs started from here do not inherit them.
    let (reader, writer) = pipe2(OFlag::O_CLOEXEC).context("pipe2")?;
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
