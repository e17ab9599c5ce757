//! `cargo run -p pipes`: two processes talk through pipes; two threads do the same with a channel.
//!
//! Processes have separate memory, so every byte they exchange goes through the kernel: `write`
//! copies it from the sender into the pipe's kernel buffer, `read` copies it out into the
//! receiver. The example shows a request and a response over two pipes, when a reader sees end of
//! file (only once the *last* write end is closed), and what a writer gets once no reader is left
//! (SIGPIPE, or the error EPIPE when SIGPIPE is ignored). Then two threads make the same exchange
//! over crossbeam channels: they share memory, so the message is handed over without a copy.
//! Linux only.

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

/// Request and response between two processes (pipes) and between two threads (a channel).
#[derive(Parser)]
#[command(about)]
struct Args {}

fn main() -> ExitCode {
    Args::parse();
    example_support::main("pipes", run)
}

#[cfg(not(target_os = "linux"))]
fn run() -> Result<()> {
    anyhow::bail!("this example needs Linux")
}

#[cfg(target_os = "linux")]
use {
    anyhow::{Context, anyhow, ensure},
    crossbeam::channel,
    example_support::Hygiene,
    nix::errno::Errno,
    nix::fcntl::{FcntlArg, OFlag, fcntl},
    nix::sys::signal::{SigHandler, Signal, signal},
    nix::sys::wait::{WaitStatus, waitpid},
    nix::unistd::{ForkResult, Pid, fork, getpid, pipe, read, write},
    std::fs::File,
    std::io::{self, Read as _, Write as _},
    std::os::fd::OwnedFd,
    std::thread,
};

/// `println!` panics when stdout is a pipe nobody reads any more (`pipes | head -n 1`); this
/// returns the error instead, and the program ends with one line saying so.
#[cfg(target_os = "linux")]
macro_rules! say {
    ($($arg:tt)*) => {
        writeln!(io::stdout(), $($arg)*).context("writing to stdout")
    };
}

#[cfg(target_os = "linux")]
fn run() -> Result<()> {
    let hygiene = Hygiene::start()?;
    ignore_sigpipe()?;
    say!("1. Two processes: a request and a response through two pipes")?;
    request_response_between_processes()?;
    say!("\n2. End of file comes only when the last write end is closed")?;
    eof_after_last_writer()?;
    say!("\n3. Writing when no reader is left: SIGPIPE, or the error EPIPE")?;
    write_without_reader()?;
    say!("\n4. Two threads: the same request and response over channels")?;
    // Threads only now: every fork above happened while this process had a single thread.
    request_response_between_threads()?;
    say!()?;
    hygiene.check()
}

#[cfg(target_os = "linux")]
const REQUEST: &str = "hello, child";

// ANCHOR: pipe-request-response
#[cfg(target_os = "linux")]
fn request_response_between_processes() -> Result<()> {
    let me = getpid();
    let (request_rx, request_tx) = pipe().context("pipe()")?;
    let (response_rx, response_tx) = pipe().context("pipe()")?;
    let capacity = fcntl(&request_rx, FcntlArg::F_GETPIPE_SZ).context("fcntl()")?;
    say!("parent pid {me}: each pipe is a kernel buffer of {capacity} bytes")?;

    io::stdout().flush()?; // or the child would inherit, and print again, anything buffered
    // SAFETY: the process has one thread here, so the child may do anything the parent could.
    match unsafe { fork() }.context("fork()")? {
        ForkResult::Child => child(|| {
            // The child got copies of all four ends. Close the two it does not use: as long as
            // any write end of the request pipe is open, even its own, it would never see EOF.
            drop(request_tx);
            drop(response_rx);
            let request = read_to_eof(request_rx)?;
            let me = getpid();
            say!("child  pid {me}: read request {request:?} from the pipe")?;
            write_and_close(response_tx, request.to_uppercase().as_bytes())
        }),
        ForkResult::Parent { child } => {
            drop(request_rx); // the parent's copies of the child's ends
            drop(response_tx);
            say!("parent pid {me}: sending request {REQUEST:?} to child pid {child}")?;
            write_and_close(request_tx, REQUEST.as_bytes())?; // the child's read sees EOF
            let response = read_to_eof(response_rx)?; // EOF: the child closed its end
            say!("parent pid {me}: got response {response:?}")?;
            ensure!(reap(child)? == WaitStatus::Exited(child, 0), "child failed");
            ensure!(response == "HELLO, CHILD", "wrong response");
            Ok(())
        }
    }
}

/// Reads until end of file, then closes the read end.
#[cfg(target_os = "linux")]
fn read_to_eof(rx: OwnedFd) -> Result<String> {
    let mut text = String::new();
    File::from(rx).read_to_string(&mut text).context("read()")?;
    Ok(text)
}

/// Writes all of `bytes`, then closes the write end.
#[cfg(target_os = "linux")]
fn write_and_close(tx: OwnedFd, bytes: &[u8]) -> Result<()> {
    File::from(tx).write_all(bytes).context("write()")
}
// ANCHOR_END: pipe-request-response

