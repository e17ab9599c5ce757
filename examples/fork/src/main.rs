//! `cargo run -p fork`: after `fork` the child has its own copy of the parent's
//! memory. It changes a variable on its stack and a value on its heap; the parent's
//! copies stay as they were, at the same address. The child then exits and stays a
//! zombie until the parent reaps it with `waitpid`.

use std::io::{self, Write as _};
use std::process::ExitCode;

use anyhow::{Context, Result, bail, ensure};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid, waitpid};
use nix::unistd::{ForkResult, Pid, fork, getpid};

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run() -> Result<()> {
    // ANCHOR: fork-cow
    let mut on_stack: u32 = 1;
    let mut on_heap: Box<u32> = Box::new(10);
    let address = std::ptr::from_ref(&*on_heap).addr();
    show("parent", on_stack, &on_heap);

    // Bytes still in this process's stdout buffer would be copied into the child and
    // printed twice. (`println!` writes out each whole line; `print!` may not.)
    io::stdout().flush()?;
    // SAFETY: this program has one thread, so the child is a consistent copy of it (no
    // lock is held by a thread that does not exist in the child): it may allocate and
    // print. A multi-threaded program could call only async-signal-safe functions.
    match unsafe { fork() }.context("fork")? {
        ForkResult::Child => {
            // These writes change the child's copies only.
            on_stack += 1;
            *on_heap += 10;
            let pid = getpid();
            show("child ", on_stack, &on_heap);
            let same = std::ptr::from_ref(&*on_heap).addr() == address;
            let yes = if same { "yes" } else { "no" };
            println!(
                "child  pid {pid}: the heap value is at the parent's address: {yes}"
            );
            // Never return into the parent's code: end the child here.
            std::process::exit(if same { 0 } else { 1 });
        }
        ForkResult::Parent { child } => {
            let code = reap(child)?;
            ensure!(code == 0, "the child failed with exit status {code}");
            // The same virtual address as in the child, but another physical page.
            show("parent", on_stack, &on_heap);
            ensure!(
                on_stack == 1 && *on_heap == 10,
                "the child's writes reached us"
            );
            println!("The child's changes stayed in the child: it has its own memory.");
        }
    }
    // ANCHOR_END: fork-cow
    Ok(())
}

/// One line: who speaks, its pid, its two values, and the heap value's address.
fn show(who: &str, on_stack: u32, on_heap: &u32) {
    let pid = getpid();
    println!(
        "{who} pid {pid}: on_stack = {on_stack}, on_heap = {on_heap} at {on_heap:p}"
    );
}

// ANCHOR: waitpid
/// Waits until `child` has exited, shows that it is a zombie until reaped, reaps it
/// with `waitpid` and returns its exit status.
fn reap(child: Pid) -> Result<i32> {
    let me = getpid();
    // WNOWAIT: wait until the child has exited, but leave it unreaped, to look at it.
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT;
    let state = waitid(Id::Pid(child), flags)
        .context("waitid")
        .and_then(|_| process_state(child));
    if let Ok(state) = &state {
        println!(
            "parent pid {me}: child pid {child} has exited: a zombie (state {state})"
        );
    }
    // waitpid hands the parent the exit status; the kernel frees the rest of the child.
    // It runs whatever happened above: a child nobody waits for stays a zombie.
    let status = waitpid(child, None).context("waitpid")?;
    ensure!(state? == 'Z', "the child was not a zombie before waitpid");
    let WaitStatus::Exited(_, code) = status else {
        bail!("child pid {child} did not exit normally: {status:?}");
    };
    println!("parent pid {me}: waitpid reaped child pid {child}: exit status {code}");
    Ok(code)
}
// ANCHOR_END: waitpid

/// The one-letter state of process `pid` in `/proc/PID/stat` (R running, S sleeping,
/// Z zombie…).
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
