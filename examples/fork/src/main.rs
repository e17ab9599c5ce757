//! `cargo run -p fork`: what `fork` copies and what it shares.
//!
//! After `fork` the child has its own copy of the parent's memory: it changes a variable on its
//! stack and a value on its heap, and the parent's copies stay as they were. An open file is
//! different: parent and child share one file offset, so a write in the child moves the parent's
//! position too. The parent reaps each child with `waitpid` and reports its exit status, so no
//! zombie is left behind. Linux only (it reads `/proc` and uses `memfd_create`).

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

/// Forks a child and shows what the two processes share and what they do not.
#[derive(Parser)]
#[command(about)]
struct Args {}

fn main() -> ExitCode {
    Args::parse();
    example_support::main("fork", run)
}

#[cfg(not(target_os = "linux"))]
fn run() -> Result<()> {
    anyhow::bail!("this example needs Linux")
}

#[cfg(target_os = "linux")]
use {
    anyhow::{Context, bail, ensure},
    example_support::Hygiene,
    nix::sys::memfd::{MFdFlags, memfd_create},
    nix::sys::uio::pread,
    nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid, waitpid},
    nix::unistd::{ForkResult, Pid, Whence, fork, getpid, lseek, write},
    std::io::{self, Write as _},
    std::os::fd::AsFd,
};

/// `println!` panics when stdout is a pipe nobody reads any more (`fork | head -n 1`); this
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
    say!("1. Memory: the child gets its own copy")?;
    memory_is_copied()?;
    say!("\n2. Open files: parent and child share one file offset")?;
    file_offset_is_shared()?;
    say!()?;
    hygiene.check()
}

// ANCHOR: fork-cow
#[cfg(target_os = "linux")]
fn memory_is_copied() -> Result<()> {
    let mut on_stack: u32 = 1;
    let mut on_heap: Box<u32> = Box::new(10);
    show("parent", on_stack, &on_heap)?;

    // Flush before forking: bytes still waiting in this process's stdout buffer would be copied
    // into the child and printed twice. (Rust's stdout writes out each complete line, but a
    // `print!` without a newline would stay in the buffer.)
    io::stdout().flush()?;
    // SAFETY: this program has a single thread, so the child is a complete copy of a consistent
    // process (no lock held by a thread that does not exist in the child): it may allocate and
    // print. In a multi-threaded program the child could only call async-signal-safe functions.
    match unsafe { fork() }.context("fork()")? {
        ForkResult::Child => child(|| {
            // Copy-on-write: fork did not copy the parent's memory. Both processes map the same
            // physical pages, now read-only for both. The first write to such a page, by either
            // process, faults; the kernel gives the writer its own copy of just that page (4 KiB)
            // and lets the write go there. So these writes change the child's copies only.
            on_stack += 1;
            *on_heap += 10;
            show("child ", on_stack, &on_heap)
        }),
        ForkResult::Parent { child } => {
            ensure!(reap(child)? == 0, "the child failed");
            // Same virtual address as the child printed, but a different physical page.
            show("parent", on_stack, &on_heap)?;
            ensure!(
                on_stack == 1 && *on_heap == 10,
                "the child's writes reached us"
            );
            say!("The child's changes stayed in the child: each process has its own memory.")
        }
    }
}

/// One line: which process speaks, its two values, and where the heap value is.
#[cfg(target_os = "linux")]
fn show(who: &str, on_stack: u32, on_heap: &u32) -> Result<()> {
    let pid = getpid();
    say!("{who} pid {pid}: on_stack = {on_stack}, on_heap = {on_heap} at {on_heap:p}")
}
// ANCHOR_END: fork-cow

// ANCHOR: fork-fd-offset
#[cfg(target_os = "linux")]
fn file_offset_is_shared() -> Result<()> {
    // An anonymous in-memory file: no name in any directory, gone with its last descriptor.
    let file = memfd_create("fork-demo", MFdFlags::MFD_CLOEXEC).context("memfd_create()")?;
    let me = getpid();
    write(&file, b"parent\n").context("write()")?;
    let at = offset(&file)?;
    say!("parent pid {me}: wrote the line \"parent\", offset now {at}")?;

    io::stdout().flush()?;
    // SAFETY: single-threaded, as in `memory_is_copied`.
    match unsafe { fork() }.context("fork()")? {
        ForkResult::Child => child(|| {
            // fork copied the descriptor table, but both copies of `file` point to the SAME open
            // file description in the kernel, and the file offset lives there.
            write(&file, b"child\n").context("write()")?;
            let (me, at) = (getpid(), offset(&file)?);
            say!("child  pid {me}: wrote the line \"child\", offset now {at}")
        }),
        ForkResult::Parent { child } => {
            ensure!(reap(child)? == 0, "the child failed");
            let at = offset(&file)?;
            say!("parent pid {me}: offset now {at}: the child's write moved it")?;
            write(&file, b"parent again\n").context("write()")?;
            let mut bytes = [0; 64];
            let len = pread(&file, &mut bytes, 0).context("pread()")?;
            let text = String::from_utf8_lossy(&bytes[..len]);
            let lines: Vec<&str> = text.lines().collect();
            say!("parent pid {me}: the file holds the lines {lines:?}: none overwritten")?;
            ensure!(at == 13, "expected the parent's offset at 13, found {at}");
            ensure!(text == "parent\nchild\nparent again\n", "found {text:?}");
            say!("Parent and child moved one shared offset: fork shares open files.")
        }
    }
}

/// The current file offset (`lseek(fd, 0, SEEK_CUR)`).
#[cfg(target_os = "linux")]
fn offset(file: impl AsFd) -> Result<i64> {
    lseek(file, 0, Whence::SeekCur).context("lseek()")
}
// ANCHOR_END: fork-fd-offset

/// Runs the child's part after `fork`, then ends the child: exit status 0, or 1 after one line
/// on stderr. It never returns, because the code after the `fork` call is the parent's.
#[cfg(target_os = "linux")]
fn child(body: impl FnOnce() -> Result<()>) -> ! {
    let code = match body() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("fork: error: in child pid {}: {e:#}", getpid());
            1
        }
    };
    std::process::exit(code)
}

// ANCHOR: waitpid
/// Waits until `child` has ended, shows that it is a zombie until reaped, reaps it with
/// `waitpid` and returns its exit status.
#[cfg(target_os = "linux")]
fn reap(child: Pid) -> Result<i32> {
    // WNOWAIT: wait for the child to exit, but leave it unreaped, so that we can look at it.
    waitid(Id::Pid(child), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT).context("waitid()")?;
    let (me, state) = (getpid(), process_state(child)?);
    say!("parent pid {me}: child pid {child} has exited: a zombie (state {state}) until reaped")?;
    ensure!(state == 'Z', "expected a zombie, found state {state}");

    // waitpid hands the parent the exit status, and the kernel frees what was left of the child.
    match waitpid(child, None).context("waitpid()")? {
        WaitStatus::Exited(_, code) => {
            say!("parent pid {me}: waitpid reaped child pid {child}: exit status {code}")?;
            Ok(code)
        }
        other => bail!("child pid {child} did not exit normally: {other:?}"),
    }
}
// ANCHOR_END: waitpid

/// The one-letter state of process `pid` from `/proc/PID/stat` (R running, S sleeping, Z zombie…).
#[cfg(target_os = "linux")]
fn process_state(pid: Pid) -> Result<char> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // "PID (COMMAND) STATE …": the command may itself contain spaces and parentheses.
    let after_command = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
    after_command
        .and_then(|rest| rest.chars().next())
        .with_context(|| format!("unexpected contents of {path}: {stat:?}"))
}