// ANCHOR: pipe-eof
#[cfg(target_os = "linux")]
fn eof_after_last_writer() -> Result<()> {
    let me = getpid();
    let (rx, tx) = pipe().context("pipe()")?;
    // Non-blocking, so that "nothing to read yet" comes back as EAGAIN instead of waiting forever.
    fcntl(&rx, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).context("fcntl()")?;

    io::stdout().flush()?;
    // SAFETY: single-threaded, as above.
    match unsafe { fork() }.context("fork()")? {
        ForkResult::Child => child(|| {
            drop(rx);
            let me = getpid();
            say!("child  pid {me}: writes \"last words\" and exits")?;
            write_and_close(tx, b"last words") // exiting would close it too
        }),
        ForkResult::Parent { child } => {
            reap(child)?; // the child is gone, and its write end with it
            let mut buf = [0; 64];
            let n = read(&rx, &mut buf).context("read()")?;
            let text = String::from_utf8_lossy(&buf[..n]);
            say!("parent pid {me}: read {text:?}")?;
            let again = read(&rx, &mut buf);
            ensure!(again == Err(Errno::EAGAIN), "got {again:?}");
            say!(
                "parent pid {me}: read() again: EAGAIN, not EOF: its own write end is open"
            )?;
            drop(tx); // the copy the parent kept after fork: the last write end
            let last = read(&rx, &mut buf);
            ensure!(last == Ok(0), "got {last:?}");
            say!("parent pid {me}: closed its write end; read() returns 0 bytes: EOF")?;
            Ok(())
        }
    }
}
// ANCHOR_END: pipe-eof

// ANCHOR: sigpipe
/// A write to a pipe that no process can read any more raises SIGPIPE, and SIGPIPE's default
/// action ends the writer on the spot, silently. Rust's runtime already sets SIGPIPE to "ignore"
/// before `main` runs, so that such a write fails with EPIPE instead; we set it ourselves rather
/// than rely on that. (Children started with `std::process::Command` get the default back.)
#[cfg(target_os = "linux")]
fn ignore_sigpipe() -> Result<()> {
    // SAFETY: SIG_IGN is not a handler function, so no code of ours will run inside a signal;
    // no other thread exists yet that could change signal actions at the same time.
    unsafe { signal(Signal::SIGPIPE, SigHandler::SigIgn) }
        .context("signal(SIGPIPE)")?;
    Ok(())
}
// ANCHOR_END: sigpipe

// ANCHOR: pipe-epipe
#[cfg(target_os = "linux")]
fn write_without_reader() -> Result<()> {
    let me = getpid();
    let (rx, tx) = pipe().context("pipe()")?;
    drop(rx); // the only read end: from now on nobody can ever read this pipe
    say!("parent pid {me}: closed the pipe's only read end")?;

    io::stdout().flush()?;
    // SAFETY: single-threaded, as above.
    match unsafe { fork() }.context("fork()")? {
        ForkResult::Child => {
            // SAFETY: SIG_DFL is not a handler function; this process has a single thread.
            let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
            let me = getpid();
            let _ =
                say!("child  pid {me}: SIGPIPE back at its default action; writing");
            let _ = write(&tx, b"anyone there?");
            // Not reached: the write killed the child (SIGPIPE ends a process without a core dump).
            std::process::exit(0);
        }
        ForkResult::Parent { child } => {
            let status = reap(child)?;
            let sigpipe = WaitStatus::Signaled(child, Signal::SIGPIPE, false);
            ensure!(status == sigpipe, "got {status:?}");
            let result = write(&tx, b"anyone there?");
            ensure!(result == Err(Errno::EPIPE), "got {result:?}");
            say!(
                "parent pid {me}: SIGPIPE ignored: write() fails with EPIPE, and we go on"
            )?;
            Ok(())
        }
    }
}
// ANCHOR_END: pipe-epipe

// ANCHOR: thread-channel
#[cfg(target_os = "linux")]
fn request_response_between_threads() -> Result<()> {
    let pid = getpid();
    thread::scope(|s| {
        // Created inside the scope, so that an early return drops them and the worker ends.
        let (request_tx, request_rx) = channel::bounded::<String>(1);
        let (response_tx, response_rx) = channel::bounded::<String>(1);
        let worker = s.spawn(move || -> Result<()> {
            for mut request in request_rx {
                let at = request.as_ptr();
                say!("worker thread in pid {pid}: got request {request:?}, bytes at {at:p}")?;
                request.make_ascii_uppercase(); // in place: the response is the same buffer
                response_tx.send(request)?;
            }
            Ok(()) // the loop ends when main drops `request_tx`
        });

        let request = String::from("hello, worker");
        let at = request.as_ptr();
        say!(
            "main   thread in pid {pid}: sending request {request:?}, bytes at {at:p}"
        )?;
        request_tx.send(request)?; // moves a pointer, length and capacity; the bytes stay put
        let response = response_rx.recv()?;
        let back = response.as_ptr();
        say!(
            "main   thread in pid {pid}: got response {response:?}, bytes at {back:p}"
        )?;
        drop(request_tx); // ends the worker's loop
        worker.join().map_err(|_| anyhow!("worker panicked"))??;
        ensure!(response == "HELLO, WORKER", "got {response:?}");
        ensure!(back == at, "the bytes were copied");
        say!("One buffer, handed from thread to thread: no kernel, no copy.")?;
        Ok(())
    })
}
// ANCHOR_END: thread-channel

/// Runs the child's part after `fork`, then ends the child: exit status 0, or 1 after one line
/// on stderr. It never returns, because the code after the `fork` call is the parent's.
#[cfg(target_os = "linux")]
fn child(body: impl FnOnce() -> Result<()>) -> ! {
    let code = match body() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("pipes: error: in child pid {}: {e:#}", getpid());
            1
        }
    };
    std::process::exit(code)
}

/// Waits for `child` with `waitpid` (no zombie left) and reports how it ended.
#[cfg(target_os = "linux")]
fn reap(child: Pid) -> Result<WaitStatus> {
    let status = waitpid(child, None).context("waitpid()")?;
    let how = match status {
        WaitStatus::Exited(_, code) => format!("exited with status {code}"),
        WaitStatus::Signaled(_, signal, _) => {
            format!("killed by signal {}", signal.as_str())
        }
        other => format!("{other:?}"),
    };
    say!("parent pid {}: reaped child pid {child}: {how}", getpid())?;
    Ok(status)
}
