//! `cargo run -p pipes --bin pipe-eof`: a reader sees end of file only once no write
//! end of the pipe is open anywhere. The copy of the write end that the parent keeps
//! after `fork` counts too.

use std::fs::File;
use std::io::Write as _;
use std::process::ExitCode;

use anyhow::{Context, Result, ensure};
use example_support::child::in_child;
use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork, getpid, pipe, read};

fn main() -> ExitCode {
    example_support::main!(run)
}

// ANCHOR: pipe-eof
fn run() -> Result<()> {
    let me = getpid();
    let (rx, tx) = pipe().context("pipe()")?;
    // Non-blocking, so that "nothing to read yet" comes back as EAGAIN instead of
    // waiting forever.
    fcntl(&rx, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).context("fcntl()")?;
    println!("parent pid {me}: made a pipe; a child will write to it and exit");

    // SAFETY: this process has one thread, so the child may do what the parent could.
    let child = match unsafe { fork() }.context("fork()")? {
        ForkResult::Child => in_child("pipe-eof", "child", || {
            drop(rx);
            println!("child  pid {}: writes \"last words\" and exits", getpid());
            File::from(tx).write_all(b"last words").context("write()")
        }),
        ForkResult::Parent { child } => child,
    };
    let status = waitpid(child, None).context("waitpid()")?;
    ensure!(status == WaitStatus::Exited(child, 0), "child: {status:?}");
    println!("parent pid {me}: reaped child pid {child}: its write end is closed");
    let mut buf = [0; 64];
    let n = read(&rx, &mut buf).context("read()")?;
    let text = String::from_utf8_lossy(&buf[..n]);
    println!("parent pid {me}: read {text:?}");
    let again = read(&rx, &mut buf);
    ensure!(again == Err(Errno::EAGAIN), "got {again:?}");
    println!(
        "parent pid {me}: read() again: EAGAIN, not EOF: its own write end is open"
    );
    drop(tx); // the copy the parent kept after fork: the last write end
    let last = read(&rx, &mut buf);
    ensure!(last == Ok(0), "got {last:?}");
    println!("parent pid {me}: closed its write end; read() returns 0 bytes: EOF");
    Ok(())
}
// ANCHOR_END: pipe-eof
