//! Shared by the example programs, so that each example's `main.rs` can tell its one story.
//!
//! * [`main!`] runs an example: it answers `--help` with the `cargo run` command that runs it,
//!   refuses arguments the example does not take (or hands them to its `clap` parser), restores
//!   the default action of `SIGPIPE` (so `cargo run -p fork | head -1` ends quietly, as `yes |
//!   head -1` does), turns an error into one clear line on stderr and exit code 1 (never a panic
//!   backtrace), ends every child the example forks when the example itself ends, and checks at
//!   the end that the example left no child process and no file descriptor behind ([`Hygiene`]).
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

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::OsString;
use std::io::IsTerminal as _;
use std::os::fd::AsFd as _;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, Ordering::Relaxed};
use std::{fmt, fs};

use anyhow::{Context, Result, bail};
use nix::errno::Errno;

pub mod child;
pub mod fd;
pub mod mapping;
pub mod proc;

pub use proc::live_children;

/// Every example's `main`: `fn main() -> ExitCode { example_support::main!(run) }`, where
/// `run` is `fn() -> Result<()>`, or `fn(Args) -> Result<()>` for an `Args: clap::Parser`.
/// `Ok` exits 0; an error prints `PROGRAM: error: CAUSE: CAUSE…` on one line and exits 1; a bad
/// argument prints one line and exits 2; `--help` says how to run it and exits 0.
#[macro_export]
macro_rules! main {
    ($run:expr) => {{
        // An allocation the OS refuses (an address-space limit) ends the program in one line.
        #[global_allocator]
        static ALLOCATOR: $crate::OutOfMemoryIsOneLine = $crate::OutOfMemoryIsOneLine;
        $crate::run_main(env!("CARGO_PKG_NAME"), env!("CARGO_BIN_NAME"), $run)
    }};
}

/// What [`main!`] needs to know of the program: its package and its name.
#[doc(hidden)]
pub struct Names {
    pub package: &'static str,
    pub bin: &'static str,
}

impl Names {
    /// The command that runs this program from the workspace.
    fn command(&self) -> String {
        match self.bin == self.package {
            true => format!("cargo run -p {}", self.package),
            false => format!("cargo run -p {} --bin {}", self.package, self.bin),
        }
    }
}

/// A program's `run`: with no arguments, or with arguments parsed by `clap`. (The marker type
/// lets one macro take both kinds of function.)
#[doc(hidden)]
pub trait Body<Marker> {
    /// Parses the command line: the story to run, or the exit code of a one-line answer.
    fn parse(self, names: &Names) -> Result<Box<dyn FnOnce() -> Result<()>>, ExitCode>;
}

#[doc(hidden)]
pub struct NoArguments;

impl<F: FnOnce() -> Result<()> + 'static> Body<NoArguments> for F {
    fn parse(self, names: &Names) -> Result<Box<dyn FnOnce() -> Result<()>>, ExitCode> {
        let Some(arg) = std::env::args_os().nth(1) else {
            return Ok(Box::new(self));
        };
        if arg == "--help" || arg == "-h" {
            println!(
                "{}: takes no arguments; run it with `{}`",
                names.bin,
                names.command()
            );
            return Err(ExitCode::SUCCESS);
        }
        say_error(
            names.bin,
            &format!(
                "unexpected argument {}: this example takes no arguments",
                quoted(&arg)
            ),
        );
        Err(ExitCode::from(2))
    }
}

#[doc(hidden)]
pub struct WithArguments<A>(std::marker::PhantomData<A>);

impl<A: clap::Parser + 'static, F: FnOnce(A) -> Result<()> + 'static> Body<WithArguments<A>> for F {
    fn parse(self, names: &Names) -> Result<Box<dyn FnOnce() -> Result<()>>, ExitCode> {
        let command = A::command().bin_name(format!("{} --", names.command()));
        let parsed = command
            .try_get_matches_from(std::env::args_os())
            .and_then(|matches| A::from_arg_matches(&matches));
        match parsed {
            Ok(args) => Ok(Box::new(move || self(args))),
            Err(e) if !e.use_stderr() => {
                let _ = e.print(); // --help
                Err(ExitCode::SUCCESS)
            }
            Err(e) => {
                // clap's first line is the error; the usage lines after it repeat `--help`.
                let text = e.render().to_string();
                let first = text.lines().next().unwrap_or_default();
                let first = first.strip_prefix("error: ").unwrap_or(first);
                say_error(names.bin, &format!("{first} (see --help)"));
                Err(ExitCode::from(2))
            }
        }
    }
}

