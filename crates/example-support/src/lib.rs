//! Shared by the example programs, so that each example's `main.rs` can tell its one story.
//!
//! * [`main`] runs an example: it refuses arguments the example does not take, restores the
//!   default action of `SIGPIPE` (so `cargo run -p fork | head -1` ends quietly, as `yes | head
//!   -1` does), turns an error into one clear line on stderr and exit code 1 (never a panic
//!   backtrace), and checks at the end that the example left no child process and no file
//!   descriptor behind ([`Hygiene`]).
//! * [`child`] forks a child that runs one closure, and reaps it exactly once.
//! * [`fd`] reads a descriptor by its bare number, to show `EBADF` after a close.
//! * [`mapping`] is an owned anonymous shared mapping (`mmap(MAP_SHARED | MAP_ANONYMOUS)`).
//! * [`proc`] reads `/proc`: a task's children, its threads.
//!
//! The examples are Linux programs: they call `fork`, `clone`, `pipe`, `mmap` and read `/proc`.
//! On another system this crate, and so every example, stops the build with one message.

#[cfg(not(target_os = "linux"))]
compile_error!(
    "the examples of this book run on Linux only: they call fork, clone, pipe, mmap and \
     futex, and read /proc, as the chapters explain"
);

use std::fs;
use std::io::IsTerminal as _;
use std::os::fd::AsFd as _;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use nix::errno::Errno;

pub mod child;
pub mod fd;
pub mod mapping;
pub mod proc;

pub use proc::live_children;

/// Runs an example that takes no arguments: `fn main() -> ExitCode { example_support::main("fork",
/// run) }`. `Ok` exits 0; an error prints `NAME: error: CAUSE: CAUSE…` on one line and exits 1;
/// an argument prints one line and exits 2 (`--help` says how to run it and exits 0).
pub fn main(name: &'static str, body: impl FnOnce() -> Result<()>) -> ExitCode {
    if let Some(arg) = std::env::args().nth(1) {
        if arg == "--help" || arg == "-h" {
            let bin = std::env::args()
                .next()
                .and_then(|a| a.rsplit('/').next().map(str::to_owned))
                .unwrap_or_default();
            let command = if bin.is_empty() || bin == name {
                format!("cargo run -p {name}")
            } else {
                format!("cargo run -p {name} --bin {bin}")
            };
            println!("{name}: takes no arguments; run it with `{command}`");
            return ExitCode::SUCCESS;
        }
        eprintln!("{name}: error: unexpected argument {arg:?}: this example takes no arguments");
        return ExitCode::from(2);
    }
    main_with_args(name, body)
}

/// Like [`main`], for an example that parses its own arguments (with `clap`, which exits 2 on a
/// bad one by itself).
pub fn main_with_args(name: &'static str, body: impl FnOnce() -> Result<()>) -> ExitCode {
    setup(name);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let hygiene = Hygiene::start()?;
        body()?;
        hygiene.verify()
    }));
    let err = match result {
        Ok(Ok(())) => return ExitCode::SUCCESS,
        Ok(Err(err)) => Some(err),
        // The panic hook has said what happened, in one line.
        Err(_) => None,
    };
    if stdout_reader_is_gone() {
        // Nobody reads our output any more (`| head -1`): a child that wrote was ended by
        // SIGPIPE, and the error says so. End the way a writer to a closed pipe ends.
        end_by_sigpipe();
    }
    if let Some(err) = err {
        eprintln!("{name}: error: {}", one_line(&err));
    }
    ExitCode::FAILURE
}

/// Sets up what every example shares, in a process: the default action for `SIGPIPE`, and a
/// panic hook that reports a panic of the main thread in one line.
fn setup(name: &'static str) {
    // Rust's runtime ignores SIGPIPE before `main`, so a write to a pipe nobody reads fails with
    // EPIPE and `println!` panics. Restore the default action: the process ends quietly, like
    // every other Unix program whose reader went away.
    // SAFETY: `SIG_DFL` installs no handler, so no code of ours can run in signal context; the
    // example has not started any thread yet.
    unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        )
    }
    .expect("SIGPIPE is a valid signal");

    // A panic of the main thread is an error the example did not expect: `println!` failing
    // (`> /dev/full`), or a library that panics when the OS refuses a thread. Say so in one
    // line, as for any other error, instead of a panic message and a backtrace. Panics in other
    // threads are the examples' own demonstrations: they keep Rust's usual message. (So an
    // example that demonstrates a panic does it in a thread it spawned.)
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() != Some("main") {
            return default_hook(info);
        }
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("a panic");
        eprintln!("{name}: error: {}", with_errno_names(message));
        // A library that panicked because the OS refused it a thread may hang if it unwinds
        // through its half-built state (tokio's runtime waits for the workers it did start):
        // end now. A failed `println!` unwinds instead, so that the example's guards still
        // reap its children and remove what it created; `main` then exits 1.
        if os_error(message).is_some() && !message.starts_with("failed printing to stdout") {
            std::process::exit(1);
        }
    }));
}

/// `… Resource temporarily unavailable (os error 11)` → `… EAGAIN: Resource temporarily
/// unavailable`, plus the task limit for a refused thread or process.
fn with_errno_names(message: &str) -> String {
    let Some((before, code)) = os_error(message) else {
        return message.replace('\n', " ");
    };
    let errno = Errno::from_raw(code);
    let mut line = format!("{before}{}", errno_text(errno));
    if errno == Errno::EAGAIN && creates_a_task(&[message.to_lowercase()]) {
        line.push_str(&task_limit_hint());
    }
    line.replace('\n', " ")
}

