//! Round trips: this thread sends a small message, the partner (process or thread)
//! sends it back. Over a pipe or socket each side blocks in `read` until the other
//! writes, so every round trip is two context switches when both share one CPU: the
//! method of `perf bench sched pipe`. Each function returns one figure per trial, in µs
//! per round trip.

use std::hint::black_box;
use std::os::fd::OwnedFd;
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use costs::Who;

use super::pair::run_pair;
use super::sys::{
    Slot, pipe, raw, raw_read, raw_write_all, read_exact, socket_pair, wait_for,
    write_all,
};
use example_support::mapping::{Mapping, Zeroed};

/// Round trips before the first timed trial: both tasks exist, caches and the scheduler
/// have settled.
const WARM_UP: u64 = 100;

/// Times `trials` runs of `round_trips` calls of `one`, after a warm-up.
pub(super) fn timed(
    trials: u32,
    round_trips: u64,
    mut one: impl FnMut() -> Result<()>,
) -> Result<Vec<f64>> {
    for _ in 0..WARM_UP.min(round_trips) {
        one()?;
    }
    trials_of(trials, round_trips, one)
}

/// Times `trials` runs of `round_trips` calls of `one`: µs per call, a figure per run.
pub(super) fn trials_of(
    trials: u32,
    round_trips: u64,
    mut one: impl FnMut() -> Result<()>,
) -> Result<Vec<f64>> {
    let mut samples = Vec::with_capacity(trials as usize);
    for _ in 0..trials {
        let start = Instant::now();
        for _ in 0..round_trips {
            one()?;
        }
        samples.push(start.elapsed().as_secs_f64() * 1e6 / round_trips as f64);
    }
    Ok(samples)
}

// ANCHOR: echo
/// The partner's side: read one byte, write it back, until end-of-file.
/// Raw system calls only, so it is safe in a forked child of a multi-threaded parent.
pub(super) fn echo(input: OwnedFd, output: OwnedFd) -> i32 {
    let mut byte = [0u8; 1];
    loop {
        match raw_read(raw(&input), &mut byte) {
            0 => return 0, // the main side closed its end: done
            n if n < 0 => return 2,
            _ => {}
        }
        if !raw_write_all(raw(&output), &byte) {
            return 3;
        }
    }
}
// ANCHOR_END: echo

/// 1-byte ping-pong through two pipes, as `perf bench sched pipe` does.
pub fn pipe_pingpong(who: Who, trials: u32, round_trips: u64) -> Result<Vec<f64>> {
    let (to_partner_r, to_partner_w) = pipe()?;
    let (to_main_r, to_main_w) = pipe()?;
    let close_in_child = [raw(&to_partner_w), raw(&to_main_r)];
    run_pair(
        who,
        &close_in_child,
        move || echo(to_partner_r, to_main_w),
        move || {
            let mut byte = [7u8; 1];
            timed(trials, round_trips, || {
                write_all(&to_partner_w, &byte)?;
                read_exact(&to_main_r, &mut byte)
            })
            // Returning drops both ends: the partner reads end-of-file and stops.
        },
    )
}

/// The same ping-pong over one connected pair of Unix stream sockets.
pub fn socket_pingpong(who: Who, trials: u32, round_trips: u64) -> Result<Vec<f64>> {
    let (main_end, partner_end) = socket_pair()?;
    let close_in_child = [raw(&main_end)];
    let partner_dup = partner_end.try_clone().context("fcntl(F_DUPFD_CLOEXEC)")?;
    run_pair(
        who,
        &close_in_child,
        move || echo(partner_end, partner_dup),
        move || {
            let mut byte = [7u8; 1];
            timed(trials, round_trips, || {
                write_all(&main_end, &byte)?;
                read_exact(&main_end, &mut byte)
            })
        },
    )
}

