//! `cargo run -p fork --bin offset`: after `fork`, parent and child share each open
//! file description, and with it the file offset: a write by the child moves the
//! parent's offset too, so neither overwrites the other's bytes.

use std::process::ExitCode;

use anyhow::{Context, Result, ensure};
use example_support::child::in_child;
use nix::sys::memfd::{MFdFlags, memfd_create};
use nix::sys::uio::pread;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Whence, fork, getpid, lseek, write};

fn main() -> ExitCode {
    example_support::main!(run)
}

// ANCHOR: fork-fd-offset
fn run() -> Result<()> {
    // An anonymous in-memory file: in no directory, gone with its last descriptor.
    let file =
        memfd_create("fork-demo", MFdFlags::MFD_CLOEXEC).context("memfd_create")?;
    let me = getpid();
    write(&file, b"parent\n").context("write")?;
    let at = lseek(&file, 0, Whence::SeekCur).context("lseek")?;
    println!("parent pid {me}: wrote the line \"parent\", offset now {at}");

    // SAFETY: this program has one thread, so the child may run ordinary Rust code.
    match unsafe { fork() }.context("fork")? {
        // `in_child` runs the closure, then ends the child with `std::process::exit`.
        ForkResult::Child => in_child("offset", "child", || {
            // The child's `file` is a copy of the descriptor, but it refers to the same
            // open file description in the kernel, and the offset lives there.
            write(&file, b"child\n").context("write")?;
            let at = lseek(&file, 0, Whence::SeekCur).context("lseek")?;
            println!(
                "child  pid {}: wrote the line \"child\", offset now {at}",
                getpid()
            );
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
    let at = lseek(&file, 0, Whence::SeekCur).context("lseek")?;
    println!("parent pid {me}: offset now {at}: the child's write moved it");
    write(&file, b"parent again\n").context("write")?;

    let mut bytes = [0; 64];
    let len = pread(&file, &mut bytes, 0).context("pread")?;
    let text = String::from_utf8_lossy(&bytes[..len]);
    let lines: Vec<&str> = text.lines().collect();
    println!("parent pid {me}: the file holds {lines:?}: no line overwritten");
    // ANCHOR_END: fork-fd-offset
    ensure!(at == 13, "expected the parent's offset at 13, found {at}");
    ensure!(
        text == "parent\nchild\nparent again\n",
        "the file holds {text:?}"
    );
    println!("Parent and child moved one shared offset: fork shares open files.");
    Ok(())
}
