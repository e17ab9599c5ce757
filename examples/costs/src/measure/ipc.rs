//! The communication mechanisms the chapters point to beyond pipes, socket pairs and
//! shared memory: a POSIX message queue, and a futex handoff in shared memory.

use std::ffi::CString;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use costs::Who;
use nix::errno::Errno;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};

use super::pair::run_pair;
use super::roundtrip::timed;
use super::sys::{pipe, raw, raw_write_all, read_exact};
use super::throughput::{self, MESSAGE};
use example_support::mapping::Mapping;

/// A POSIX message queue descriptor, closed on drop.
struct Queue(libc::mqd_t);

impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: the descriptor came from mq_open and is closed once.
        unsafe { libc::mq_close(self.0) };
    }
}

/// The largest message a queue may hold without privileges
/// (/proc/sys/fs/mqueue/msgsize_max, 8192 by default), at most 64 KiB.
pub fn mq_message_size() -> usize {
    std::fs::read_to_string("/proc/sys/fs/mqueue/msgsize_max")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(8192usize)
        .min(MESSAGE)
}

/// Opens a new queue and removes its name at once: the queue lives on, reachable only
/// through the descriptor (which a forked child inherits), and nothing is left in
/// /dev/mqueue however the program ends. SIGINT and SIGTERM are blocked meanwhile, so
/// Ctrl-C cannot fall between `mq_open` and `mq_unlink`.
fn new_queue(msgsize: usize) -> Result<Queue> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "/costs-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let cname = CString::new(name.clone()).expect("no NUL in the name");
    let mut attr: libc::mq_attr = unsafe_zeroed_attr();
    attr.mq_maxmsg = 10.min(max_messages());
    attr.mq_msgsize = msgsize as libc::c_long;
    let mut block = SigSet::empty();
    block.add(Signal::SIGINT);
    block.add(Signal::SIGTERM);
    let mut old = SigSet::empty();
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&block), Some(&mut old))
        .context("pthread_sigmask()")?;
    // SAFETY: `cname` is a NUL-terminated name, `attr` a valid mq_attr; the mode is
    // passed as the variadic argument O_CREAT requires.
    let mqd = unsafe {
        libc::mq_open(
            cname.as_ptr(),
            libc::O_CREAT | libc::O_EXCL | libc::O_RDWR | libc::O_CLOEXEC,
            0o600 as libc::mode_t,
            &attr as *const libc::mq_attr,
        )
    };
    let opened = Errno::result(mqd).map(Queue);
    if opened.is_ok() {
        // SAFETY: `cname` is a NUL-terminated name we just created.
        unsafe { libc::mq_unlink(cname.as_ptr()) };
    }
    let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    opened.with_context(|| format!("mq_open({name})"))
}

fn unsafe_zeroed_attr() -> libc::mq_attr {
    // SAFETY: mq_attr is plain integers; all zeros is a valid value.
    unsafe { std::mem::zeroed() }
}

fn max_messages() -> libc::c_long {
    std::fs::read_to_string("/proc/sys/fs/mqueue/msg_max")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(10)
}

/// mq_send of all of `buf` (async-signal-safe: a system call). False on error.
fn mq_send(q: libc::mqd_t, buf: &[u8]) -> bool {
    loop {
        // SAFETY: `buf` is valid for `buf.len()` bytes.
        let rc = unsafe { libc::mq_send(q, buf.as_ptr().cast(), buf.len(), 0) };
        if rc == 0 {
            return true;
        }
        if Errno::last() != Errno::EINTR {
            return false;
        }
    }
}

/// mq_receive into `buf` (at least the queue's message size): bytes, or -1.
fn mq_receive(q: libc::mqd_t, buf: &mut [u8]) -> isize {
    loop {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
        let n = unsafe {
            libc::mq_receive(
                q,
                buf.as_mut_ptr().cast(),
                buf.len(),
                std::ptr::null_mut(),
            )
        };
        if n >= 0 || Errno::last() != Errno::EINTR {
            return n;
        }
    }
}

