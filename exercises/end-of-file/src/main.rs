//! Exercise `end-of-file` (the task is in README.md; `cargo exercises end-of-file` checks
//! it).
//!
//! A child sends three lines through a pipe; the parent reads them until end of file.

use std::fs::File;
use std::io::{self, Read as _, Write as _};
use std::process::ExitCode;

use anyhow::{Context, Result};
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, fork, pipe};

fn main() -> ExitCode {
    example_support::main!(run)
}

// ANCHOR: run
fn run() -> Result<()> {
    let (reader, writer) = pipe().context("pipe")?;
    io::stdout().flush()?;
    // SAFETY: one thread, so the child is a consistent copy of this process.
    match unsafe { fork() }.context("fork")? {
        ForkResult::Child => {
            drop(reader);
            let mut writer = File::from(writer);
            let sent = (1..=3).try_for_each(|n| writeln!(writer, "line {n}"));
            std::process::exit(i32::from(sent.is_err()));
        }
        ForkResult::Parent { child } => {
            let mut text = String::new();
            File::from(reader)
                .read_to_string(&mut text)
                .context("reading the pipe")?;
            waitpid(child, None).context("waitpid")?;
            print!("{text}");
        }
    }
    Ok(())
}
// ANCHOR_END: run
