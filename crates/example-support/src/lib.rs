//! Shared by the example programs, so that each `main.rs` tells its one story: [`main!`] runs
//! it and keeps the house rules for it; [`child`] forks a child that runs one closure; [`fd`]
//! reads a descriptor by its number; [`mapping`] is one value in an anonymous mapping; [`proc`]
//! reads `/proc`. The examples are Linux programs: elsewhere the build stops with one message.

#[cfg(not(target_os = "linux"))]
compile_error!(
    "the examples of this book run on Linux only: they call fork, clone, pipe, mmap and \
     futex, and read /proc, as the chapters explain"
);

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{IsTerminal as _, Write as _};
use std::os::fd::AsFd as _;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, Ordering::Relaxed};
use std::{fmt, fs};

use anyhow::{Context, Result, ensure};
use nix::errno::Errno;
use nix::libc;
use nix::sys::signal::{SigHandler, Signal, raise, signal};

pub mod child;
pub mod fd;
pub mod mapping;
pub mod proc;

pub use proc::live_children;

/// Every example's `main`: `fn main() -> ExitCode { example_support::main!(run) }`, where
/// `run` is `fn() -> Result<()>`, or `fn(Args) -> Result<()>` for an `Args: clap::Parser`.
/// `--help` prints the `cargo run` command that runs it; a bad argument is one line and exit 2;
/// an error is one line, `PROGRAM: error: CAUSE: CAUSE…`, and exit 1, and so is an allocation
/// the OS refuses (where Rust would abort, and dump core where that is allowed).
#[macro_export]
macro_rules! main {
    ($run:expr) => {{
        #[global_allocator]
        static ALLOCATOR: $crate::OutOfMemoryIsOneLine = $crate::OutOfMemoryIsOneLine;
        $crate::run_main(env!("CARGO_PKG_NAME"), env!("CARGO_BIN_NAME"), $run)
    }};
}

/// A program's `run`, with no arguments or with arguments parsed by `clap` (the marker type
/// lets one macro take both kinds of function).
pub trait Body<Marker> {
    /// The story to run, or the exit code of a one-line answer to the command line.
    fn parse(self, bin: &str, command: &str) -> Result<impl FnOnce() -> Result<()>, ExitCode>;
}

// Without clap's parser, which would add a megabyte of code to every program.
impl<F: FnOnce() -> Result<()>> Body<()> for F {
    fn parse(self, bin: &str, command: &str) -> Result<impl FnOnce() -> Result<()>, ExitCode> {
        match std::env::args_os().nth(1) {
            None => Ok(self),
            Some(arg) if arg == "--help" || arg == "-h" => {
                println!("{bin}: takes no arguments; run it with `{command}`");
                Err(ExitCode::SUCCESS)
            }
            Some(arg) => {
                say_error(bin, &format!("unexpected argument {arg:?}: it takes no arguments"));
                Err(ExitCode::from(2))
            }
        }
    }
}

impl<A: clap::Parser, F: FnOnce(A) -> Result<()>> Body<(A,)> for F {
    fn parse(self, bin: &str, command: &str) -> Result<impl FnOnce() -> Result<()>, ExitCode> {
        let matches = A::command()
            .bin_name(format!("{command} --"))
            .try_get_matches_from(std::env::args_os());
        match matches.and_then(|matches| A::from_arg_matches(&matches)) {
            Ok(args) => Ok(move || self(args)),
            Err(help) if !help.use_stderr() => {
                let _ = help.print();
                Err(ExitCode::SUCCESS)
            }
            Err(e) => {
                // clap's first line is the error; the usage lines after it repeat `--help`.
                let text = e.render().to_string();
                let first = text.lines().next().unwrap_or_default();
                let first = first.strip_prefix("error: ").unwrap_or(first);
                say_error(bin, &format!("{first} (see --help)"));
                Err(ExitCode::from(2))
            }
        }
    }
}

