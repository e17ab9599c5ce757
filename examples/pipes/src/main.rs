//! `cargo run -p pipes`: a request and a response between two processes, through two
//! pipes.
//!
//! Processes have separate memory, so every byte they exchange goes through the kernel:
//! `write` copies it into the pipe's buffer, `read` copies it out. The pipes are made
//! before `fork`, so the child inherits both ends of each; then each process closes the
//! ends it does not use. The crate's other stories are in `src/bin/`: end of file
//! (`pipe-eof`), a writer without a reader (`pipe-sigpipe`), and the same exchange
//! between two threads (`thread-channel`).

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::os::fd::OwnedFd;
use std::process::ExitCode;

use anyhow::{Context, Result, ensure};
use example_support::child::{Child, in_child};
use nix::fcntl::{FcntlArg, fcntl};
use nix::unistd::{ForkResult, fork, getpid, pipe};

fn main() -> ExitCode {
    example_support::main!(run)
}

// ANCHOR: pipe-helpers
/// Reads until end of file, then closes the read end.
fn read_to_eof(rx: OwnedFd) -> Result<String> {
    let mut text = String::new();
    File::from(rx).read_to_string(&mut text).context("read()")?;
    Ok(text)
}

/// Writes all of `bytes`, then closes the write end.
fn write_and_close(tx: OwnedFd, bytes: &[u8]) -> Result<()> {
    File::from(tx).write_all(bytes).context("write()")
}
// ANCHOR_END: pipe-helpers

// ANCHOR: pipe-request-response
fn run() -> Result<()> {
    let me = getpid();
    let (request_rx, request_tx) = pipe().context("pipe()")?;
    let (response_rx, response_tx) = pipe().context("pipe()")?;
    let capacity = fcntl(&request_rx, FcntlArg::F_GETPIPE_SZ).context("fcntl()")?;
    println!("parent pid {me}: each pipe is a kernel buffer of {capacity} bytes");

    // SAFETY: this process has one thread, so the child may do what the parent could.
    let pid = match unsafe { fork() }.context("fork()")? {
        ForkResult::Child => in_child("pipes", "child", || {
            // The child got copies of all four ends. Close the two it does not use:
            // while any write end of the request pipe is open, even its own, it
            // never sees EOF.
            drop((request_tx, response_rx));
            let request = read_to_eof(request_rx)?;
            println!("child  pid {}: read request {request:?}", getpid());
            write_and_close(response_tx, request.to_uppercase().as_bytes())
        }),
        ForkResult::Parent { child } => child,
    };
    let child = Child::new(pid); // reaped on every way out, errors included
    drop((request_rx, response_tx)); // the parent's copies of the child's ends
    let request = "hello, child";
    println!("parent pid {me}: sending request {request:?} to child pid {pid}");
    write_and_close(request_tx, request.as_bytes())?; // the child reads it, then EOF
    let response = read_to_eof(response_rx)?; // EOF: the child closed its end
    println!("parent pid {me}: got response {response:?}");
    child.wait()?;
    println!("parent pid {me}: reaped child pid {pid}: exited with status 0");
    // ANCHOR_END: pipe-request-response
    ensure!(response == "HELLO, CHILD", "wrong response {response:?}");
    println!("Every byte went through the kernel: copied into a pipe, copied out.");
    Ok(())
}