/// The text before an OS error in a panic message, and the error's number: `Display`
/// (`… Resource temporarily unavailable (os error 11)`) or `Debug` (`… Os { code: 11, … }`).
fn os_error(message: &str) -> Option<(&str, i32)> {
    if let Some(at) = message.find("Os { code: ") {
        let code = message[at + 11..].split(',').next()?.trim().parse().ok()?;
        return Some((&message[..at], code));
    }
    let at = message.find(" (os error ")?;
    let code = message[at + 11..].split(')').next()?.parse().ok()?;
    let text = std::io::Error::from_raw_os_error(code).to_string();
    let text = text
        .split(" (os error")
        .next()
        .unwrap_or_default()
        .to_owned();
    let before = &message[..at];
    Some((before.strip_suffix(text.as_str()).unwrap_or(before), code))
}

/// Whether stdout is a pipe whose reading end is closed: `poll` reports `POLLERR` for it.
fn stdout_reader_is_gone() -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let stdout = std::io::stdout();
    if stdout.is_terminal() {
        return false;
    }
    let mut fds = [PollFd::new(stdout.as_fd(), PollFlags::empty())];
    matches!(poll(&mut fds, PollTimeout::ZERO), Ok(1))
        && fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLERR))
}

fn end_by_sigpipe() -> ! {
    // SIGPIPE's default action (restored in `setup`) ends the process; the shell reports nothing.
    let _ = nix::sys::signal::raise(nix::sys::signal::SIGPIPE);
    std::process::exit(141)
}

/// An error chain on one line. An errno is shown with its name and the C library's text
/// (`EAGAIN: Resource temporarily unavailable`), the text a reader sees from every other tool;
/// an `EAGAIN` from creating a task also names the limit that refused it.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut parts = Vec::new();
    let mut task_limit = false;
    for cause in err.chain() {
        let errno = cause.downcast_ref::<Errno>().copied().or_else(|| {
            cause
                .downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::raw_os_error)
                .map(Errno::from_raw)
        });
        match errno {
            Some(errno) => {
                parts.push(errno_text(errno));
                task_limit |= errno == Errno::EAGAIN && creates_a_task(&parts);
            }
            None => parts.push(cause.to_string()),
        }
    }
    let mut line = parts.join(": ");
    if task_limit {
        line.push_str(&task_limit_hint());
    }
    line.replace('\n', " ")
}

/// `EBADF: Bad file descriptor`: the errno's name, then the C library's text for it.
pub fn errno_text(errno: Errno) -> String {
    let text = std::io::Error::from_raw_os_error(errno as i32).to_string();
    // std appends " (os error N)" to strerror's text.
    let text = text.split(" (os error").next().unwrap_or(&text);
    format!("{errno:?}: {text}")
}

fn creates_a_task(parts: &[String]) -> bool {
    parts.iter().any(|p| {
        ["fork", "clone", "spawn", "thread", "posix_spawn"]
            .iter()
            .any(|word| p.contains(word))
    })
}

/// Which limit refuses a new task with `EAGAIN`: the user's process limit (which counts threads
/// too), or the system's.
fn task_limit_hint() -> String {
    use nix::sys::resource::{Resource, getrlimit};
    match getrlimit(Resource::RLIMIT_NPROC) {
        Ok((soft, _)) if soft != nix::sys::resource::RLIM_INFINITY => format!(
            " (this user may have at most {soft} processes and threads: RLIMIT_NPROC, \
             `ulimit -u`)"
        ),
        _ => " (the system's task limit: kernel.threads-max, kernel.pid_max or the \
              cgroup's pids.max)"
            .to_owned(),
    }
}

/// Number of file descriptors this process has open right now (not counting the one used to
/// read the list).
pub fn open_fds() -> Result<usize> {
    let entries = fs::read_dir("/proc/self/fd").context("reading /proc/self/fd")?;
    // read_dir holds one descriptor of its own while it lists the directory.
    Ok(entries.count().saturating_sub(1))
}

/// Checks that an example cleans up after itself. [`main`] does this for every example.
pub struct Hygiene {
    fds_at_start: usize,
}

impl Hygiene {
    pub fn start() -> Result<Self> {
        Ok(Hygiene {
            fds_at_start: open_fds()?,
        })
    }

    /// Transitional: [`Hygiene::verify`] plus a line on stdout. [`main`] verifies by itself.
    pub fn check(self) -> Result<()> {
        self.verify()?;
        println!("Clean exit: no child process left, no file descriptor leaked.");
        Ok(())
    }

    /// Fails unless every child was reaped and every descriptor opened since [`Hygiene::start`]
    /// was closed.
    pub fn verify(self) -> Result<()> {
        let children = live_children()?;
        if !children.is_empty() {
            bail!("children left behind (not reaped): {children:?}");
        }
        // The count itself depends on what the caller passed down (a terminal, cargo's
        // jobserver), so only its comparison with the start matters.
        let fds = open_fds()?;
        if fds != self.fds_at_start {
            bail!(
                "file descriptors leaked: {} open at start, {fds} at the end",
                self.fds_at_start
            );
        }
        Ok(())
    }
}
