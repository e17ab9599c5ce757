//! The checks the kernel makes before one process may read another's memory with
//! `process_vm_readv` or through `/proc/PID/mem` ("ptrace access" in attach mode):
//! first `__ptrace_may_access` in kernel/ptrace.c, then the Yama security module.

use std::fmt;
use std::fs::File;
use std::io::IoSliceMut;

use anyhow::{Context, Result, bail, ensure};
use example_support::{errno_text, proc::status_field};
use nix::errno::Errno;
use nix::sys::uio::{RemoteIoVec, process_vm_readv};
use nix::unistd::{Pid, getgid, getpid, getuid};

/// What those checks look at, for one caller and its target.
pub struct Conditions {
    /// The caller's real uid and gid are the target's real, effective and saved ids.
    pub same_ids: bool,
    /// The caller holds `CAP_SYS_PTRACE`, which passes every check below but Yama's 3.
    pub cap_sys_ptrace: bool,
    /// The caller is an ancestor of the target: its parent, or the parent's parent…
    pub ancestor: bool,
    /// The target is dumpable: it has not called `prctl(PR_SET_DUMPABLE, 0)`.
    pub dumpable: bool,
    /// Yama's `ptrace_scope`, or `None` when the kernel runs without Yama.
    pub yama: Option<u8>,
}

/// The check that refuses access.
#[derive(Debug)]
pub enum Check {
    Ids,
    Dumpable,
    Yama(u8),
}

impl Conditions {
    /// Which check refuses, taken in the kernel's order; `None` when access is allowed.
    pub fn refused_by(&self) -> Option<Check> {
        let cap = self.cap_sys_ptrace;
        if !self.same_ids && !cap {
            return Some(Check::Ids);
        }
        if !self.dumpable && !cap {
            return Some(Check::Dumpable);
        }
        match self.yama {
            Some(1) if !self.ancestor && !cap => Some(Check::Yama(1)),
            Some(2) if !cap => Some(Check::Yama(2)),
            Some(3) => Some(Check::Yama(3)),
            _ => None,
        }
    }
}

impl fmt::Display for Conditions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let yes = |b: bool| if b { "yes" } else { "no" };
        write!(
            f,
            "same ids: {}, CAP_SYS_PTRACE: {}, ancestor: {}, target dumpable: {}",
            yes(self.same_ids),
            yes(self.cap_sys_ptrace),
            yes(self.ancestor),
            yes(self.dumpable)
        )
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::Ids => write!(f, "the ids check"),
            Check::Dumpable => write!(f, "the dumpable check"),
            Check::Yama(1) => write!(f, "Yama (scope 1: ancestors only)"),
            Check::Yama(2) => write!(f, "Yama (scope 2: CAP_SYS_PTRACE only)"),
            Check::Yama(scope) => write!(f, "Yama (scope {scope}: nobody)"),
        }
    }
}

/// `/proc/sys/kernel/yama/ptrace_scope`, or `None` when the file does not exist.
pub fn ptrace_scope() -> Result<Option<u8>> {
    let path = "/proc/sys/kernel/yama/ptrace_scope";
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text.trim().parse().context("parsing ptrace_scope")?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).context(format!("reading {path}")),
    }
}

/// Whether this process's real uid and gid are the real, effective and saved ids of
/// `target` (the `Uid:` and `Gid:` lines of `/proc/PID/status`: real, effective, saved,
/// filesystem).
pub fn same_ids(target: Pid) -> Result<bool> {
    let status = format!("/proc/{target}/status");
    let matches = |field: &str, mine: u32| -> Result<bool> {
        let ids = status_field(&status, field)?;
        let mut ids = ids.split_whitespace().map(|id| id.parse::<u32>());
        Ok(ids.by_ref().take(3).all(|id| id == Ok(mine)))
    };
    Ok(matches("Uid", getuid().as_raw())? && matches("Gid", getgid().as_raw())?)
}

/// Whether this process's effective capabilities include `CAP_SYS_PTRACE` (bit 19).
pub fn has_cap_sys_ptrace() -> Result<bool> {
    let hex = status_field("/proc/self/status", "CapEff")?;
    let caps = u64::from_str_radix(&hex, 16).context("parsing CapEff")?;
    Ok(caps & (1 << 19) != 0)
}

/// The secret the target keeps on its heap.
pub fn secret_of(pid: Pid) -> String {
    format!("a secret of pid {pid}")
}

/// Tries to read the target's memory two ways: `process_vm_readv`, and opening
/// `/proc/PID/mem`. Prints the conditions and the answers; fails unless each answer is
/// the one the kernel's checks predict for these conditions.
pub fn attempt(
    who: &str,
    target: Pid,
    remote: RemoteIoVec,
    now: &Conditions,
) -> Result<()> {
    let me = getpid();
    println!("{who} pid {me}: {now}");
    // ANCHOR: two-ways
    let mut bytes = vec![0; remote.len];
    let read = process_vm_readv(target, &mut [IoSliceMut::new(&mut bytes)], &[remote]);
    let read =
        read.map(|_| format!("allowed, read {:?}", String::from_utf8_lossy(&bytes)));
    let opened = File::open(format!("/proc/{target}/mem"))
        .map(|_| "allowed".to_owned())
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)));
    // ANCHOR_END: two-ways
    let got = String::from_utf8_lossy(&bytes);
    ensure!(
        read.is_err() || got == secret_of(target),
        "process_vm_readv read {got:?}, not the target's secret"
    );
    let refused_by = now.refused_by();
    for (way, answer, refusal) in [
        ("process_vm_readv", read, Errno::EPERM),
        ("open /proc/PID/mem", opened, Errno::EACCES),
    ] {
        let said = match (answer, &refused_by) {
            (Ok(said), None) => said,
            (Err(e), Some(check)) if e == refusal => {
                format!("refused with {}, by {check}", errno_text(e))
            }
            (answer, _) => {
                let got = answer.map_or_else(errno_text, |_| "allowed".to_owned());
                let predicted = refused_by
                    .as_ref()
                    .map_or("allowed".into(), |c| format!("refused by {c}"));
                bail!("{way} by pid {me}: {got}, where the checks predict: {predicted}")
            }
        };
        println!("{who} pid {me}: {way}: {said}");
    }
    Ok(())
}
