//! The measurements. Each function measures one thing and returns per-operation
//! figures; `main.rs` decides what to run, pinned or not, how often, and in which
//! order.

pub mod creation;
pub mod crosscheck;
pub mod ipc;
pub mod machine;
pub mod memory;
mod pair;
pub mod roundtrip;
pub mod sys;
pub mod tasks;
pub mod throughput;
pub mod workingset;

use anyhow::Result;

/// Loop counts: the full run (minutes of care for stable medians) or `--quick`
/// (seconds).
pub struct Plan {
    pub quick: bool,
    pub trials: u32,
    /// Creations per trial.
    pub fork_ops: u64,
    pub exec_ops: u64,
    pub thread_ops: u64,
    /// MiB touched before forking.
    pub sizes: Vec<u64>,
    /// Round trips per trial.
    pub pinned_round_trips: u64,
    pub unpinned_round_trips: u64,
    pub shm_round_trips: u64,
    /// Bytes per throughput trial.
    pub stream_bytes: u64,
    /// Idle tasks per memory trial, and memory trials.
    pub idle_tasks: u32,
    pub memory_trials: u32,
    /// Idle async tasks for the memory row (PSS grows by whole pages: many tasks).
    pub idle_async_tasks: u32,
    /// Idle tasks for the memory-vs-count rows, and for creation under load.
    pub scaling_tasks: Vec<u32>,
    pub load_tasks: Vec<u64>,
    /// Async task spawns per trial.
    pub task_ops: u64,
    /// Working sets (KiB) for the switch-with-working-set sweep, the KiB each side
    /// writes per trial, and the most round trips per trial.
    pub working_sets_kib: Vec<u64>,
    pub ws_budget_kib: u64,
    pub ws_round_trips: u64,
    pub cross: crosscheck::Settings,
}

impl Plan {
    pub fn new(
        quick: bool,
        trials: Option<u32>,
        max_touch_mib: Option<u64>,
        llc_kib: Option<u64>,
    ) -> Plan {
        // 0, then 4 KiB × 4^i up to twice the last-level cache (or 64 MiB if unknown),
        // at most 256 MiB: past every cache, with room for both working sets.
        let top = llc_kib.map_or(64 << 10, |l| (2 * l).min(256 << 10));
        let mut working_sets_kib = vec![0];
        let mut k = 4;
        loop {
            working_sets_kib.push(k);
            if k >= top {
                break;
            }
            k *= 4;
        }
        let max = max_touch_mib.unwrap_or(if quick { 64 } else { 1024 });
        let sizes = [0, 64, 256, 1024]
            .into_iter()
            .filter(|&s| s <= max)
            .collect();
        if quick {
            Plan {
                quick,
                trials: trials.unwrap_or(3),
                fork_ops: 10,
                exec_ops: 3,
                thread_ops: 20,
                sizes,
                pinned_round_trips: 200,
                unpinned_round_trips: 100,
                shm_round_trips: 100,
                stream_bytes: 2 << 20,
                idle_tasks: 10,
                memory_trials: 2,
                idle_async_tasks: 1000,
                scaling_tasks: vec![1, 10],
                load_tasks: vec![1, 10],
                task_ops: 50,
                working_sets_kib: vec![0, 64, 1024],
                ws_budget_kib: 4096,
                ws_round_trips: 50,
                cross: crosscheck::Settings {
                    loops: 2000,
                    rounds: 2,
                    fork_ops: 100,
                },
            }
        } else {
            Plan {
                quick,
                trials: trials.unwrap_or(11),
                fork_ops: 200,
                exec_ops: 50,
                thread_ops: 500,
                sizes,
                pinned_round_trips: 20_000,
                unpinned_round_trips: 4_000,
                shm_round_trips: 20_000,
                stream_bytes: 128 << 20,
                idle_tasks: 100,
                memory_trials: 5,
                idle_async_tasks: 10_000,
                scaling_tasks: vec![1, 10, 100, 1000],
                load_tasks: vec![1, 10, 100],
                task_ops: 2000,
                working_sets_kib,
                ws_budget_kib: 256 << 10,
                ws_round_trips: 2000,
                cross: crosscheck::Settings {
                    loops: 100_000,
                    rounds: 5,
                    fork_ops: 5_000,
                },
            }
        }
    }

    /// Creations per trial at a touched size: fewer when each fork copies more page
    /// tables.
    pub fn size_ops(&self, mib: u64) -> u64 {
        match (self.quick, mib) {
            (true, _) => 2,
            (false, 0..=64) => 20,
            (false, 65..=256) => 10,
            (false, _) => 4,
        }
    }
}

/// One untimed warm-up call, then `trials` timed ones: one figure each.
pub fn repeat(trials: u32, mut one: impl FnMut() -> Result<f64>) -> Result<Vec<f64>> {
    one()?;
    (0..trials).map(|_| one()).collect()
}