/// An argument as it is quoted in an error: escaped, and cut short when it is long.
fn quoted(arg: &OsString) -> String {
    const SHOWN: usize = 40;
    let text = format!("{arg:?}");
    match text.char_indices().nth(SHOWN) {
        Some((at, _)) => format!("{}…\" ({} bytes)", &text[..at], arg.len()),
        None => text,
    }
}

/// Runs the program (see [`main!`]).
#[doc(hidden)]
pub fn run_main<M>(package: &'static str, bin: &'static str, run: impl Body<M>) -> ExitCode {
    let names = Names { package, bin };
    match run.parse(&names) {
        Ok(body) => main_with_args(bin, body),
        Err(code) => code,
    }
}

/// Like [`main!`] for a program that reads its arguments itself (a worker started with
/// `--worker`, or one that parsed them already): runs `body` as `name`.
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
    if let Some(err) = err.filter(|e| e.downcast_ref::<AlreadySaid>().is_none()) {
        say_error(name, &one_line(&err));
    }
    ExitCode::FAILURE
}

/// An error that has been reported already, by a child in its own line: the program ends
/// with exit status 1 and adds nothing.
#[derive(Debug)]
pub struct AlreadySaid;

impl fmt::Display for AlreadySaid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("reported above")
    }
}

impl std::error::Error for AlreadySaid {}

/// The longest error line printed: a long argument or path is cut, not echoed whole.
const MAX_LINE: usize = 300;

/// `NAME: error: TEXT` on stderr, on one line of at most [`MAX_LINE`] characters.
fn say_error(name: &str, text: &str) {
    let mut line = format!("{name}: error: {}", text.replace('\n', " "));
    if let Some((at, _)) = line.char_indices().nth(MAX_LINE) {
        let cut = line.len() - at;
        line.truncate(at);
        line.push_str(&format!("… ({cut} more bytes)"));
    }
    eprintln!("{line}");
}

/// This program's name, for the panic hook and the out-of-memory line.
static NAME: OnceLock<&'static str> = OnceLock::new();

/// Sets up what every example shares, in a process: the default action for `SIGPIPE`,
/// children that end with it, and a panic hook that reports a panic of the main thread in one
/// line.
fn setup(name: &'static str) {
    let _ = NAME.set(name);
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

    // SAFETY: the handlers make only system calls (getpid, prctl, getppid, kill), which are
    // async-signal-safe, as a child handler must be when a threaded process forks.
    unsafe { nix::libc::pthread_atfork(Some(before_fork), None, Some(in_new_child)) };

    // A panic of the main thread is an error the example did not expect: `println!` failing
    // (`> /dev/full`), or a library that panics when the OS refuses a thread. Say so in one
    // line, as for any other error, instead of a panic message and a backtrace. Panics in other
    // threads are the examples' own demonstrations: they keep Rust's usual message, without a
    // backtrace (collecting one allocates, and under an address-space limit it can hang). (So
    // an example that demonstrates a panic does it in a thread it spawned.)
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("a panic");
        let thread = std::thread::current();
        if thread.name() != Some("main") {
            let at = info.location().map(ToString::to_string).unwrap_or_default();
            let thread = thread.name().unwrap_or("<unnamed>");
            eprintln!("thread '{thread}' panicked at {at}:\n{message}");
            return;
        }
        say_error(name, &with_errno_names(message));
        // A library that panicked because the OS refused it a thread may hang if it unwinds
        // through its half-built state (tokio's runtime waits for the workers it did start):
        // end now. A failed `println!` unwinds instead, so that the example's guards still
        // reap its children and remove what it created; `main` then exits 1.
        if os_error(message).is_some() && !message.starts_with("failed printing to stdout") {
            std::process::exit(1);
        }
    }));
}

/// The pid of the process that is forking, for the new child to check its parent.
static FORKING: AtomicI32 = AtomicI32::new(0);

extern "C" fn before_fork() {
    FORKING.store(nix::unistd::getpid().as_raw(), Relaxed);
}

