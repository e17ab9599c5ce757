//! What a crash takes down: a process, or a whole process when one of its threads crashes.
//!
//! 1. Two child processes crash (an invalid memory write: SIGSEGV; `abort()`: SIGABRT). The
//!    parent lives on and reads how each one died from `waitpid`.
//! 2. This same program is run again as a child, in a hidden mode where a second thread writes
//!    to an invalid address while the main thread waits for it: the signal kills the whole
//!    child, main thread included.
//! 3. A Rust panic is not a crash of the process: `join` returns `Err` and the program goes on.
//!    But a thread that panics while holding a `Mutex` poisons it, and the data inside may be
//!    half updated.
//!
//! Run it with `cargo run -p crashes` (Linux only: fork, waitpid, signals, rlimits).

use std::process::ExitCode;

#[cfg(target_os = "linux")]
fn main() -> ExitCode {
    example_support::main("crashes", run)
}

#[cfg(not(target_os = "linux"))]
fn main() -> ExitCode {
    eprintln!("crashes: this example needs Linux");
    ExitCode::FAILURE
}

#[cfg(target_os = "linux")]
use {
    anyhow::{Context, Result, bail, ensure},
    clap::{Parser, ValueEnum},
    example_support::Hygiene,
    nix::errno::Errno,
    nix::sys::prctl::set_dumpable,
    nix::sys::resource::{Resource, setrlimit},
    nix::sys::signal::Signal,
    nix::sys::wait::{WaitStatus, waitpid},
    nix::unistd::{ForkResult, fork, getpid, gettid},
    std::env,
    std::io::{self, Write},
    std::os::unix::process::ExitStatusExt,
    std::panic,
    std::process::{Command, Stdio},
    std::sync::Mutex,
    std::thread,
};

#[cfg(target_os = "linux")]
/// What a crash takes down: a child process, or a whole process when one thread crashes.
#[derive(Parser)]
struct Args {
    /// Run one crash scenario in this process (the example re-runs itself with this).
    #[arg(long, value_enum, hide = true)]
    scenario: Option<Scenario>,
}

#[cfg(target_os = "linux")]
#[derive(Clone, Copy, ValueEnum)]
enum Scenario {
    /// A second thread writes to an invalid address while the main thread waits for it.
    ThreadSegfault,
}

#[cfg(target_os = "linux")]
fn run() -> Result<()> {
    let args = Args::parse();
    if let Some(Scenario::ThreadSegfault) = args.scenario {
        return thread_segfault();
    }
    let hygiene = Hygiene::start()?;

    child_processes_crash()?;
    a_thread_crashes_its_process()?;
    panics_stay_in_their_thread()?;

    hygiene.check()
}

#[cfg(target_os = "linux")]
/// The null address. Nothing is ever mapped at the bottom of an address space (Linux refuses
/// to map below `/proc/sys/vm/mmap_min_addr`), so a write there always faults.
const NULL: *mut u64 = std::ptr::null_mut();

#[cfg(target_os = "linux")]
/// The exit code of a doomed process that, against expectations, did not crash.
const DID_NOT_CRASH: i32 = 70;

#[cfg(target_os = "linux")]
/// End the process at once: no destructors, no exit handlers, no flushing of buffers.
fn exit_now(code: i32) -> ! {
    // SAFETY: _exit(2) takes any status and ends the process without touching its memory.
    unsafe { libc::_exit(code) }
}

#[cfg(target_os = "linux")]
#[derive(Clone, Copy)]
enum Crash {
    Segfault,
    Abort,
}

#[cfg(target_os = "linux")]
// ANCHOR: crash
/// Crash the calling process for real (never returns).
fn crash(how: Crash) -> ! {
    forbid_core_dump();
    match how {
        Crash::Segfault => {
            // SAFETY: deliberately NOT sound. `write_volatile` may touch memory outside any
            // Rust allocation, even address 0, but only if the access does not trap; this
            // one traps by design: the CPU faults and the kernel kills the process with
            // SIGSEGV. We only do it in a process that exists to crash (a forked child, or
            // this example re-run as a child).
            unsafe { NULL.write_volatile(1) };
        }
        Crash::Abort => std::process::abort(), // raises SIGABRT
    }
    exit_now(DID_NOT_CRASH)
}
// ANCHOR_END: crash

