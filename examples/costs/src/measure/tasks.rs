//! Async tasks (tokio) beside threads and processes: spawn + join, a round trip
//! between two tasks through channels, the memory of an idle task, and spawning while
//! idle tasks exist. A task is not a kernel object: the kernel's accounting cannot see
//! one, so its memory is also counted here where it is allocated, by a global
//! allocator that keeps a running total of the bytes in use.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, AtomicU32, Ordering};
use std::time::Instant;

use anyhow::{Result, anyhow, bail};
use tokio::runtime::{Builder, Runtime};
use tokio::sync::{Semaphore, mpsc};

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static IN_USE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is a
// side effect that allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        IN_USE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as above, for `dealloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        IN_USE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as above, for `alloc_zeroed`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        IN_USE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: as above, for `realloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn heap_in_use() -> isize {
    IN_USE.load(Ordering::Relaxed)
}

/// A runtime on this thread only (`multi = false`) or with two worker threads.
pub fn runtime(multi: bool) -> Result<Runtime> {
    let runtime = if multi {
        Builder::new_multi_thread().worker_threads(2).build()
    } else {
        Builder::new_current_thread().build()
    };
    super::sys::creating(runtime, "building a tokio runtime (spawning its threads)")
}

/// tokio::spawn of an empty task, then awaiting its JoinHandle: µs per spawn + join.
pub fn spawn_join(rt: &Runtime, ops: u64) -> Result<f64> {
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..ops {
            tokio::spawn(async {}).await?;
        }
        Ok(start.elapsed().as_secs_f64() * 1e6 / ops as f64)
    })
}

/// Round trips of a number between two tasks through two bounded channels; on a
/// current-thread runtime both tasks take turns on this one thread and the kernel
/// never switches.
pub fn channel_pingpong(
    rt: &Runtime,
    trials: u32,
    round_trips: u64,
) -> Result<Vec<f64>> {
    rt.block_on(async {
        let (to_partner, mut partner_rx) = mpsc::channel::<u64>(1);
        let (partner_tx, mut to_main) = mpsc::channel::<u64>(1);
        let partner = tokio::spawn(async move {
            while let Some(v) = partner_rx.recv().await {
                if partner_tx.send(v).await.is_err() {
                    break;
                }
            }
        });
        // The timed side runs as a task too, so on a multi-thread runtime both are on
        // worker threads.
        let main = tokio::spawn(async move {
            let gone = || anyhow!("the partner task is gone");
            let mut samples = Vec::new();
            let mut seq = 0u64;
            for trial in 0..=trials {
                let start = Instant::now();
                for _ in 0..round_trips {
                    seq += 1;
                    to_partner.send(seq).await.map_err(|_| gone())?;
                    to_main.recv().await.ok_or_else(gone)?;
                }
                if trial > 0 {
                    // Trial 0 is the warm-up.
                    samples
                        .push(start.elapsed().as_secs_f64() * 1e6 / round_trips as f64);
                }
            }
            Ok::<_, anyhow::Error>(samples)
            // Dropping `to_partner` ends the partner's loop.
        });
        let samples = main.await??;
        partner.await?;
        Ok(samples)
    })
}

/// In the probe: `n` tasks that wait on a closed gate (a semaphore without permits).
/// Returns KiB per task by the kernel's accounting (growth of this process's PSS) and
/// by the allocator's (heap bytes the runtime holds for each task).
pub fn idle_tasks(n: u32) -> Result<(f64, f64)> {
    let rt = runtime(false)?;
    let gate = Arc::new(Semaphore::new(0));
    let arrived = Arc::new(AtomicU32::new(0));
    let (pss_before, heap_before) = (super::memory::own_pss()?, heap_in_use());
    let mut handles = Vec::with_capacity(n as usize);
    let (pss, heap) = rt.block_on(async {
        for _ in 0..n {
            let (gate, arrived) = (gate.clone(), arrived.clone());
            handles.push(tokio::spawn(async move {
                arrived.fetch_add(1, Ordering::Relaxed);
                let _ = gate.acquire().await; // Err once the gate is closed
            }));
        }
        while arrived.load(Ordering::Relaxed) < n {
            tokio::task::yield_now().await; // let every task run to its wait
        }
        let heap = heap_in_use() - heap_before;
        let pss = super::memory::own_pss()? - pss_before;
        gate.close();
        for h in handles.drain(..) {
            h.await?;
        }
        Ok::<_, anyhow::Error>((pss, heap))
    })?;
    let n = f64::from(n);
    Ok((pss / n, heap as f64 / 1024.0 / n))
}

/// Spawn + join of a task while `idle` tasks wait on the same runtime (current thread).
pub fn spawn_join_with_idle(idle: u64, trials: u32, ops: u64) -> Result<Vec<f64>> {
    let rt = runtime(false)?;
    let gate = Arc::new(Semaphore::new(0));
    let result = rt.block_on(async {
        let mut waiting = Vec::new();
        for _ in 0..idle {
            let gate = gate.clone();
            waiting.push(tokio::spawn(async move {
                let _ = gate.acquire().await;
            }));
        }
        tokio::task::yield_now().await;
        let mut samples = Vec::new();
        for trial in 0..=trials {
            let start = Instant::now();
            for _ in 0..ops {
                tokio::spawn(async {}).await?;
            }
            if trial > 0 {
                samples.push(start.elapsed().as_secs_f64() * 1e6 / ops as f64);
            }
        }
        gate.close();
        for w in waiting {
            w.await?;
        }
        Ok::<_, anyhow::Error>(samples)
    });
    if let Ok(s) = &result
        && s.is_empty()
    {
        bail!("no trial");
    }
    result
}
