//! Throughput: the main task sends `bytes` in 64 KiB messages to the partner, which
//! reads every byte of each; a trial ends when the partner has them all. Each function
//! returns one figure per trial, in GiB/s.
//!
//! Through a pipe or socket the kernel copies each message twice (in from the sender,
//! out to the receiver's buffer). Through shared memory or a channel the sender copies
//! the message once into a buffer both can see, and the receiver reads it where it is.

use std::cell::UnsafeCell;
use std::hint::black_box;
use std::os::fd::{AsFd, OwnedFd};
use std::ptr;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use costs::Who;

use super::pair::run_pair;
use super::sys::{
    Slot, pipe, raw, raw_read, raw_write_all, read_exact, socket_pair, wait_for,
    write_all,
};
use example_support::mapping::{Mapping, Zeroed};

/// Size of one message.
pub const MESSAGE: usize = 64 << 10;

fn gib_per_sec(bytes: u64, start: Instant) -> f64 {
    bytes as f64 / start.elapsed().as_secs_f64() / (1u64 << 30) as f64
}

/// The receiver's work on a message it can read in place: add up its 8-byte words, so
/// every byte is read (and must travel to the receiver's CPU).
fn checksum(message: &[u8]) -> u64 {
    message
        .chunks_exact(8)
        .map(|w| u64::from_ne_bytes(w.try_into().expect("8 bytes")))
        .fold(0, u64::wrapping_add)
}

/// Runs one untimed warm-up trial, then `trials` timed ones.
pub(super) fn timed(
    trials: u32,
    bytes: u64,
    mut one: impl FnMut() -> Result<()>,
) -> Result<Vec<f64>> {
    one()?;
    let mut samples = Vec::with_capacity(trials as usize);
    for _ in 0..trials {
        let start = Instant::now();
        one()?;
        samples.push(gib_per_sec(bytes, start));
    }
    Ok(samples)
}

/// The partner's side of a stream: read `bytes` (into its own buffer), answer with one
/// byte, again until end-of-file. Raw calls only (async-signal-safe).
fn sink(input: OwnedFd, ack: OwnedFd, bytes: u64, mut buf: Vec<u8>) -> i32 {
    loop {
        let mut got = 0u64;
        while got < bytes {
            match raw_read(raw(&input), &mut buf) {
                0 => return 0,
                n if n < 0 => return 2,
                n => got += n as u64,
            }
        }
        black_box(&mut buf);
        if !raw_write_all(raw(&ack), &[1]) {
            return 3;
        }
    }
}

/// The main side of a stream: write `bytes` in 64 KiB messages, wait for the byte back.
fn source(out: impl AsFd, ack: impl AsFd, bytes: u64, message: &[u8]) -> Result<()> {
    for _ in 0..bytes / MESSAGE as u64 {
        write_all(&out, message)?;
    }
    read_exact(&ack, &mut [0u8; 1])
}

/// Through a pipe (the kernel copies each message in, then out to the reader).
pub fn pipe_stream(who: Who, trials: u32, bytes: u64) -> Result<Vec<f64>> {
    let (data_r, data_w) = pipe()?;
    let (ack_r, ack_w) = pipe()?;
    let close_in_child = [raw(&data_w), raw(&ack_r)];
    let buf = vec![0u8; MESSAGE]; // allocated before fork: the child must not allocate
    let message = vec![0xa5u8; MESSAGE];
    run_pair(
        who,
        &close_in_child,
        move || sink(data_r, ack_w, bytes, buf),
        move || timed(trials, bytes, || source(&data_w, &ack_r, bytes, &message)),
    )
}

/// Through a Unix stream socket pair (the answer comes back on the same socket).
pub fn socket_stream(who: Who, trials: u32, bytes: u64) -> Result<Vec<f64>> {
    let (main_end, partner_end) = socket_pair()?;
    let partner_dup = partner_end.try_clone().context("fcntl(F_DUPFD_CLOEXEC)")?;
    let close_in_child = [raw(&main_end)];
    let buf = vec![0u8; MESSAGE];
    let message = vec![0xa5u8; MESSAGE];
    run_pair(
        who,
        &close_in_child,
        move || sink(partner_end, partner_dup, bytes, buf),
        move || {
            timed(trials, bytes, || {
                source(&main_end, &main_end, bytes, &message)
            })
        },
    )
}

/// Slots in the shared-memory ring.
const SLOTS: u64 = 4;

/// A single-producer, single-consumer ring in shared memory: counters, then `SLOTS`
/// message buffers.
#[repr(C)]
struct Ring {
    head: Slot, // messages written
    tail: Slot, // messages taken out
    stop: Slot,
    data: [Buffer; SLOTS as usize],
}

