//! `cargo run -p pipes --bin pipe-sigpipe`: writing into a pipe that no process can
//! read any more. With SIGPIPE at its default action the kernel's signal ends the
//! writer; with SIGPIPE ignored, the same `write` fails with EPIPE and the writer goes
//! on.

use std::process::ExitCode;

use anyhow::{Context, Result, ensure};
use nix::errno::Errno;
use nix::sys::signal::{SigHandler, Signal, signal};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork, getpid, pipe, write};

fn main() -> ExitCode {
    example_support::main!(run)
}

// ANCHOR: pipe-sigpipe
fn run() -> Result<()> {
    let me = getpid();
    let (rx, tx) = pipe().context("pipe()")?;
    drop(rx); // the only read end: from now on no process can read this pipe
    println!("parent pid {me}: closed the pipe's only read end");

    // SAFETY: this process has one thread, so the child may do what the parent could.
    let child = match unsafe { fork() }.context("fork()")? {
        ForkResult::Child => {
            println!(
                "child  pid {}: SIGPIPE at its default action; writing",
                getpid()
            );
            let _ = write(&tx, b"anyone there?");
            std::process::exit(0); // not reached: SIGPIPE ends the child in write()
        }
        ForkResult::Parent { child } => child,
    };
    let status = waitpid(child, None).context("waitpid()")?;
    let killed = WaitStatus::Signaled(child, Signal::SIGPIPE, false);
    ensure!(
        status == killed,
        "the child was not killed by SIGPIPE: {status:?}"
    );
    println!("parent pid {me}: reaped child pid {child}: killed by SIGPIPE");

    // Rust's runtime sets SIGPIPE to "ignore" before `main` runs; this program's shared
    // `main` put the default back, so that `| head` ends it quietly. Ignore it again:
    // SAFETY: SIG_IGN runs no code of ours in signal context; there is one thread.
    unsafe { signal(Signal::SIGPIPE, SigHandler::SigIgn) }.context("signal()")?;
    let result = write(&tx, b"anyone there?");
    // SAFETY: as above. The default again, for this process's own stdout.
    unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) }.context("signal()")?;
    ensure!(result == Err(Errno::EPIPE), "got {result:?}");
    println!(
        "parent pid {me}: SIGPIPE ignored: write() fails with EPIPE, and we go on"
    );
    Ok(())
}
// ANCHOR_END: pipe-sigpipe
