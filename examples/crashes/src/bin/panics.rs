//! A Rust panic is not a crash of the process: only the panicking thread unwinds, and
//! `join` returns `Err`. But a thread that panics while holding a `Mutex` poisons it,
//! and the data inside may be half updated.

use std::io::Write as _;
use std::panic;
use std::process::ExitCode;
use std::sync::Mutex;
use std::thread;

use anyhow::{Context, Result, bail, ensure};

fn main() -> ExitCode {
    example_support::main!(run)
}

/// Accounts that must always hold 100 units in total.
struct Accounts {
    alice: u32,
    bob: u32,
}

fn run() -> Result<()> {
    println!(
        "A thread panics: only that thread unwinds, but a mutex it held is poisoned"
    );
    // The default panic message names a file and a line and suggests RUST_BACKTRACE;
    // the two threads below print one plain line instead, the same on every run.
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        match thread::current().name() {
            Some(name @ ("parser" | "transfer")) => {
                let message = info.payload_as_str().unwrap_or("(no message)");
                // A panic hook must not panic: ignore a failed write.
                let _ = writeln!(
                    std::io::stdout(),
                    "  thread '{name}' panicked: {message}"
                );
            }
            _ => default_hook(info),
        }
    }));

    // ANCHOR: panic-contained
    let joined = thread::scope(|s| -> Result<_> {
        let handle = thread::Builder::new()
            .name("parser".into())
            .spawn_scoped(s, || {
                let age: u32 = "forty-two".parse().expect("an age in digits"); // panics
                age
            })
            .context("spawning a thread")?;
        Ok(handle.join()) // Err(payload): the thread panicked
    })?;
    ensure!(joined.is_err(), "the parser thread did not panic");
    println!("  main thread: join() returned Err; the panic ended only that thread");
    // ANCHOR_END: panic-contained

    // ANCHOR: poison
    let accounts = Mutex::new(Accounts { alice: 100, bob: 0 });
    let joined = thread::scope(|s| -> Result<_> {
        let handle = thread::Builder::new()
            .name("transfer".into())
            .spawn_scoped(s, || {
                let mut books = accounts.lock().unwrap();
                books.alice -= 50; // the money leaves Alice's account...
                let fee: u32 = "2%".parse().expect("a fee in whole units"); // panics...
                books.bob += 50 - fee; // ...so it never reaches Bob's
            })
            .context("spawning a thread")?;
        Ok(handle.join())
    })?;
    ensure!(joined.is_err(), "the transfer thread did not panic");
    let books = match accounts.lock() {
        Ok(_) => bail!("the mutex is not poisoned"),
        Err(poisoned) => {
            println!(
                "  main thread: lock() returned Err(PoisonError): the mutex is poisoned"
            );
            poisoned.into_inner() // the guard, and with it the data, all the same
        }
    };
    let total = books.alice + books.bob;
    println!(
        "  main thread: inside it: alice {}, bob {}, total {total}",
        books.alice, books.bob
    );
    // ANCHOR_END: poison
    ensure!(
        total == 50,
        "the books hold {total}, expected the half-done 50"
    );
    println!("The transfer stopped halfway: 50 of the 100 units are gone, and the");
    println!(
        "process still runs; the poison is how Rust warns that the data may be broken."
    );
    Ok(())
}
