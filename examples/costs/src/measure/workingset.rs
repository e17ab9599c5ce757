//! The indirect cost of a switch: the pinned pipe ping-pong again, but each side
//! writes to a working set of K KiB (one byte per 64-byte cache line) after every
//! message it receives. Once the two working sets no longer fit in a cache together,
//! every switch is followed by refilling that cache from the next level; two threads
//! that share one working set refill nothing. The figure is the whole round trip:
//! two switches and two passes over K KiB.

use std::os::fd::OwnedFd;

use anyhow::Result;
use costs::Who;

use super::pair::run_pair;
use super::roundtrip::trials_of;
use super::sys::{
    Page, pipe, raw, raw_read, raw_write_all, read_exact, small_pages, write_all,
};

/// Whose working sets: two processes or two threads with one each, or two threads
/// sharing one.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Sets {
    Own(Who),
    Shared,
}

/// Writes one byte in every cache line of `len` bytes at `base` (async-signal-safe).
#[inline(never)]
fn touch(base: *mut u8, len: usize) {
    let mut i = 0;
    while i < len {
        // SAFETY: `base` points to a writable mapping of at least `len` bytes that
        // only this task writes at this moment (the other side is blocked in read).
        unsafe {
            let p = base.add(i);
            p.write_volatile(p.read_volatile().wrapping_add(1));
        }
        i += 64;
    }
}

/// A working set of `kib` KiB in 4 KiB pages (no transparent huge pages, so its TLB
/// footprint is what it would be in most programs' heaps): its address and length.
fn working_set(kib: u64) -> Result<(Vec<Page>, usize, usize)> {
    let mut pages = small_pages((kib / 4) as usize)?;
    let (base, len) = (pages.as_mut_ptr() as usize, pages.len() * size_of::<Page>());
    Ok((pages, base, len))
}

// ANCHOR: partner
/// The partner's side: `echo`, but it writes its working set after each message it
/// receives (async-signal-safe, like `echo`).
fn echo_touching(input: OwnedFd, output: OwnedFd, base: usize, len: usize) -> i32 {
    let mut byte = [0u8; 1];
    loop {
        match raw_read(raw(&input), &mut byte) {
            0 => return 0,
            n if n < 0 => return 2,
            _ => {}
        }
        touch(base as *mut u8, len);
        if !raw_write_all(raw(&output), &byte) {
            return 3;
        }
    }
}
// ANCHOR_END: partner

// ANCHOR: working-set
/// `trials` figures of µs per round trip, `round_trips` each, pinned by the caller.
pub fn pingpong(
    sets: Sets,
    kib: u64,
    trials: u32,
    round_trips: u64,
) -> Result<Vec<f64>> {
    let (_mine, my_base, len) = working_set(kib)?;
    let (who, _theirs, their_base) = match sets {
        Sets::Own(who) => {
            let (theirs, base, _) = working_set(kib)?;
            (who, theirs, base)
        }
        Sets::Shared => (Who::Thread, Vec::new(), my_base), // both write the one set
    };
    let (to_partner_r, to_partner_w) = pipe()?;
    let (to_main_r, to_main_w) = pipe()?;
    let close_in_child = [raw(&to_partner_w), raw(&to_main_r)];
    run_pair(
        who,
        &close_in_child,
        move || echo_touching(to_partner_r, to_main_w, their_base, len),
        move || {
            let mut byte = [7u8; 1];
            let mut one = || -> Result<()> {
                write_all(&to_partner_w, &byte)?;
                read_exact(&to_main_r, &mut byte)?;
                touch(my_base as *mut u8, len);
                Ok(())
            };
            // Warm up: both working sets are mapped and have been written once.
            for _ in 0..2 {
                one()?;
            }
            trials_of(trials, round_trips, one)
            // Dropping the pipe ends stops the partner.
        },
    )
    // The working sets are freed here, after the partner has ended.
}
// ANCHOR_END: working-set

/// Round trips per trial at `kib`: about `budget_kib` written per side and trial, at
/// least 4 and at most `max`.
pub fn round_trips(kib: u64, budget_kib: u64, max: u64) -> u64 {
    if kib == 0 {
        return max;
    }
    (budget_kib / kib).clamp(4, max)
}
