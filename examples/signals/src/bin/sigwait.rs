//! The usual way to take signals in a threaded program: block them in every thread,
//! and let one thread wait for them with `sigwait`. No handler runs; the waiting thread
//! gets each signal as an ordinary value, and may do anything with it.

use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;

use anyhow::{Context, Result, anyhow, bail, ensure};
use nix::errno::Errno;
use nix::sys::signal::{SigSet, Signal, kill, raise};
use nix::unistd::getpid;

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run() -> Result<()> {
    // ANCHOR: block
    let signals = SigSet::from_iter([Signal::SIGUSR1, Signal::SIGTERM]);
    println!("Main thread: blocks SIGUSR1 and SIGTERM before it starts any thread");
    signals.thread_block().context("pthread_sigmask")?; // inherited by new threads
    // ANCHOR_END: block
    let received = thread::scope(|s| -> Result<_> {
        let (events, received) = mpsc::channel();
        // ANCHOR: waiter
        let waiter = thread::Builder::new()
            .spawn_scoped(s, move || -> Result<()> {
                loop {
                    let signal = sigwait(&signals)?;
                    // An ordinary thread: it may allocate, lock and print.
                    println!("Signal thread: sigwait returned {signal}");
                    events.send(signal)?;
                    if signal == Signal::SIGTERM {
                        return Ok(());
                    }
                }
            })
            .context("spawning a thread")?;
        // ANCHOR_END: waiter
        // ANCHOR: send
        let mut got = Vec::new();
        for signal in [Signal::SIGUSR1, Signal::SIGTERM] {
            println!("Main thread: kill(pid {}, {signal})", getpid());
            kill(getpid(), signal).context("kill")?;
            let Ok(event) = received.recv() else { break };
            println!("Main thread: the signal thread passed on {event}");
            got.push(event);
        }
        // ANCHOR_END: send
        waiter
            .join()
            .map_err(|_| anyhow!("the signal thread panicked"))??;
        Ok(got)
    })?;
    ensure!(
        received == [Signal::SIGUSR1, Signal::SIGTERM],
        "received {received:?}"
    );
    println!("Both signals reached one thread, as values, and no handler ran.");
    Ok(())
}

/// `sigwait(2)`, through `sigwaitinfo(2)`, which also says who sent the signal. One
/// that another process sent (`kill PID`) is not part of this story: it gets its usual
/// effect, the default action, which ends the process.
fn sigwait(set: &SigSet) -> Result<Signal> {
    let mut info = std::mem::MaybeUninit::<libc::siginfo_t>::uninit();
    // SAFETY: `set` is a valid signal set and `info` a buffer the kernel fills.
    let number = unsafe { libc::sigwaitinfo(set.as_ref(), info.as_mut_ptr()) };
    let signal = Signal::try_from(Errno::result(number).context("sigwait")?)?;
    // SAFETY: sigwaitinfo succeeded, so it filled `info`; a signal sent by kill(2)
    // carries the sender's pid.
    let (code, sender) =
        unsafe { (info.assume_init().si_code, info.assume_init().si_pid()) };
    if code != libc::SI_USER || sender != getpid().as_raw() {
        SigSet::from_iter([signal])
            .thread_unblock()
            .context("pthread_sigmask")?;
        raise(signal).context("raise")?; // delivered to this thread at once: the end
        bail!("{signal} from pid {sender} did not end the process");
    }
    Ok(signal)
}
