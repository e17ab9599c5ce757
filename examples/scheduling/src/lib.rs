//! What the three scheduling programs share: one CPU for all their tasks, a task's own
//! CPU time, and the groups (cgroup, autogroup) the kernel shares the CPU between.
//!
//! * `cargo run -p scheduling`: two busy threads on one CPU both make progress
//!   (preemption).
//! * `cargo run -p scheduling --bin fair-share`: a process with four busy threads gets
//!   about four times the CPU time of a process with one.
//! * `cargo run -p scheduling --bin nice`: `nice` on one thread changes that thread's
//!   share.

use std::fs;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::time::{ClockId, clock_gettime};
use nix::unistd::Pid;

/// The phases of a run in which busy tasks start together and stop together, kept in an
/// `AtomicU32` that every task reads: waiting for the start, running, stopped.
pub const WAIT: u32 = 0;
pub const GO: u32 = 1;
pub const STOP: u32 = 2;

// ANCHOR: pin
/// Restricts the calling thread to one CPU, the first its affinity mask allows (a
/// cpuset cgroup or `taskset` may have removed others). Threads it creates and
/// processes it forks afterwards inherit the mask, so they all share that one CPU.
pub fn pin_to_one_cpu() -> Result<usize> {
    let me = Pid::from_raw(0); // 0: the calling thread
    let allowed = sched_getaffinity(me).context("sched_getaffinity")?;
    let cpu = (0..CpuSet::count())
        .find(|&cpu| allowed.is_set(cpu) == Ok(true))
        .context("no CPU in the affinity mask")?;
    let mut one = CpuSet::new();
    one.set(cpu)?;
    sched_setaffinity(me, &one).context("sched_setaffinity")?;
    Ok(cpu)
}
// ANCHOR_END: pin

/// CPU time used so far by the calling thread (`CLOCK_THREAD_CPUTIME_ID`) or by this
/// process, all its threads together (`CLOCK_PROCESS_CPUTIME_ID`).
pub fn cpu_time(clock: ClockId) -> Duration {
    // clock_gettime fails only for a clock that does not exist; these two always do.
    clock_gettime(clock)
        .expect("clock_gettime on the thread or process CPU clock")
        .into()
}

/// Milliseconds, for printing.
pub fn ms(time: Duration) -> u128 {
    time.as_millis()
}

/// The autogroup of a process, e.g. `/autogroup-10`,
/// the root one, or why there is none.
pub fn autogroup(pid: Pid) -> Result<String> {
    let enabled = fs::read_to_string("/proc/sys/kernel/sched_autogroup_enabled");
    match enabled.as_deref().map(str::trim) {
        Err(_) => return Ok("none (this kernel has no autogroups)".into()),
        Ok("0") => return Ok("none (kernel.sched_autogroup_enabled = 0)".into()),
        Ok(_) => {}
    }
    let path = format!("/proc/{pid}/autogroup");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // "/autogroup-10 nice 0"; empty in the root autogroup, where a process is whose
    // session no setsid created.
    Ok(match text.split_whitespace().next() {
        Some(group) => group.to_owned(),
        None => "the root autogroup (/proc/PID/autogroup is empty)".into(),
    })
}

/// The control groups of a process, one `ID:CONTROLLERS:PATH` line each.
pub fn cgroups(pid: Pid) -> Result<String> {
    let path = format!("/proc/{pid}/cgroup");
    fs::read_to_string(&path).with_context(|| format!("reading {path}"))
}

/// The CPU bandwidth limit on a process's cgroup or one of its ancestors: `cpu.max`
/// (cgroup v2) or `cpu.cfs_quota_us` (v1), or `none`.
pub fn cpu_limit(pid: Pid) -> Result<String> {
    for line in cgroups(pid)?.lines() {
        let mut fields = line.splitn(3, ':');
        let (_, controllers, path) = (fields.next(), fields.next(), fields.next());
        let (Some(controllers), Some(path)) = (controllers, path) else {
            continue;
        };
        let (mounts, file) = if controllers.is_empty() {
            let mounts = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"];
            (mounts.map(String::from).to_vec(), "cpu.max")
        } else if controllers.split(',').any(|c| c == "cpu") {
            let mounts = [
                format!("/sys/fs/cgroup/{controllers}"),
                "/sys/fs/cgroup/cpu".into(),
            ];
            (mounts.to_vec(), "cpu.cfs_quota_us")
        } else {
            continue;
        };
        // The cgroup itself, then each ancestor up to the root.
        let mut dir = path.trim_end_matches('/').to_owned();
        loop {
            for mount in &mounts {
                let Ok(value) = fs::read_to_string(format!("{mount}{dir}/{file}"))
                else {
                    continue;
                };
                let value = value.trim();
                if !(value.starts_with("max") || value == "-1") {
                    return Ok(format!("{value} ({mount}{dir}/{file})"));
                }
            }
            match dir.rfind('/') {
                Some(slash) => dir.truncate(slash),
                None => break,
            }
        }
    }
    Ok("none".into())
}

/// Fails unless `ratio` lies within `low..=high`.
pub fn ensure_within(what: &str, ratio: f64, low: f64, high: f64) -> Result<()> {
    ensure!(
        (low..=high).contains(&ratio),
        "{what}: {ratio:.2} is outside {low}..{high}"
    );
    Ok(())
}