#[cfg(target_os = "linux")]
// ANCHOR: no-core
/// A crashing process may leave a core dump, an image of its memory for a debugger. Here
/// `/proc/sys/kernel/core_pattern` is `core`: the kernel would write a file named `core` into
/// the current directory. A core size limit (RLIMIT_CORE) of 0 makes it write nothing. When
/// core_pattern hands dumps to a helper program (`|/usr/lib/systemd/systemd-coredump …`)
/// the kernel leaves that limit to the helper, so we also make the process non-dumpable,
/// which stops every kind of dump.
fn forbid_core_dump() {
    if setrlimit(Resource::RLIMIT_CORE, 0, 0).is_err() || set_dumpable(false).is_err() {
        exit_now(DID_NOT_CRASH); // better not to crash at all than to leave a dump behind
    }
}
// ANCHOR_END: no-core

#[cfg(target_os = "linux")]
fn child_processes_crash() -> Result<()> {
    println!("1. A child process crashes; its parent carries on");
    for (how, expected) in [
        (Crash::Segfault, Signal::SIGSEGV),
        (Crash::Abort, Signal::SIGABRT),
    ] {
        let status = fork_and_crash(how)?;
        println!(
            "   parent pid {}: waitpid says {}",
            getpid(),
            describe(status)
        );
        ensure!(
            matches!(status, WaitStatus::Signaled(_, signal, false) if signal == expected),
            "expected the child to be killed by {expected} without a core dump"
        );
    }
    println!(
        "   parent pid {}: still running. Another process's crash reached it",
        getpid()
    );
    println!("   only as an exit status.");
    Ok(())
}

#[cfg(target_os = "linux")]
fn fork_and_crash(how: Crash) -> Result<WaitStatus> {
    // Flush what is printed so far: the child gets a copy of any unwritten output.
    io::stdout().flush().context("flushing stdout")?;
    // ANCHOR: child-segfault
    // SAFETY: no thread has been started yet, so the child is an exact copy of a
    // single-threaded process and may run any code; it prints one line and crashes.
    match unsafe { fork() }.context("fork()")? {
        ForkResult::Child => {
            match how {
                Crash::Segfault => println!(
                    "   child  pid {}: writing to address {NULL:p} (null)",
                    getpid()
                ),
                Crash::Abort => println!("   child  pid {}: calling abort()", getpid()),
            }
            crash(how)
        }
        ForkResult::Parent { child } => waitpid(child, None).context("waitpid()"),
    }
    // ANCHOR_END: child-segfault
}

#[cfg(target_os = "linux")]
/// `WaitStatus` in words, e.g. `child pid 12 was killed by SIGSEGV (signal 11), no core dump`.
fn describe(status: WaitStatus) -> String {
    match status {
        WaitStatus::Signaled(pid, signal, core_dumped) => format!(
            "child pid {pid} was killed by {} (signal {}), {}",
            signal.as_str(),
            signal as i32,
            if core_dumped {
                "core dumped"
            } else {
                "no core dump"
            }
        ),
        WaitStatus::Exited(pid, code) => {
            format!("child pid {pid} exited with code {code}")
        }
        other => format!("{other:?}"),
    }
}

#[cfg(target_os = "linux")]
/// What the re-run child's main thread would print if it outlived the crash of its worker.
const STILL_ALIVE: &str = "main thread: join() returned, I am still alive";

#[cfg(target_os = "linux")]
/// The hidden `--scenario thread-segfault` mode: runs in a child process, and kills it.
fn thread_segfault() -> Result<()> {
    println!(
        "main thread   pid {}: starting a worker thread and waiting for it",
        getpid()
    );
    // ANCHOR: thread-segfault
    let worker = thread::Builder::new().spawn(|| {
        println!(
            "worker thread tid {}: writing to address {NULL:p} (null)",
            gettid()
        );
        crash(Crash::Segfault)
    });
    let _ = spawned(worker)?.join(); // the main thread is alive, waiting right here
    println!("{STILL_ALIVE}"); // never printed: the whole process is gone
    // ANCHOR_END: thread-segfault
    Ok(())
}

