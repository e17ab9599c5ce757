//! `cargo run -p fork`: what `fork` copies, what it shares, and what keeps processes apart.
//!
//! 1. After `fork` the child has its own copy of the parent's memory: it changes a variable on its
//!    stack and a value on its heap, and the parent's copies stay as they were, although the heap
//!    value sits at the same address in both processes.
//! 2. An open file is shared: parent and child move one file offset.
//! 3. The descriptor table is copied: a child that closes a descriptor closes only its own copy.
//! 4. Memory protection: the parent may read its child's memory with `process_vm_readv`; a second
//!    child without that permission is refused with `EPERM`.
//!
//! The parent reaps every child with `waitpid`, so no zombie is left behind. Linux only (it reads
//! `/proc` and uses `memfd_create`, `prctl` and `process_vm_readv`).

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

/// Forks children and shows what the processes share and what they do not.
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
    example_support::fd::{outcome, read_descriptor},
    nix::errno::Errno,
    nix::sys::memfd::{MFdFlags, memfd_create},
    nix::sys::prctl::set_dumpable,
    nix::sys::uio::{RemoteIoVec, pread, process_vm_readv},
    nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid, waitpid},
    nix::unistd::{
        ForkResult, Gid, Pid, Uid, Whence, fork, geteuid, getpid, getuid, lseek,
        setgroups, setresgid, setresuid, write,
    },
    std::io::{self, IoSliceMut, Read as _, Write as _},
    std::os::fd::{AsFd, AsRawFd as _},
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
    say!(
        "\n3. Descriptor tables: closing a descriptor in the child leaves the parent's open"
    )?;
    descriptor_table_is_copied()?;
    say!("\n4. Memory protection: reading another process's memory takes permission")?;
    memory_is_protected()?;
    say!()?;
    hygiene.check()
}

// ANCHOR: fork-cow
#[cfg(target_os = "linux")]
fn memory_is_copied() -> Result<()> {
    let mut on_stack: u32 = 1;
    let mut on_heap: Box<u32> = Box::new(10);
    let parent_address = show("parent", on_stack, &on_heap)?;

    // Flush before forking: bytes still waiting in this process's stdout buffer would be copied
    // into the child and printed twice. (Rust's stdout writes out each complete line, but a
    // `print!` without a newline would stay in the buffer.)
    io::stdout().flush()?;
    // SAFETY: this program has a single thread, so the child is a complete copy of a consistent
    // process (no lock held by a thread that does not exist in the child): it may allocate and
    // print. In a multi-threaded program the child could only call async-signal-safe functions.
    match unsafe { fork() }.context("fork()")? {
        ForkResult::Child => child(|| {
            // The child's memory is a copy of the parent's (copy-on-write: the kernel copies a
            // page only when one of the two processes writes to it), so these writes change the
            // child's copies only.
            on_stack += 1;
            *on_heap += 10;
            let child_address = show("child ", on_stack, &on_heap)?;
            ensure!(child_address == parent_address, "the heap value moved");
            let me = getpid();
            say!(
                "child  pid {me}: the heap value is at the same address as in the parent: yes"
            )
        }),
        ForkResult::Parent { child } => {
            ensure!(reap(child)? == 0, "the child failed");
            // Same virtual address as the child printed, but a different physical page.
            show("parent", on_stack, &on_heap)?;
            ensure!(
                on_stack == 1 && *on_heap == 10,
                "the child's writes reached us"
            );
            say!(
                "The child's changes stayed in the child: each process has its own memory."
            )
        }
    }
}

/// One line: which process speaks, its two values, and where the heap value is. Returns that
/// address.
#[cfg(target_os = "linux")]
fn show(who: &str, on_stack: u32, on_heap: &u32) -> Result<usize> {
    let pid = getpid();
    say!("{who} pid {pid}: on_stack = {on_stack}, on_heap = {on_heap} at {on_heap:p}")?;
    Ok(std::ptr::from_ref(on_heap).addr())
}
// ANCHOR_END: fork-cow

