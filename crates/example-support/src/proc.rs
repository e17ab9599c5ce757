//! Reading `/proc`: which children a process still has, how many threads it runs.

use std::fs;

use anyhow::{Context, Result};

/// Pids of this process's children that still exist, running or zombie, from every thread's
/// `/proc/self/task/<tid>/children` (a child belongs to the thread that created it).
pub fn live_children() -> Result<Vec<u32>> {
    let mut pids = Vec::new();
    for task in fs::read_dir("/proc/self/task").context("reading /proc/self/task")? {
        let children = task?.path().join("children");
        let text = match fs::read_to_string(&children) {
            Ok(text) => text,
            // A thread that was just joined can disappear between the listing and the read.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("reading {}", children.display())),
        };
        pids.extend(text.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
    }
    Ok(pids)
}

/// The thread ids of this process, from `/proc/self/task` (one directory per thread).
pub fn threads() -> Result<Vec<u32>> {
    let mut tids = Vec::new();
    for task in fs::read_dir("/proc/self/task").context("reading /proc/self/task")? {
        if let Some(tid) = task?.file_name().to_str().and_then(|t| t.parse().ok()) {
            tids.push(tid);
        }
    }
    tids.sort_unstable();
    Ok(tids)
}

/// One field of `/proc/self/status` or `/proc/PID/task/TID/status`, e.g. `Threads` or
/// `nonvoluntary_ctxt_switches`, as text.
pub fn status_field(status_file: &str, field: &str) -> Result<String> {
    let text = fs::read_to_string(status_file).with_context(|| format!("reading {status_file}"))?;
    text.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .map(|value| value.trim().to_owned())
        .with_context(|| format!("{status_file} has no {field} line"))
}