/// Round trips of a 1-byte message through two message queues. A queue has no end of
/// file: the main side stops the partner with an empty message.
pub fn mq_pingpong(who: Who, trials: u32, round_trips: u64) -> Result<Vec<f64>> {
    let size = mq_message_size();
    let (to_partner, to_main) = (new_queue(size)?, new_queue(size)?);
    let (p, m) = (to_partner.0, to_main.0);
    let mut buf = vec![0u8; size]; // allocated before fork
    run_pair(
        who,
        &[],
        move || loop {
            match mq_receive(p, &mut buf) {
                0 => return 0, // the stop message
                n if n < 0 => return 2,
                _ => {}
            }
            if !mq_send(m, &buf[..1]) {
                return 3;
            }
        },
        move || {
            let mut back = vec![0u8; size];
            let result = timed(trials, round_trips, || {
                if !mq_send(p, &[7]) {
                    return Err(Errno::last()).context("mq_send()");
                }
                if mq_receive(m, &mut back) != 1 {
                    return Err(Errno::last()).context("mq_receive()");
                }
                Ok(())
            });
            mq_send(p, &[]); // stop the partner, success or not
            result
        },
    )
}

/// Throughput through one message queue, in messages of [`mq_message_size`]; the
/// partner answers each trial's last byte on a pipe.
pub fn mq_stream(who: Who, trials: u32, bytes: u64) -> Result<Vec<f64>> {
    let size = mq_message_size();
    let data = new_queue(size)?;
    let q = data.0;
    let (ack_r, ack_w) = pipe()?;
    let close_in_child = [raw(&ack_r)];
    let mut buf = vec![0u8; size];
    let message = vec![0xa5u8; size];
    let per_trial = bytes / size as u64 * size as u64;
    run_pair(
        who,
        &close_in_child,
        move || loop {
            let mut got = 0u64;
            while got < per_trial {
                match mq_receive(q, &mut buf) {
                    0 => return 0,
                    n if n < 0 => return 2,
                    n => got += n as u64,
                }
            }
            if !raw_write_all(raw(&ack_w), &[1]) {
                return 3;
            }
        },
        move || {
            let result = throughput::timed(trials, per_trial, || {
                for _ in 0..per_trial / size as u64 {
                    if !mq_send(q, &message) {
                        return Err(Errno::last()).context("mq_send()");
                    }
                }
                read_exact(&ack_r, &mut [0u8; 1])
            });
            mq_send(q, &[]);
            result
        },
    )
}

/// The futex word's values.
const MAIN: u32 = 0;
const PARTNER: u32 = 1;
const STOP: u32 = 2;

/// FUTEX_WAIT while `*word == value` (at most a second), or FUTEX_WAKE of one waiter.
/// Shared futexes (no FUTEX_PRIVATE_FLAG): the word may be mapped by two processes.
fn futex(word: &AtomicU32, op: libc::c_int, value: u32) {
    let second = libc::timespec {
        tv_sec: 1,
        tv_nsec: 0,
    };
    // SAFETY: `word` is a valid, aligned u32 for the call's duration; the timeout is
    // only read for FUTEX_WAIT.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            op,
            value,
            &second as *const libc::timespec,
        )
    };
}

/// Round trips through one 32-bit word in a MAP_SHARED mapping: each side hands the
/// turn over with a store and FUTEX_WAKE, then sleeps in FUTEX_WAIT until the turn is
/// its own again. This is what a Mutex or Condvar does underneath, without the lock.
pub fn futex_pingpong(who: Who, trials: u32, round_trips: u64) -> Result<Vec<f64>> {
    // MAP_SHARED: a forked child maps the same word; the mapping outlives both tasks.
    let turn = Mapping::<AtomicU32>::shared()?;
    let turn = &*turn;
    run_pair(
        who,
        &[],
        || loop {
            let start = Instant::now();
            loop {
                match turn.load(Ordering::Acquire) {
                    PARTNER => break,
                    STOP => return 0,
                    _ if start.elapsed().as_secs() > 30 => return 4,
                    v => futex(turn, libc::FUTEX_WAIT, v),
                }
            }
            turn.store(MAIN, Ordering::Release);
            futex(turn, libc::FUTEX_WAKE, 1);
        },
        || {
            let result = timed(trials, round_trips, || {
                turn.store(PARTNER, Ordering::Release);
                futex(turn, libc::FUTEX_WAKE, 1);
                let start = Instant::now();
                while turn.load(Ordering::Acquire) == PARTNER {
                    if start.elapsed().as_secs() > 30 {
                        bail!("the futex partner stopped answering");
                    }
                    futex(turn, libc::FUTEX_WAIT, PARTNER);
                }
                Ok(())
            });
            turn.store(STOP, Ordering::Release);
            futex(turn, libc::FUTEX_WAKE, 1);
            result
        },
    )
}