// ANCHOR: fork-fd-offset
#[cfg(target_os = "linux")]
fn file_offset_is_shared() -> Result<()> {
    // An anonymous in-memory file: no name in any directory, gone with its last descriptor.
    let file =
        memfd_create("fork-demo", MFdFlags::MFD_CLOEXEC).context("memfd_create()")?;
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
            say!(
                "parent pid {me}: the file holds the lines {lines:?}: none overwritten"
            )?;
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

// ANCHOR: fork-close
#[cfg(target_os = "linux")]
fn descriptor_table_is_copied() -> Result<()> {
    let (mut reader, mut writer) = io::pipe().context("pipe()")?;
    writer.write_all(b"hello").context("write()")?;
    drop(writer);
    let (me, fd) = (getpid(), reader.as_raw_fd());
    say!("parent pid {me}: put \"hello\" in a pipe whose read end is descriptor {fd}")?;

    io::stdout().flush()?;
    // SAFETY: single-threaded, as in `memory_is_copied`.
    match unsafe { fork() }.context("fork()")? {
        ForkResult::Child => child(|| {
            // fork gave the child a copy of the descriptor table: this closes the child's entry.
            drop(reader);
            let after = read_descriptor(fd);
            let me = getpid();
            say!(
                "child  pid {me}: closed descriptor {fd}; reading it: {}",
                outcome(&after)
            )?;
            ensure!(after == Err(Errno::EBADF), "the descriptor is still open");
            Ok(())
        }),
        ForkResult::Parent { child } => {
            finish(child)?;
            let mut text = String::new();
            reader.read_to_string(&mut text).context("read()")?;
            say!(
                "parent pid {me}: read {text:?} from descriptor {fd}: still open here"
            )?;
            ensure!(text == "hello", "expected \"hello\", read {text:?}");
            say!(
                "The child closed its own copy only: each process has its own descriptor table."
            )
        }
    }
}
// ANCHOR_END: fork-close

/// The secret the target keeps on its heap. (The parent builds the same text only to check what
/// it read.)
#[cfg(target_os = "linux")]
fn secret_of(pid: Pid) -> String {
    format!("a secret of child pid {pid}")
}

/// Forks the target and lets the parent and a stranger try to read its memory. Whatever happens,
/// the target is told to end and is reaped.
#[cfg(target_os = "linux")]
fn memory_is_protected() -> Result<()> {
    // Two pipes: commands from the parent to the target, reports from the target to the parent.
    let (commands_in, commands_out) = io::pipe().context("pipe()")?;
    let (reports_in, reports_out) = io::pipe().context("pipe()")?;
    io::stdout().flush()?;
    // SAFETY: single-threaded, as in `memory_is_copied`.
    let target = match unsafe { fork() }.context("fork()")? {
        ForkResult::Child => child(|| {
            // Close the parent's ends, so that the target sees end of file if the parent stops.
            drop((commands_out, reports_in));
            be_the_target(commands_in, reports_out)
        }),
        ForkResult::Parent { child } => child,
    };
    drop((commands_in, reports_out));
    let result = read_the_target(target, &commands_out, reports_in);
    drop(commands_out); // if we stopped early, the target reads end of file and ends
    finish(target)?;
    result?;
    say!(
        "The kernel let the parent in and kept the stranger out: each needs permission."
    )
}

// ANCHOR: protect-target
/// The target: keeps a secret on its heap and tells its parent where; once the parent has read
/// it, makes itself non-dumpable, then waits until the parent says it may end.
#[cfg(target_os = "linux")]
fn be_the_target(
    mut commands: io::PipeReader,
    mut reports: io::PipeWriter,
) -> Result<()> {
    let me = getpid();
    let secret = secret_of(me); // on this process's heap, nowhere else
    let (address, len) = (secret.as_ptr(), secret.len());
    say!("child  pid {me}: keeps {secret:?} on its heap at {address:p}")?;
    reports.write_all(&[address.addr().to_ne_bytes(), len.to_ne_bytes()].concat())?;
    if !go_ahead(&mut commands)? {
        return Ok(());
    }
    // From now on only a process with the CAP_SYS_PTRACE capability may read this memory, even
    // one of the same user (ssh-agent and gpg-agent do this to protect their keys).
    set_dumpable(false).context("prctl(PR_SET_DUMPABLE)")?;
    say!("child  pid {me}: made itself non-dumpable with prctl(PR_SET_DUMPABLE, 0)")?;
    reports.write_all(b"!")?;
    go_ahead(&mut commands)?; // wait until the stranger has tried
    drop(secret); // kept until now
    Ok(())
}
// ANCHOR_END: protect-target

#[cfg(target_os = "linux")]
fn read_the_target(
    target: Pid,
    mut commands: &io::PipeWriter,
    mut reports: io::PipeReader,
) -> Result<()> {
    let mut where_and_how_long = [0; 2 * size_of::<usize>()];
    reports
        .read_exact(&mut where_and_how_long)
        .context("reading the target's report")?;
    let (address, len) = where_and_how_long.split_at(size_of::<usize>());
    let address = usize::from_ne_bytes(address.try_into()?);
    let len = usize::from_ne_bytes(len.try_into()?);

    // ANCHOR: protect-parent
    // The parent is allowed: the target is its own child, runs as the same user and is dumpable.
    let read = read_memory(target, address, len)
        .with_context(|| format!("process_vm_readv() on child pid {target}"))?;
    let me = getpid();
    say!(
        "parent pid {me}: process_vm_readv on child pid {target}: allowed, read {read:?}"
    )?;
    ensure!(read == secret_of(target), "read {read:?} from the target");
    // ANCHOR_END: protect-parent

    commands.write_all(b"!")?; // become non-dumpable
    reports
        .read_exact(&mut [0])
        .context("waiting for the target")?;

    io::stdout().flush()?;
    // SAFETY: single-threaded, as in `memory_is_copied`.
    match unsafe { fork() }.context("fork()")? {
        ForkResult::Child => child(|| be_a_stranger(target, address, len)),
        ForkResult::Parent { child } => finish(child)?,
    }
    commands.write_all(b"!")?; // the target may end
    Ok(())
}

// ANCHOR: read-memory
/// Copies `len` bytes at `address` in process `pid` into our memory, with `process_vm_readv(2)`.
#[cfg(target_os = "linux")]
fn read_memory(pid: Pid, address: usize, len: usize) -> nix::Result<String> {
    let mut bytes = vec![0; len];
    let remote = [RemoteIoVec { base: address, len }];
    let copied = process_vm_readv(pid, &mut [IoSliceMut::new(&mut bytes)], &remote)?;
    Ok(String::from_utf8_lossy(&bytes[..copied]).into_owned())
}
// ANCHOR_END: read-memory

// ANCHOR: protect-stranger
/// A second child, with no permission to read the target: it has no privileges, and, when the
/// example runs as root, it is another user too.
#[cfg(target_os = "linux")]
fn be_a_stranger(target: Pid, address: usize, len: usize) -> Result<()> {
    if geteuid().is_root() {
        // Root holds CAP_SYS_PTRACE, which opens every process's memory. Give it up for good, as
        // a daemon drops its privileges: become user and group nobody (65534), no other groups.
        let (user, group) = (Uid::from_raw(65534), Gid::from_raw(65534));
        setgroups(&[]).context("setgroups()")?;
        setresgid(group, group, group).context("setresgid()")?;
        setresuid(user, user, user).context("setresuid()")?;
    }
    // Not root: then there is no privilege to give up, and the stranger runs as the target's
    // user; what keeps it out is that the target made itself non-dumpable.
    let me = getpid();
    let capabilities = effective_capabilities()?;
    ensure!(capabilities == 0, "capabilities {capabilities:#x} left");
    say!(
        "stranger pid {me}: runs as uid {}, with no capabilities",
        getuid()
    )?;

    let read = read_memory(target, address, len);
    say!(
        "stranger pid {me}: process_vm_readv on child pid {target}: {}",
        outcome(&read)
    )?;
    ensure!(
        read == Err(Errno::EPERM),
        "process_vm_readv was not refused"
    );

    // The same memory is also a file, /proc/PID/mem; opening it takes the same permission.
    let opened = std::fs::File::open(format!("/proc/{target}/mem"))
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)));
    let said = opened
        .as_ref()
        .map_or_else(|e| format!("refused with {e}"), |_| "opened".into());
    say!("stranger pid {me}: open /proc/PID/mem of child pid {target}: {said}")?;
    ensure!(
        opened.is_err_and(|e| e == Errno::EACCES),
        "opening /proc/PID/mem was not refused"
    );
    Ok(())
}
// ANCHOR_END: protect-stranger