/// One message's bytes, written by the sender and read by the receiver in turn.
#[repr(C)]
struct Buffer(UnsafeCell<[u8; MESSAGE]>);

// SAFETY: atomics and bytes, all valid as zero bytes.
unsafe impl Zeroed for Ring {}
// SAFETY: the head/tail protocol (a Release store after writing a slot, an Acquire load
// before reading it) gives each buffer to one side at a time.
unsafe impl Sync for Buffer {}

impl Ring {
    fn slot(&self, n: u64) -> *mut u8 {
        self.data[(n % SLOTS) as usize].0.get().cast()
    }
}

/// Through a ring of 64 KiB slots in a MAP_SHARED mapping: the sender copies each
/// message in, the receiver reads it in place. No system call at all.
pub fn shm_stream(who: Who, trials: u32, bytes: u64) -> Result<Vec<f64>> {
    // MAP_SHARED: a forked child maps the same ring; the mapping outlives both tasks.
    let ring = Mapping::<Ring>::shared()?;
    let ring = &*ring;
    let message = vec![0xa5u8; MESSAGE];
    run_pair(
        who,
        &[],
        move || {
            let mut tail = 0;
            loop {
                if !wait_for(|| ring.head.load() > tail || ring.stop.load() != 0) {
                    return 4;
                }
                if ring.head.load() == tail {
                    return 0; // stopped, nothing left
                }
                // SAFETY: slot `tail` was published by the Release store of `head`
                // that the Acquire load above saw; the sender will not reuse it
                // before `tail` moves.
                let message =
                    unsafe { std::slice::from_raw_parts(ring.slot(tail), MESSAGE) };
                black_box(checksum(message));
                tail += 1;
                ring.tail.store(tail);
            }
        },
        move || {
            struct Stop<'a>(&'a Slot);
            impl Drop for Stop<'_> {
                fn drop(&mut self) {
                    self.0.store(1);
                }
            }
            let _stop = Stop(&ring.stop);
            let mut head = 0;
            timed(trials, bytes, || {
                for _ in 0..bytes / MESSAGE as u64 {
                    if !wait_for(|| head - ring.tail.load() < SLOTS) {
                        bail!("the shared-memory receiver stopped taking messages");
                    }
                    // SAFETY: the receiver is done with this slot (tail has passed it).
                    unsafe {
                        ptr::copy_nonoverlapping(
                            message.as_ptr(),
                            ring.slot(head),
                            MESSAGE,
                        )
                    };
                    head += 1;
                    ring.head.store(head);
                }
                if !wait_for(|| ring.tail.load() == head) {
                    bail!("the shared-memory receiver stopped taking messages");
                }
                Ok(())
            })
        },
    )
}

/// Through a crossbeam channel between threads. The sender copies each message into a
/// buffer and sends the buffer itself: only a pointer crosses the channel, which is
/// what a shared address space allows. The receiver reads it in place and hands it
/// back for reuse.
pub fn channel_stream(trials: u32, bytes: u64) -> Result<Vec<f64>> {
    let slots = SLOTS as usize;
    let (full_tx, full_rx) = crossbeam::channel::bounded::<Vec<u8>>(slots);
    let (empty_tx, empty_rx) = crossbeam::channel::bounded::<Vec<u8>>(slots);
    for _ in 0..slots {
        empty_tx
            .send(vec![0u8; MESSAGE])
            .expect("room for every buffer");
    }
    let message = vec![0xa5u8; MESSAGE];
    let empty_back = empty_tx.clone();
    run_pair(
        Who::Thread,
        &[],
        move || {
            for buffer in full_rx.iter() {
                black_box(checksum(&buffer));
                if empty_back.send(buffer).is_err() {
                    return 5;
                }
            }
            0
        },
        move || {
            let gone = || anyhow!("channel partner gone");
            timed(trials, bytes, || {
                for _ in 0..bytes / MESSAGE as u64 {
                    let mut buffer = empty_rx.recv().map_err(|_| gone())?;
                    buffer.copy_from_slice(&message);
                    full_tx.send(buffer).map_err(|_| gone())?;
                }
                // All buffers back: the receiver has taken every message.
                let back: Vec<Vec<u8>> = (0..slots)
                    .map(|_| empty_rx.recv().map_err(|_| gone()))
                    .collect::<Result<_>>()?;
                for buffer in back {
                    empty_tx.send(buffer).map_err(|_| gone())?;
                }
                Ok(())
            })
        },
    )
}