/// [`main!`] without its allocator, for a program that has one of its own.
pub fn run_main<M>(package: &str, bin: &'static str, run: impl Body<M>) -> ExitCode {
    let command = match bin == package {
        true => format!("cargo run -p {package}"),
        false => format!("cargo run -p {package} --bin {bin}"),
    };
    match run.parse(bin, &command) {
        Ok(body) => main_with_args(bin, body),
        Err(code) => code,
    }
}

/// Runs `body` as program `name` with what [`main!`] sets up, for a program that reads its
/// arguments itself (a worker started with `--worker`); at the end, fails if it left a child
/// process or a file descriptor behind.
pub fn main_with_args(name: &'static str, body: impl FnOnce() -> Result<()>) -> ExitCode {
    setup(name);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // The count depends on what the caller passed down (a terminal, cargo's jobserver),
        // so only its comparison with the end matters.
        let fds = open_fds()?;
        body()?;
        let children = live_children()?;
        ensure!(children.is_empty(), "children left behind (not reaped): {children:?}");
        let left = open_fds()?;
        ensure!(left == fds, "file descriptors leaked: {fds} open at start, {left} at the end");
        Ok(())
    }));
    if let Ok(Ok(())) = result {
        return ExitCode::SUCCESS;
    }
    if stdout_reader_is_gone() {
        // Nobody reads our output (`| head -1`): a child that wrote was ended by SIGPIPE, and
        // the error says so. End as a writer to a closed pipe ends, quietly.
        let _ = raise(Signal::SIGPIPE);
        std::process::exit(141); // if SIGPIPE is ignored (the program may have set that)
    }
    // A panic was reported by the panic hook, an error of a child by the child.
    if let Ok(Err(err)) = result.as_ref().map(|r| r.as_ref())
        && !err.is::<AlreadySaid>()
    {
        say_error(name, &one_line(err));
    }
    ExitCode::FAILURE
}

/// An error that a child has reported already, in its own line: the program exits 1 and adds
/// nothing.
#[derive(Debug)]
pub struct AlreadySaid;

impl fmt::Display for AlreadySaid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("reported above")
    }
}

impl std::error::Error for AlreadySaid {}

/// `NAME: error: TEXT` on stderr, on one line of at most 300 characters: a long argument or
/// path is cut, not echoed whole.
fn say_error(name: &str, text: &str) {
    let mut line = format!("{name}: error: {}", text.replace('\n', " "));
    if let Some((at, _)) = line.char_indices().nth(300) {
        let cut = line.len() - at;
        line.truncate(at);
        line += &format!("… ({cut} more bytes)");
    }
    eprintln!("{line}");
}

/// This program's name, for the panic hook and the out-of-memory line.
static NAME: OnceLock<&'static str> = OnceLock::new();

fn setup(name: &'static str) {
    let _ = NAME.set(name);
    // Rust ignores SIGPIPE before `main`, so a write to a pipe nobody reads fails with EPIPE
    // and `println!` panics. Restore the default: the process ends quietly, like every other
    // Unix program whose reader went away.
    // SAFETY: SIG_DFL installs no handler, so no code of ours runs in signal context; the
    // example has not started a thread yet.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
    // SAFETY: the handlers make only system calls (getpid, prctl, getppid, kill), which are
    // async-signal-safe, as a child handler must be when a threaded process forks.
    unsafe { libc::pthread_atfork(Some(before_fork), None, Some(in_new_child)) };
    std::panic::set_hook(Box::new(panic_hook));
    // No example leaves a core file, whatever the shell allows: an abort that a library
    // raises on its own (glibc refusing a thread-local destructor in a tiny address space)
    // would otherwise dump one into the current directory.
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let _ = getrlimit(Resource::RLIMIT_CORE)
        .and_then(|(_, hard)| setrlimit(Resource::RLIMIT_CORE, 0, hard));
}

