//! The threads of a process share one descriptor table, until one of them calls
//! `unshare(CLONE_FILES)`: then it has a copy of its own, and a file it opens
//! afterwards does not exist for the other threads.

use std::io::Write as _;
use std::os::fd::AsRawFd as _;
use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;

use anyhow::{Context, Result, anyhow, ensure};
use example_support::fd::{outcome, read_descriptor};
use nix::errno::Errno;
use nix::sched::{CloneFlags, unshare};
use nix::unistd::getpid;

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run() -> Result<()> {
    println!("pid {}: all threads share one descriptor table", getpid());
    let main_read = thread::scope(|s| -> Result<_> {
        let (fd_tx, fd_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        // ANCHOR: thread
        let loner = thread::Builder::new()
            .spawn_scoped(s, move || -> Result<()> {
                unshare(CloneFlags::CLONE_FILES).context("unshare(CLONE_FILES)")?;
                let (reader, mut writer) = std::io::pipe().context("pipe")?;
                writer.write_all(b"hello")?;
                let fd = reader.as_raw_fd();
                println!("Thread: unshare(CLONE_FILES), then a new pipe: fd {fd}");
                fd_tx.send(fd)?;
                let _ = done_rx.recv(); // the main thread has tried it
                let read = read_descriptor(fd);
                println!("Thread: read fd {fd}: {}", outcome(&read));
                ensure!(
                    read == Ok("hello".into()),
                    "the thread cannot read its own pipe"
                );
                Ok(())
            })
            .context("spawning a thread")?;
        // ANCHOR_END: thread
        // ANCHOR: main
        let main_read = fd_rx.recv().map(|fd| {
            let read = read_descriptor(fd);
            println!("Main thread: read fd {fd}: {}", outcome(&read));
            read
        });
        // ANCHOR_END: main
        drop(done_tx);
        loner.join().map_err(|_| anyhow!("the thread panicked"))??;
        main_read.context("the thread sent no descriptor")
    })?;
    ensure!(
        main_read == Err(Errno::EBADF),
        "the main thread could use the other table's fd"
    );
    println!("After unshare(CLONE_FILES) the thread's new descriptors are its own.");
    Ok(())
}
