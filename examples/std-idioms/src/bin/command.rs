//! `cargo run -p std-idioms --bin command`: starting another program with
//! `std::process::Command`, the way a Rust program creates a process.
//!
//! 1. Run a program to completion, its output read through a pipe (`Stdio::piped`), and
//!    look at its exit status.
//! 2. Start one that would wait forever, `kill` it, and `wait` for it: the status says which
//!    signal ended it. (It prints only once the child is reaped: a program ended by SIGPIPE
//!    while printing must not leave a child running.)

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, Result, ensure};

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run() -> Result<()> {
    println!("1. Run a program and read its output:");
    // ANCHOR: output
    let output = Command::new("sh")
        .args(["-c", "echo hello from pid $$; exit 3"])
        .stdout(Stdio::piped())
        .output() // spawns, reads stdout to the end, waits
        .context("spawning sh")?;
    let text = String::from_utf8_lossy(&output.stdout);
    println!("  child said: {}", text.trim_end());
    println!("  child exit status: {:?}", output.status.code());
    // ANCHOR_END: output
    ensure!(output.status.code() == Some(3), "sh should exit 3");

    println!("2. Start a program, kill it, wait for it:");
    // ANCHOR: kill
    let mut child = Command::new("cat") // waits for input that never comes
        .stdin(Stdio::piped()) // (and ends at end of file, should we die first)
        .stdout(Stdio::piped())
        .spawn()
        .context("spawning cat")?;
    let pid = child.id();
    child.kill().context("kill")?; // SIGKILL
    let status = child.wait().context("wait")?; // reaps it: no zombie
    println!(
        "  started pid {pid}, killed it; it ended by signal {:?}",
        status.signal()
    );
    let mut rest = String::new();
    child.stdout.take().unwrap().read_to_string(&mut rest)?;
    // ANCHOR_END: kill
    ensure!(status.signal() == Some(9), "cat should die of SIGKILL");
    ensure!(rest.is_empty(), "cat printed {rest:?}");
    println!("Command spawns, pipes, waits and kills; the child is always reaped.");
    Ok(())
}