/// A panic of the main thread is an error the example did not expect (`println!` into
/// `/dev/full`, a library that panics when the OS refuses a thread): one line, like any other
/// error. Panics in other threads are the examples' demonstrations: Rust's usual message,
/// without a backtrace (collecting one allocates, and in a small address space it can hang).
fn panic_hook(info: &std::panic::PanicHookInfo) {
    let payload = info.payload();
    let message = (payload.downcast_ref::<String>().map(String::as_str))
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("a panic");
    let (thread, name) = (std::thread::current(), NAME.get().unwrap_or(&"example"));
    if thread.name() != Some("main") {
        let at = info.location().map(ToString::to_string).unwrap_or_default();
        let thread = thread.name().unwrap_or("<unnamed>");
        return eprintln!("thread '{thread}' panicked at {at}:\n{message}");
    }
    let Some((before, code)) = os_error(message) else {
        return say_error(name, message);
    };
    let line = format!("{before}{}", errno_text(Errno::from_raw(code)));
    let line = with_task_limit(line.to_lowercase(), line, code == libc::EAGAIN);
    say_error(name, &line);
    // A library that panicked because the OS refused it a thread may hang unwinding through
    // its half-built state (tokio's runtime waits for the workers it did start): end now. A
    // failed `println!` unwinds, so that the example's guards still reap its children.
    if !message.starts_with("failed printing to stdout") {
        std::process::exit(1);
    }
}

/// The text before an OS error in a panic message, and its number: from `Display` (`…
/// Resource temporarily unavailable (os error 11)`) or `Debug` (`… Os { code: 11, … }`).
fn os_error(message: &str) -> Option<(&str, i32)> {
    let (at, rest) = ["Os { code: ", " (os error "]
        .iter()
        .find_map(|m| message.find(m).map(|at| (at, &message[at + m.len()..])))?;
    let code = rest.split([',', ')']).next()?.parse().ok()?;
    let before = &message[..at];
    let before = before.strip_suffix(strerror(code).as_str()).unwrap_or(before);
    Some((before, code))
}

/// The pid of the process that is forking, for the new child to check its parent.
static FORKING: AtomicI32 = AtomicI32::new(0);

extern "C" fn before_fork() {
    FORKING.store(nix::unistd::getpid().as_raw(), Relaxed);
}

/// In every child the example forks: the kernel sends it SIGKILL when the thread that forked
/// it ends (`PR_SET_PDEATHSIG`), so no child outlives an example killed alone. If the parent
/// ended already, before the request, the child ends now.
extern "C" fn in_new_child() {
    // SAFETY: prctl, getppid, getpid and kill are system calls with plain integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != FORKING.load(Relaxed) {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

/// The system's allocator, except that an allocation the OS refuses ends the program with one
/// line and exit status 1 ([`main!`] installs it).
pub struct OutOfMemoryIsOneLine;

// SAFETY: every call is passed on to the system allocator unchanged; a null result ends the
// process instead of being returned.
unsafe impl GlobalAlloc for OutOfMemoryIsOneLine {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees, passed on.
        or_out_of_memory(unsafe { System.alloc(layout) }, layout.size())
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        or_out_of_memory(unsafe { System.alloc_zeroed(layout) }, layout.size())
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        or_out_of_memory(unsafe { System.realloc(ptr, layout, new_size) }, new_size)
    }
}

fn or_out_of_memory(ptr: *mut u8, size: usize) -> *mut u8 {
    if !ptr.is_null() {
        return ptr;
    }
    // No allocation from here on: the line is formatted into a buffer on the stack.
    let mut line = [0u8; 300];
    let mut rest = &mut line[..];
    let name = NAME.get().copied().unwrap_or("example");
    let _ = writeln!(
        rest,
        "{name}: error: out of memory: the system refused {size} bytes (is the address space \
         limited? `ulimit -v`)"
    );
    let len = 300 - rest.len();
    // SAFETY: write(2) reads `len` bytes of `line`, a live buffer; _exit ends the process at
    // once, and its children with it (see in_new_child).
    unsafe {
        libc::write(2, line.as_ptr().cast(), len);
        libc::_exit(1)
    }
}

/// Whether stdout is a pipe whose reading end is closed: `poll` reports `POLLERR` for it.
fn stdout_reader_is_gone() -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let stdout = std::io::stdout();
    let mut fds = [PollFd::new(stdout.as_fd(), PollFlags::empty())];
    !stdout.is_terminal()
        && poll(&mut fds, PollTimeout::ZERO) == Ok(1)
        && fds[0].revents().is_some_and(|r| r.contains(PollFlags::POLLERR))
}