#[cfg(target_os = "linux")]
fn a_thread_crashes_its_process() -> Result<()> {
    println!();
    println!("2. A thread crashes: its whole process dies");
    println!(
        "   Running this program again as a child, in a mode where a second thread"
    );
    println!("   writes to an invalid address while the main thread waits for it:");
    // ANCHOR: thread-segfault-report
    let output = Command::new(env::current_exe().context("current_exe()")?)
        .args(["--scenario", "thread-segfault"])
        .stdin(Stdio::null())
        .output() // runs the child, collects its output, and reaps it
        .context("running the thread-segfault scenario")?;
    let said = String::from_utf8_lossy(&output.stdout);
    for line in said.lines() {
        println!("   child | {line}");
    }
    let signal = output.status.signal().map(Signal::try_from); // None: it exited normally
    // ANCHOR_END: thread-segfault-report
    for line in String::from_utf8_lossy(&output.stderr).lines() {
        println!("   child stderr | {line}");
    }
    ensure!(
        signal == Some(Ok(Signal::SIGSEGV)),
        "expected the child to die of SIGSEGV, it ended with {}",
        output.status
    );
    ensure!(!output.status.core_dumped(), "the child dumped core");
    ensure!(
        said.contains("worker thread"),
        "the worker thread never ran"
    );
    ensure!(
        !said.contains(STILL_ALIVE),
        "the main thread survived the crash"
    );
    println!(
        "   The child was killed by SIGSEGV (signal 11), no core dump. Its main thread"
    );
    println!("   never got to print \"{STILL_ALIVE}\":");
    println!("   the fault in one thread ended every thread of the process.");
    Ok(())
}

#[cfg(target_os = "linux")]
/// Accounts that must always hold 100 units in total.
struct Accounts {
    alice: u32,
    bob: u32,
}

#[cfg(target_os = "linux")]
fn panics_stay_in_their_thread() -> Result<()> {
    println!();
    println!(
        "3. A thread panics: only that thread unwinds, but a mutex it held is poisoned"
    );
    // The default panic message names a file and line and suggests RUST_BACKTRACE; print
    // one plain line instead, so the output is the same on every run.
    panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(no message)");
        let current = thread::current();
        let name = current.name().unwrap_or("unnamed");
        println!("   thread '{name}' panicked: {message}");
    }));

    // ANCHOR: panic-contained
    let joined = thread::scope(|s| -> Result<_> {
        let parser = thread::Builder::new().name("parser".into());
        let handle = spawned(parser.spawn_scoped(s, || {
            let age: u32 = "forty-two".parse().expect("an age in digits"); // panics
            age
        }))?;
        Ok(handle.join()) // Err(payload): the thread panicked
    })?;
    ensure!(joined.is_err(), "the parser thread did not panic");
    println!("   main thread: join() returned Err; the panic ended only that thread");
    // ANCHOR_END: panic-contained

    // ANCHOR: poison
    let accounts = Mutex::new(Accounts { alice: 100, bob: 0 });
    let joined = thread::scope(|s| -> Result<_> {
        let transfer = thread::Builder::new().name("transfer".into());
        let handle = spawned(transfer.spawn_scoped(s, || {
            let mut books = accounts.lock().unwrap();
            books.alice -= 50; // the money leaves Alice's account...
            let fee: u32 = "2%".parse().expect("a fee in whole units"); // ...a bug panics...
            books.bob += 50 - fee; // ...so it never reaches Bob's
        }))?;
        Ok(handle.join())
    })?;
    ensure!(joined.is_err(), "the transfer thread did not panic");
    let books = match accounts.lock() {
        Ok(_) => bail!("the mutex is not poisoned"),
        Err(poisoned) => {
            println!(
                "   main thread: lock() returned Err(PoisonError): the mutex is poisoned"
            );
            poisoned.into_inner() // the guard, and with it the data, all the same
        }
    };
    println!(
        "   main thread: inside it (PoisonError::into_inner): alice {}, bob {}, total {}",
        books.alice,
        books.bob,
        books.alice + books.bob
    );
    // ANCHOR_END: poison
    let total = books.alice + books.bob;
    ensure!(
        total == 50,
        "the books hold {total}, expected the half-done 50"
    );
    drop(books);
    let _ = panic::take_hook(); // back to the default panic message
    println!(
        "   The transfer stopped halfway: 50 of the 100 units are gone. The process is"
    );
    println!(
        "   still running; the poison is how Rust warns that the data may be broken."
    );
    println!();
    Ok(())
}

#[cfg(target_os = "linux")]
/// A failed spawn as one clear line, e.g. `pthread_create(): EAGAIN: Try again`.
fn spawned<T>(result: io::Result<T>) -> Result<T> {
    result
        .map_err(|err| match err.raw_os_error() {
            Some(errno) => anyhow::Error::new(Errno::from_raw(errno)),
            None => anyhow::Error::new(err),
        })
        .context("pthread_create()")
}
