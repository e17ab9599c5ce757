//! Threads share one table of open files: a descriptor number the main thread opened
//! means the same pipe in a second thread, and once that thread has closed it, it is
//! closed for the main thread too.
//!
//! Run it with `cargo run -p threads --bin shared-fds`.

use std::fs::File;
use std::io::{self, Read as _, Write as _};
use std::os::fd::{FromRawFd as _, IntoRawFd as _, OwnedFd};
use std::process::ExitCode;
use std::thread;

use anyhow::{Context, Result, bail, ensure};
use example_support::errno_text;
use example_support::fd::read_descriptor;
use nix::errno::Errno;

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run() -> Result<()> {
    println!("Threads share one table of open files");
    // ANCHOR: shared-fds
    let (reader, mut writer) = io::pipe().context("pipe()")?;
    writer.write_all(b"hello").context("write()")?;
    drop(writer);
    let fd = reader.into_raw_fd(); // from here on, just a number
    println!(
        "main thread:   put \"hello\" in a pipe whose read end is descriptor {fd}"
    );

    let text = thread::scope(|s| {
        let second = thread::Builder::new()
            .spawn_scoped(s, move || -> Result<String> {
                // SAFETY: the main thread gave up its ownership of `fd` (`into_raw_fd`)
                // and uses the number only to show that it was closed: it is ours.
                let mut pipe = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
                let mut text = String::new();
                pipe.read_to_string(&mut text).context("read()")?;
                drop(pipe); // close(fd)
                println!(
                    "second thread: read {text:?} from descriptor {fd}, closed it"
                );
                Ok(text)
            })
            .context("spawning a thread")?;
        second.join().unwrap()
    })?;

    let Err(errno) = read_descriptor(fd) else {
        bail!("descriptor {fd} could still be read after the second thread closed it");
    };
    let refused = errno_text(errno);
    println!("main thread:   reads descriptor {fd} again: refused with {refused}");
    // ANCHOR_END: shared-fds

    ensure!(text == "hello", "the second thread read {text:?}");
    ensure!(
        errno == Errno::EBADF,
        "expected EBADF, got {}",
        errno_text(errno)
    );
    println!("The number meant the same pipe in both threads, and the second thread's");
    println!("close closed it for the main thread too: the threads of a process share");
    println!("one descriptor table.");
    Ok(())
}
