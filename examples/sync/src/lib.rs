//! The room that the semaphore examples' workers enter while they hold a permit. It
//! counts who is inside and the most ever inside at once, with atomics only, so it
//! works between threads (a borrow) and between processes (a `MAP_SHARED` mapping).

use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::SeqCst;
use std::thread;

use example_support::mapping::Zeroed;

#[derive(Default)]
pub struct Room {
    workers: AtomicU32,
    inside: AtomicU32,
    left: AtomicU32,
    peak: AtomicU32,
}

// SAFETY: all-zero bytes are four atomics holding 0.
unsafe impl Zeroed for Room {}

impl Room {
    /// How many workers will visit: set it before they start, and lower it to the
    /// number that really started if creating one failed, so that nobody waits for the
    /// others.
    pub fn expect(&self, workers: u32) {
        self.workers.store(workers, SeqCst);
    }

    /// Called with a permit held. Stays until the room is as full as it can get (every
    /// permit taken, or every worker that has not left yet inside), so that the peak is
    /// exactly min(limit, workers) however the scheduler interleaves the workers.
    pub fn visit(&self, limit: u32) {
        let now = self.inside.fetch_add(1, SeqCst) + 1;
        self.peak.fetch_max(now, SeqCst);
        while self.inside.load(SeqCst) < limit
            && self.inside.load(SeqCst) + self.left.load(SeqCst)
                < self.workers.load(SeqCst)
        {
            thread::yield_now();
        }
        self.inside.fetch_sub(1, SeqCst);
        self.left.fetch_add(1, SeqCst);
    }

    /// The most workers ever inside at once.
    pub fn peak(&self) -> u32 {
        self.peak.load(SeqCst)
    }
}
