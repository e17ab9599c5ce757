//! `cargo run -p fork --bin close`: `fork` gives the child a copy of the descriptor
//! table. The child closes its copy of a pipe's read end; the parent's stays open.

use std::io::{self, Read as _, Write as _};
use std::os::fd::AsRawFd as _;
use std::process::ExitCode;

use anyhow::{Context, Result, ensure};
use example_support::child::in_child;
use example_support::errno_text;
use example_support::fd::read_descriptor;
use nix::errno::Errno;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork, getpid};

fn main() -> ExitCode {
    example_support::main!(run)
}

// ANCHOR: fork-close
fn run() -> Result<()> {
    let (mut reader, mut writer) = io::pipe().context("pipe")?;
    writer.write_all(b"hello").context("write")?;
    drop(writer);
    let (me, fd) = (getpid(), reader.as_raw_fd());
    println!(
        "parent pid {me}: put \"hello\" in a pipe whose read end is descriptor {fd}"
    );

    // SAFETY: this program has one thread, so the child may run ordinary Rust code.
    match unsafe { fork() }.context("fork")? {
        ForkResult::Child => in_child("close", "child", || {
            // This closes the child's entry in its copy of the descriptor table.
            drop(reader);
            let after = read_descriptor(fd);
            let refused = |e: &Errno| format!("refused with {}", errno_text(*e));
            let said = after
                .as_ref()
                .map_or_else(refused, |t| format!("read {t:?}"));
            println!(
                "child  pid {}: closed descriptor {fd}; reading it: {said}",
                getpid()
            );
            ensure!(after == Err(Errno::EBADF), "the descriptor is still open");
            Ok(())
        }),
        ForkResult::Parent { child } => {
            let status = waitpid(child, None).context("waitpid")?;
            ensure!(
                status == WaitStatus::Exited(child, 0),
                "the child failed: {status:?}"
            );
        }
    }
    let mut text = String::new();
    reader.read_to_string(&mut text).context("read")?;
    println!("parent pid {me}: read {text:?} from descriptor {fd}: still open here");
    // ANCHOR_END: fork-close
    ensure!(text == "hello", "expected \"hello\", read {text:?}");
    println!(
        "The child closed its own copy only: each process has its own descriptor table."
    );
    Ok(())
}