/// In every child the example forks: the kernel sends it SIGKILL when the thread that forked
/// it ends (`PR_SET_PDEATHSIG`), so no child outlives an example killed alone, even one
/// waiting for a parent that will never answer. If the parent ended already, before the
/// request, the child ends now.
extern "C" fn in_new_child() {
    use nix::libc;
    // SAFETY: prctl, getppid, getpid and kill are system calls with plain integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != FORKING.load(Relaxed) {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

/// The allocator of every example ([`main!`] installs it): the system's, except that an
/// allocation the OS refuses ends the program with one line and exit status 1, where Rust
/// would abort (a core dump, where they are allowed).
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
    // No allocation from here on: the line is written in pieces, the number by hand.
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = size;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let name = NAME.get().copied().unwrap_or("example");
    let pieces: [&[u8]; 4] = [
        name.as_bytes(),
        b": error: out of memory: the system refused ",
        &digits[at..],
        b" bytes (is the address space limited? `ulimit -v`)\n",
    ];
    for piece in pieces {
        // SAFETY: write(2) reads `piece`, a live buffer of that length.
        unsafe { nix::libc::write(2, piece.as_ptr().cast(), piece.len()) };
    }
    // SAFETY: _exit ends the process at once; the children end with it (see in_new_child).
    unsafe { nix::libc::_exit(1) }
}

/// `… Resource temporarily unavailable (os error 11)` → `… EAGAIN: Resource temporarily
/// unavailable`, plus the task limit for a refused thread or process.
fn with_errno_names(message: &str) -> String {
    let Some((before, code)) = os_error(message) else {
        return message.to_owned();
    };
    let errno = Errno::from_raw(code);
    let mut line = format!("{before}{}", errno_text(errno));
    if errno == Errno::EAGAIN && creates_a_task(&[message.to_lowercase()]) {
        line.push_str(&task_limit_hint(is_a_thread(&[message.to_lowercase()])));
    }
    line
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
        line.push_str(&task_limit_hint(is_a_thread(&parts)));
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
        ["fork", "clone", "spawn", "thread", "posix_spawn", "runtime"]
            .iter()
            .any(|word| p.contains(word))
    })
}

/// A new thread also needs a stack: `EAGAIN` may mean there was no room for it.
fn is_a_thread(parts: &[String]) -> bool {
    parts
        .iter()
        .any(|p| p.contains("thread") || p.contains("runtime"))
}

/// Which limit refused a new task with `EAGAIN`: the user's process limit (which counts
/// threads too), unless this user runs far fewer tasks than it allows (tasks that ended since
/// the refusal are not counted any more, hence the margin); for a thread, whose stack must fit
/// in the address space, the address-space limit where there is one; else the system's limits.
fn task_limit_hint(thread: bool) -> String {
    use nix::sys::resource::{RLIM_INFINITY, Resource, getrlimit};
    let soft = |resource| getrlimit(resource).map_or(RLIM_INFINITY, |(soft, _)| soft);
    let (nproc, address_space) = (soft(Resource::RLIMIT_NPROC), soft(Resource::RLIMIT_AS));
    let nproc_text = format!(
        "this user may have at most {nproc} processes and threads: RLIMIT_NPROC, `ulimit -u`"
    );
    let space_text = format!(
        "no room for the thread's stack in an address space of at most {} KiB: RLIMIT_AS, \
         `ulimit -v`",
        address_space / 1024
    );
    let system = "the system's task limit: kernel.threads-max, kernel.pid_max or the cgroup's \
                  pids.max";
    let far_below = nproc == RLIM_INFINITY
        || tasks_of_this_user().is_some_and(|n| n.saturating_add(100) < nproc);
    let space_limited = thread && address_space != RLIM_INFINITY;
    match (far_below, space_limited) {
        (false, false) => format!(" ({nproc_text})"),
        (false, true) => format!(" (either {nproc_text}; or {space_text})"),
        (true, true) => format!(" ({space_text})"),
        (true, false) => format!(" ({system})"),
    }
}

/// How many tasks (threads) the processes of this user run now, as far as `/proc` shows them.
fn tasks_of_this_user() -> Option<u64> {
    // SAFETY: getuid(2) takes no arguments and cannot fail.
    let uid = unsafe { nix::libc::getuid() }.to_string();
    let mut tasks = 0;
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let Ok(status) = fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next().map(str::to_owned))
        };
        if field("Uid:").as_deref() == Some(uid.as_str()) {
            tasks += field("Threads:").and_then(|n| n.parse::<u64>().ok())?;
        }
    }
    Some(tasks)
}

/// Number of file descriptors this process has open right now (not counting the one used to
/// read the list).
pub fn open_fds() -> Result<usize> {
    let entries = fs::read_dir("/proc/self/fd").context("reading /proc/self/fd")?;
    // read_dir holds one descriptor of its own while it lists the directory.
    Ok(entries.count().saturating_sub(1))
}

/// Checks that an example cleans up after itself. [`main!`] does this for every example.
pub struct Hygiene {
    fds_at_start: usize,
}

impl Hygiene {
    pub fn start() -> Result<Self> {
        Ok(Hygiene {
            fds_at_start: open_fds()?,
        })
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