/// An error chain on one line. An errno is shown with its name and the C library's text
/// (`EAGAIN: Resource temporarily unavailable`), as every other tool shows it; an `EAGAIN` from
/// creating a task also names the limit that refused it.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut eagain = false;
    let parts: Vec<String> = (err.chain())
        .map(|cause| {
            let io = cause.downcast_ref::<std::io::Error>();
            match (cause.downcast_ref::<Errno>().copied())
                .or_else(|| io?.raw_os_error().map(Errno::from_raw))
            {
                Some(errno) => {
                    eagain |= errno == Errno::EAGAIN;
                    errno_text(errno)
                }
                None => cause.to_string(),
            }
        })
        .collect();
    let line = parts.join(": ").replace('\n', " ");
    with_task_limit(line.clone(), line, eagain)
}

/// `EBADF: Bad file descriptor`: the errno's name, then the C library's text for it.
pub fn errno_text(errno: Errno) -> String {
    format!("{errno:?}: {}", strerror(errno as i32))
}

fn strerror(code: i32) -> String {
    let text = std::io::Error::from_raw_os_error(code).to_string(); // "… (os error N)"
    text.split(" (os error").next().unwrap_or_default().to_owned()
}

/// `line`, and after an `EAGAIN` from creating a task (as `words` tell), which limit refused
/// it: the user's process limit (which counts threads too), unless this user runs far fewer
/// tasks than it allows (tasks that ended since the refusal no longer count, hence the
/// margin); for a thread, whose stack must fit in the address space, the address-space limit
/// where there is one; else the system's limits.
fn with_task_limit(words: String, line: String, eagain: bool) -> String {
    use nix::sys::resource::{RLIM_INFINITY, Resource, getrlimit};
    let thread = words.contains("thread") || words.contains("runtime");
    let task = ["fork", "clone", "spawn"].iter().any(|w| words.contains(w));
    if !eagain || !(thread || task) {
        return line;
    }
    let soft = |resource| getrlimit(resource).map_or(RLIM_INFINITY, |(soft, _)| soft);
    let (nproc, space) = (soft(Resource::RLIMIT_NPROC), soft(Resource::RLIMIT_AS));
    let nproc_text = format!(
        "this user may have at most {nproc} processes and threads: RLIMIT_NPROC, `ulimit -u`"
    );
    let space_text = format!(
        "no room for the thread's stack in an address space of at most {} KiB: RLIMIT_AS, \
         `ulimit -v`",
        space / 1024
    );
    let far_below = nproc == RLIM_INFINITY || tasks_of_this_user().is_some_and(|n| n + 100 < nproc);
    match (far_below, thread && space != RLIM_INFINITY) {
        (false, false) => format!("{line} ({nproc_text})"),
        (false, true) => format!("{line} (either {nproc_text}; or {space_text})"),
        (true, true) => format!("{line} ({space_text})"),
        (true, false) => format!(
            "{line} (the system's task limit: kernel.threads-max, kernel.pid_max or the \
             cgroup's pids.max)"
        ),
    }
}

/// How many tasks (threads) the processes of this user run now, as far as `/proc` shows.
fn tasks_of_this_user() -> Option<u64> {
    // SAFETY: getuid(2) takes no arguments and cannot fail.
    let uid = unsafe { libc::getuid() }.to_string();
    let mut tasks = 0;
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let status = fs::read_to_string(entry.path().join("status")).unwrap_or_default();
        let field = |name| {
            let line = status.lines().find_map(|l| l.strip_prefix(name))?;
            line.split_whitespace().next()
        };
        if field("Uid:") == Some(uid.as_str()) {
            tasks += field("Threads:")?.parse::<u64>().ok()?;
        }
    }
    Some(tasks)
}

/// How many file descriptors this process has open (the one that reads the list not counted).
pub fn open_fds() -> Result<usize> {
    let entries = fs::read_dir("/proc/self/fd").context("reading /proc/self/fd")?;
    Ok(entries.count().saturating_sub(1))
}
