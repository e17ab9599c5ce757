//! A counting semaphore made of a `Mutex` and a `Condvar` (std has none): at most
//! `limit` of `workers` threads hold a permit at once.

use std::process::ExitCode;
use std::sync::{Condvar, Mutex, PoisonError};
use std::thread;

use anyhow::{Context, Result, ensure};
use clap::Parser;
use sync::Room;

/// Threads limited by a semaphore made of a Mutex and a Condvar.
#[derive(Parser)]
struct Args {
    /// Permits: how many workers may be inside at once.
    #[arg(long, default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=16))]
    limit: u32,
    /// Worker threads competing for the permits.
    #[arg(long, default_value_t = 6,
          value_parser = clap::value_parser!(u32).range(1..=32))]
    workers: u32,
}

// ANCHOR: semaphore
/// `acquire` sleeps until a permit is free and takes it; dropping the `Permit` puts it
/// back and wakes one sleeper.
struct Semaphore {
    free: Mutex<u32>,
    returned: Condvar,
}

struct Permit<'a>(&'a Semaphore);

impl Semaphore {
    fn new(permits: u32) -> Self {
        let free = Mutex::new(permits);
        Semaphore {
            free,
            returned: Condvar::new(),
        }
    }

    fn acquire(&self) -> Permit<'_> {
        let free = self.free.lock().unwrap();
        let mut free = self.returned.wait_while(free, |f| *f == 0).unwrap();
        *free -= 1;
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.0.returned.notify_one();
    }
}
// ANCHOR_END: semaphore

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run(Args { limit, workers }: Args) -> Result<()> {
    println!("{workers} threads take a permit each from a semaphore of {limit}:");
    // ANCHOR: thread-limit
    let semaphore = Semaphore::new(limit);
    let room = Room::default(); // counts who is inside, and the most at once
    room.expect(workers);
    thread::scope(|s| {
        for started in 0..workers {
            let spawned = thread::Builder::new().spawn_scoped(s, || {
                let _permit = semaphore.acquire();
                room.visit(limit);
            }); // the permit is returned here, when `_permit` is dropped
            if let Err(err) = spawned {
                room.expect(started); // the others must not wait for the missing ones
                return Err(err).context("spawning a thread");
            }
        }
        Ok(())
    })?;
    // ANCHOR_END: thread-limit
    let peak = room.peak();
    println!("  at most {peak} inside at once");
    ensure!(peak == limit.min(workers), "{peak} inside at once");
    println!(
        "Never more threads inside than permits, and the room was full every time."
    );
    Ok(())
}
