//! `cargo run -p memory-protection`: one process reads another's memory with
//! `process_vm_readv`, where the kernel's checks allow it.
//!
//! The parent forks a target that keeps a secret on its heap, and reads it. Then a
//! second child, the stranger, tries twice: while the target is dumpable, and after the
//! target made itself non-dumpable. Each attempt prints what the kernel checks and,
//! when refused, which check refused; the program fails if the kernel's answer is not
//! the one those checks predict (`access.rs`).

mod access;

use std::io::{self, PipeReader, PipeWriter, Read as _, Write as _};
use std::process::ExitCode;

use access::{Conditions, attempt, has_cap_sys_ptrace, same_ids, secret_of};
use anyhow::{Context, Result, ensure};
use example_support::child::in_child;
use nix::sys::prctl::set_dumpable;
use nix::sys::uio::RemoteIoVec;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Gid, Pid, Uid, fork, geteuid, getpid};
use nix::unistd::{setgroups, setresgid, setresuid};

const NAME: &str = "memory-protection";

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run() -> Result<()> {
    let yama = access::ptrace_scope()?;
    match yama {
        Some(scope) => println!("Yama ptrace_scope: {scope}"),
        None => println!("Yama ptrace_scope: absent (this kernel runs without Yama)"),
    }
    // Commands from the parent to the target, reports from the target to the parent.
    let (commands_in, commands_out) = io::pipe().context("pipe")?;
    let (reports_in, reports_out) = io::pipe().context("pipe")?;
    // SAFETY: this program has one thread, so the child may run ordinary Rust code.
    let target = match unsafe { fork() }.context("fork")? {
        ForkResult::Child => in_child(NAME, "target", || {
            drop((commands_out, reports_in)); // so that the target sees the parent go
            be_the_target(commands_in, reports_out)
        }),
        ForkResult::Parent { child } => child,
    };
    drop((commands_in, reports_out));
    let result = read_the_target(target, yama, &commands_out, reports_in);
    drop(commands_out); // if we stopped early, the target reads end of file and ends
    let status = waitpid(target, None).context("waitpid")?;
    result?;
    ensure!(
        status == WaitStatus::Exited(target, 0),
        "the target failed: {status:?}"
    );
    println!("Each answer was the one the kernel's checks predict.");
    Ok(())
}

// ANCHOR: protect-target
/// The target keeps a secret on its heap and reports where. When the parent says so, it
/// makes itself non-dumpable; then it waits until the parent says it may end.
fn be_the_target(mut commands: PipeReader, mut reports: PipeWriter) -> Result<()> {
    let me = getpid();
    let secret = secret_of(me); // on this process's heap, nowhere else
    let (address, len) = (secret.as_ptr(), secret.len());
    println!("target   pid {me}: keeps {secret:?} on its heap at {address:p}");
    reports.write_all(&[address.addr().to_ne_bytes(), len.to_ne_bytes()].concat())?;
    if commands.read(&mut [0])? == 0 {
        return Ok(()); // the parent has gone
    }
    // From now on only a process with CAP_SYS_PTRACE may read this memory, even one of
    // the same user. ssh-agent does this to protect the keys it holds.
    set_dumpable(false).context("prctl(PR_SET_DUMPABLE)")?;
    println!("target   pid {me}: made itself non-dumpable: prctl(PR_SET_DUMPABLE, 0)");
    reports.write_all(b"!")?;
    let _ = commands.read(&mut [0])?; // wait until the stranger has tried again
    drop(secret); // kept until now
    Ok(())
}
// ANCHOR_END: protect-target

fn read_the_target(
    target: Pid,
    yama: Option<u8>,
    mut commands: &PipeWriter,
    mut reports: PipeReader,
) -> Result<()> {
    let mut report = [0; 2 * size_of::<usize>()];
    reports
        .read_exact(&mut report)
        .context("reading the target's report")?;
    let (address, len) = report.split_at(size_of::<usize>());
    let base = usize::from_ne_bytes(address.try_into()?);
    let remote = RemoteIoVec {
        base,
        len: usize::from_ne_bytes(len.try_into()?),
    };

    let parent = Conditions {
        same_ids: same_ids(target)?,
        cap_sys_ptrace: has_cap_sys_ptrace()?,
        ancestor: true,
        dumpable: true,
        yama,
    };
    attempt("parent  ", target, remote, &parent)?;

    stranger(target, remote, yama, true)?;
    commands.write_all(b"!")?; // become non-dumpable
    reports
        .read_exact(&mut [0])
        .context("waiting for the target")?;
    stranger(target, remote, yama, false)?;
    commands.write_all(b"!")?; // the target may end
    Ok(())
}

/// Forks a stranger, a second child: not the target's ancestor, and without privileges.
fn stranger(
    target: Pid,
    remote: RemoteIoVec,
    yama: Option<u8>,
    dumpable: bool,
) -> Result<()> {
    // SAFETY: this program has one thread, so the child may run ordinary Rust code.
    match unsafe { fork() }.context("fork")? {
        ForkResult::Child => in_child(NAME, "stranger", || {
            be_the_stranger(target, remote, yama, dumpable)
        }),
        ForkResult::Parent { child } => {
            let status = waitpid(child, None).context("waitpid")?;
            ensure!(
                status == WaitStatus::Exited(child, 0),
                "stranger: {status:?}"
            );
            Ok(())
        }
    }
}

// ANCHOR: protect-stranger
/// The stranger: gives up root's privileges, if it has them, and tries.
fn be_the_stranger(
    target: Pid,
    remote: RemoteIoVec,
    yama: Option<u8>,
    dumpable: bool,
) -> Result<()> {
    if geteuid().is_root() {
        // Root holds CAP_SYS_PTRACE. Give it up for good, as a daemon drops its
        // privileges: become user and group nobody (65534), no other group.
        let (user, group) = (Uid::from_raw(65534), Gid::from_raw(65534));
        setgroups(&[]).context("setgroups")?;
        setresgid(group, group, group).context("setresgid")?;
        setresuid(user, user, user).context("setresuid")?;
    }
    let stranger = Conditions {
        same_ids: same_ids(target)?,
        cap_sys_ptrace: has_cap_sys_ptrace()?,
        ancestor: false,
        dumpable,
        yama,
    };
    attempt("stranger", target, remote, &stranger)
}
// ANCHOR_END: protect-stranger
