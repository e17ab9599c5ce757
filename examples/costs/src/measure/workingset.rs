//! The indirect cost of a switch: the pinned pipe ping-pong again, but each side
//! writes to a working set of K KiB (one byte per 64-byte cache line) after every
//! message it receives. Once the two working sets no longer fit in a cache together,
//! every switch is followed by refilling that cache from the next level; two threads
//! that share one working set refill nothing. The figure is the whole round trip:
//! two switches and two passes over K KiB.

use std::time::Instant;

use anyhow::{Result, bail};
use costs::Who;

use super::pair::run_pair;
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

// ANCHOR: working-set
/// `trials` figures of µs per round trip, `round_trips` each, pinned by the caller.
pub fn pingpong(
    sets: Sets,
    kib: u64,
    trials: u32,
    round_trips: u64,
) -> Result<Vec<f64>> {
    let (_mine, my_base, len) = working_set(kib)?;
    let (_theirs, their_base, _) =
        working_set(if sets == Sets::Shared { 0 } else { kib })?;
    let their_base = if sets == Sets::Shared {
        my_base
    } else {
        their_base
    };
    let who = match sets {
        Sets::Own(who) => who,
        Sets::Shared => Who::Thread,
    };
    let (to_partner_r, to_partner_w) = pipe()?;
    let (to_main_r, to_main_w) = pipe()?;
    let close_in_child = [raw(&to_partner_w), raw(&to_main_r)];
    run_pair(
        who,
        &close_in_child,
        move || {
            let mut byte = [0u8; 1];
            loop {
                match raw_read(raw(&to_partner_r), &mut byte) {
                    0 => return 0,
                    n if n < 0 => return 2,
                    _ => {}
                }
                touch(their_base as *mut u8, len);
                if !raw_write_all(raw(&to_main_w), &byte) {
                    return 3;
                }
            }
        },
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
            let mut samples = Vec::new();
            for _ in 0..trials {
                let start = Instant::now();
                for _ in 0..round_trips {
                    one()?;
                }
                samples.push(start.elapsed().as_secs_f64() * 1e6 / round_trips as f64);
            }
            if samples.is_empty() {
                bail!("no trial");
            }
            Ok(samples)
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
