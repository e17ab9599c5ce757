//! A counting semaphore between processes: a pipe holding one byte per free permit. At
//! most `limit` of `workers` forked children hold a token at once.

use std::io::{self, PipeReader, PipeWriter, Read, Write};
use std::process::ExitCode;

use anyhow::{Context, Result, ensure};
use clap::Parser;
use example_support::child::fork_child;
use example_support::mapping::Mapping;
use sync::Room;

/// Processes limited by a pipe of tokens.
#[derive(Parser)]
struct Args {
    /// Tokens: how many workers may be inside at once.
    #[arg(long, default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=16))]
    limit: u32,
    /// Worker processes competing for the tokens.
    #[arg(long, default_value_t = 6,
          value_parser = clap::value_parser!(u32).range(1..=32))]
    workers: u32,
}

// ANCHOR: pipe-semaphore
/// Reading a byte takes a permit, and blocks in the kernel while the pipe is empty;
/// writing it back returns the permit and wakes a blocked reader. Children inherit both
/// ends across fork.
struct PipeSemaphore {
    take: PipeReader,
    give: PipeWriter,
}

impl PipeSemaphore {
    fn new(permits: u32) -> Result<Self> {
        let (take, mut give) = io::pipe().context("pipe()")?;
        give.write_all(&vec![b't'; permits as usize])
            .context("write()")?;
        Ok(PipeSemaphore { take, give })
    }

    fn acquire(&self) -> Result<()> {
        (&self.take).read_exact(&mut [0]).context("read()")
    }

    fn release(&self) -> Result<()> {
        (&self.give).write_all(b"t").context("write()")
    }
}
// ANCHOR_END: pipe-semaphore

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run(Args { limit, workers }: Args) -> Result<()> {
    println!("{workers} processes take a token each from a pipe holding {limit}:");
    // ANCHOR: process-limit
    let semaphore = PipeSemaphore::new(limit)?;
    let room = Mapping::<Room>::shared()?; // MAP_SHARED: every process counts here
    room.expect(workers);
    let mut children = Vec::new();
    for _ in 0..workers {
        // SAFETY: no other thread runs in this process, so the child may run any code.
        children.push(unsafe {
            fork_child("pipe-semaphore", "worker", || {
                semaphore.acquire()?;
                room.visit(limit);
                semaphore.release()
            })
        }?); // on an error, dropping `children` kills and reaps the ones started
    }
    for child in children {
        child.wait()?;
    }
    // ANCHOR_END: process-limit
    let peak = room.peak();
    println!("  at most {peak} inside at once");
    ensure!(peak == limit.min(workers), "{peak} inside at once");
    println!(
        "Never more processes inside than tokens, and the room was full every time."
    );
    Ok(())
}
