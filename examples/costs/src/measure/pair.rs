//! Two tasks talking: this thread, and a partner that is either a forked process or a
//! thread. The partner runs the very same code in both cases, so any difference in the
//! figures comes from processes vs threads, not from the benchmark.

use std::os::fd::RawFd;

use anyhow::{Result, anyhow, bail};

use super::sys::{fork_child, raw_close};
use costs::Who;

/// Runs `partner` in a forked child (`Who::Process`) or a scoped thread (`Who::Thread`)
/// and `main` on the calling thread, then waits for the partner.
///
/// `main` must make the partner finish when it returns, success or error: by dropping
/// the descriptors it owns (the partner then reads end-of-file) or by raising a stop
/// flag. `close_in_child`: `main`'s descriptors, which a forked child inherits and must
/// close so that it can see end-of-file. `partner` returns 0 on success, like an exit
/// status; in a forked child it must stay async-signal-safe (see [`fork_child`]).
pub fn run_pair<T>(
    who: Who,
    close_in_child: &[RawFd],
    partner: impl FnOnce() -> i32 + Send,
    main: impl FnOnce() -> Result<T>,
) -> Result<T> {
    match who {
        Who::Process => {
            let child = fork_child(move || {
                for &fd in close_in_child {
                    raw_close(fd);
                }
                partner()
            })?;
            // Here the parent's copy of `partner` (and the descriptors it owns) is
            // dropped: only the child holds the partner's ends now.
            let result = main()?;
            child.wait()?;
            Ok(result)
        }
        Who::Task => bail!("an async task is not a partner for run_pair"),
        Who::Thread => std::thread::scope(|s| {
            let handle = super::sys::creating(
                std::thread::Builder::new().spawn_scoped(s, partner),
                "pthread_create()",
            )?;
            let result = main();
            let code = handle
                .join()
                .map_err(|_| anyhow!("the partner thread panicked"))?;
            let result = result?;
            if code != 0 {
                bail!("the partner thread failed with code {code}");
            }
            Ok(result)
        }),
    }
}
