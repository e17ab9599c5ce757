//! A forked child that runs one closure and is reaped exactly once.

use anyhow::{Context, Result, anyhow};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, getpid};

/// A forked child that is reaped exactly once: by [`Child::wait`] or [`Child::status`], or
/// killed and reaped on drop if an error cut the story short.
pub struct Child {
    pid: Option<Pid>,
    /// Whether the child says itself why it failed ([`in_child`]): exit status 1.
    reports: bool,
}

impl Child {
    /// Takes charge of the already forked child `pid`.
    pub fn new(pid: Pid) -> Child {
        Child { pid: Some(pid), reports: false }
    }

    pub fn pid(&self) -> Pid {
        self.pid.expect("not yet waited for")
    }

    /// Reaps the child and returns how it ended; an error (already said) if it reported its
    /// own error.
    pub fn status(mut self) -> Result<WaitStatus> {
        let pid = self.pid.take().expect("waited once");
        match waitpid(pid, None).context("waitpid()")? {
            WaitStatus::Exited(_, 1) if self.reports => Err(crate::AlreadySaid.into()),
            status => Ok(status),
        }
    }

    /// Reaps the child; an error unless it exited with status 0.
    pub fn wait(self) -> Result<()> {
        let pid = self.pid();
        match self.status()? {
            WaitStatus::Exited(_, 0) => Ok(()),
            status => Err(anyhow!("child pid {pid} failed: {status:?}")),
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.take() {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
    }
}

/// In a forked child: runs `body` and exits, 0 on success, 1 with `EXAMPLE: error: in the WHO
/// (pid N): CAUSE` on stderr, 101 on a panic. It never returns into the parent's code, and so
/// never drops the parent's guards.
pub fn in_child(example: &str, who: &str, body: impl FnOnce() -> Result<()>) -> ! {
    let code = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(Ok(())) => 0,
        Ok(Err(err)) => {
            let (pid, cause) = (getpid(), crate::one_line(&err));
            eprintln!("{example}: error: in the {who} (pid {pid}): {cause}");
            1
        }
        Err(_) => 101,
    };
    std::process::exit(code)
}

/// Forks; the child runs `body` as [`in_child`] does, and the parent gets the [`Child`].
///
/// # Safety
///
/// The process must be single-threaded: the child runs ordinary Rust code (allocation, stdio,
/// locks), which is only sound after `fork` if no other thread could have held a lock or been
/// halfway through an update at the moment of the fork.
pub unsafe fn fork_child(
    example: &str,
    who: &str,
    body: impl FnOnce() -> Result<()>,
) -> Result<Child> {
    // SAFETY: the caller guarantees that the process is single-threaded.
    match unsafe { fork() }.context("fork()")? {
        ForkResult::Parent { child } => Ok(Child { pid: Some(child), reports: true }),
        ForkResult::Child => in_child(example, who, body),
    }
}