/// Waits for a one-byte go-ahead from the parent: `false` if the parent closed the pipe instead.
#[cfg(target_os = "linux")]
fn go_ahead(commands: &mut io::PipeReader) -> Result<bool> {
    let mut byte = [0];
    Ok(commands.read(&mut byte).context("waiting for the parent")? == 1)
}

/// The effective capability set of this process (`CapEff` in `/proc/self/status`).
#[cfg(target_os = "linux")]
fn effective_capabilities() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")
        .context("reading /proc/self/status")?;
    let hex = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .context("no CapEff line in /proc/self/status")?;
    u64::from_str_radix(hex.trim(), 16).context("parsing CapEff")
}

/// Waits for `child` and fails unless it exited with status 0. Quietly: parts 1 and 2 show the
/// zombie and the exit status; the later parts only need the child gone.
#[cfg(target_os = "linux")]
fn finish(child: Pid) -> Result<()> {
    match waitpid(child, None).context("waitpid()")? {
        WaitStatus::Exited(_, 0) => Ok(()),
        other => bail!("child pid {child} failed: {other:?}"),
    }
}

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
    waitid(Id::Pid(child), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT)
        .context("waitid()")?;
    let (me, state) = (getpid(), process_state(child)?);
    say!(
        "parent pid {me}: child pid {child} has exited: a zombie (state {state}) until reaped"
    )?;
    ensure!(state == 'Z', "expected a zombie, found state {state}");

    // waitpid hands the parent the exit status, and the kernel frees what was left of the child.
    match waitpid(child, None).context("waitpid()")? {
        WaitStatus::Exited(_, code) => {
            say!(
                "parent pid {me}: waitpid reaped child pid {child}: exit status {code}"
            )?;
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
    let stat =
        std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // "PID (COMMAND) STATE …": the command may itself contain spaces and parentheses.
    let after_command = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
    after_command
        .and_then(|rest| rest.chars().next())
        .with_context(|| format!("unexpected contents of {path}: {stat:?}"))
}