/// Ping-pong between two threads over a Mutex and a Condvar: futex wait and wake, no
/// pipe.
pub fn condvar_pingpong(trials: u32, round_trips: u64) -> Result<Vec<f64>> {
    #[derive(Default)]
    struct Ball {
        partners_turn: bool,
        stop: bool,
    }
    let ball = Mutex::new(Ball::default());
    let changed = Condvar::new();
    let poisoned = |_| anyhow!("a thread panicked holding the lock");
    run_pair(
        Who::Thread,
        &[],
        || {
            let Ok(mut b) = ball.lock() else { return 6 };
            loop {
                while !b.partners_turn && !b.stop {
                    let Ok(next) = changed.wait(b) else { return 6 };
                    b = next;
                }
                if b.stop {
                    return 0;
                }
                b.partners_turn = false; // hit the ball back
                changed.notify_one();
            }
        },
        || {
            let result = timed(trials, round_trips, || {
                let mut b = ball.lock().map_err(poisoned)?;
                b.partners_turn = true; // serve
                changed.notify_one();
                while b.partners_turn {
                    b = changed.wait(b).map_err(poisoned)?;
                }
                Ok(())
            });
            // Stop the partner, success or not.
            ball.lock().map_err(poisoned)?.stop = true;
            changed.notify_one();
            result
        },
    )
}

/// Two counters in memory both tasks map: the main task bumps `ping`, the partner
/// copies it to `pong`. Neither blocks in the kernel: each spins (then yields) until
/// the other's write shows up.
#[repr(C)]
struct PingPong {
    ping: Slot,
    pong: Slot,
}

// SAFETY: two Slots, each valid as zero bytes.
unsafe impl Zeroed for PingPong {}

const STOP: u64 = u64::MAX;

/// Stops the partner when the main side returns, however it returns.
struct StopOnDrop<'a>(&'a Slot, u64);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(self.1);
    }
}

// ANCHOR: shm-pingpong
/// Round trips through shared memory: the same MAP_SHARED mapping between two processes
/// (after fork) or two threads.
pub fn shm_pingpong(who: Who, trials: u32, round_trips: u64) -> Result<Vec<f64>> {
    // MAP_SHARED: a forked child maps the same pages; the mapping outlives both tasks.
    let table = Mapping::<PingPong>::shared()?;
    let table = &*table;
    run_pair(
        who,
        &[],
        || {
            let mut last = 0;
            loop {
                if !wait_for(|| table.ping.load() != last) {
                    return 4; // the main side is gone
                }
                last = table.ping.load();
                if last == STOP {
                    return 0;
                }
                table.pong.store(last);
            }
        },
        || {
            let _stop = StopOnDrop(&table.ping, STOP);
            let mut seq = 0;
            timed(trials, round_trips, || {
                seq += 1;
                table.ping.store(seq);
                if !wait_for(|| table.pong.load() == seq) {
                    bail!("the shared-memory partner stopped answering");
                }
                Ok(())
            })
        },
    )
}
// ANCHOR_END: shm-pingpong

/// Round trips through two crossbeam channels between two threads.
pub fn channel_pingpong(trials: u32, round_trips: u64) -> Result<Vec<f64>> {
    let (to_partner, partner_rx) = crossbeam::channel::bounded::<u64>(1);
    let (partner_tx, to_main) = crossbeam::channel::bounded::<u64>(1);
    run_pair(
        Who::Thread,
        &[],
        move || {
            for v in partner_rx.iter() {
                if partner_tx.send(v).is_err() {
                    return 5;
                }
            }
            0 // the main side dropped its sender
        },
        move || {
            let mut seq = 0u64;
            timed(trials, round_trips, || {
                seq += 1;
                to_partner
                    .send(seq)
                    .map_err(|_| anyhow!("channel partner gone"))?;
                let back = to_main
                    .recv()
                    .map_err(|_| anyhow!("channel partner gone"))?;
                black_box(back);
                Ok(())
            })
        },
    )
}
