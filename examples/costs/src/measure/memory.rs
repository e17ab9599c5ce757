//! Memory overhead: how much memory N idle processes or N idle threads add.
//!
//! Each trial runs in a fresh copy of this program (`costs --memory-probe …`), so that
//! no trial sees memory an earlier one left behind (glibc keeps the stacks of ended
//! threads for reuse, for example). The probe prints one line, `probe: <figures>`, that
//! the main run reads.

use std::fs;
use std::process::Command;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail, ensure};
use clap::ValueEnum;

use super::sys::{Child, creating, fork_child, pipe, raw, raw_write_all, read_exact};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ValueEnum)]
pub enum ProbeKind {
    Processes,
    Threads,
    Tasks,
}

/// A `Key:   123 kB` field of a /proc file, in KiB.
fn kib_field(text: &str, key: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

fn read_proc(path: &str) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("reading {path}"))
}

/// The anonymous part of the PSS of one process (`self` or a pid), in KiB: its private
/// anonymous pages plus its share of those it shares with its relatives after fork.
/// (The file-backed part moves whenever another program that maps the same libraries
/// starts or ends.)
fn pss_anon(pid: &str) -> Result<f64> {
    let path = format!("/proc/{pid}/smaps_rollup");
    let text = read_proc(&path)?;
    kib_field(&text, "Pss_Anon")
        .or_else(|| kib_field(&text, "Pss"))
        .with_context(|| format!("no Pss in {path}"))
}

// ANCHOR: accounting
/// The kernel's own accounting at one moment: the anonymous PSS and the page tables
/// (VmPTE) of the given processes, and the kernel stack of one task: KernelStack in
/// /proc/meminfo (every task's) divided by the number of tasks (/proc/loadavg's fourth
/// field, after the slash).
#[derive(Clone, Copy)]
struct Accounting {
    pss: f64,
    page_tables: f64,
    kernel_stack: f64,
}

fn accounting(pids: &[String]) -> Result<Accounting> {
    let meminfo = read_proc("/proc/meminfo")?;
    let stacks = kib_field(&meminfo, "KernelStack")
        .context("no KernelStack in /proc/meminfo")?;
    let loadavg = read_proc("/proc/loadavg")?;
    let tasks: f64 = loadavg
        .split_whitespace()
        .nth(3)
        .and_then(|f| f.split_once('/')?.1.parse().ok())
        .context("unreadable /proc/loadavg")?;
    let (mut pss, mut page_tables) = (0.0, 0.0);
    for pid in pids {
        pss += pss_anon(pid)?;
        let path = format!("/proc/{pid}/status");
        page_tables += kib_field(&read_proc(&path)?, "VmPTE")
            .with_context(|| format!("no VmPTE in {path}"))?;
    }
    Ok(Accounting {
        pss,
        page_tables,
        kernel_stack: stacks / tasks,
    })
}
// ANCHOR_END: accounting

// ANCHOR: per-task
/// KiB per task between two moments `n` tasks apart: the growth of PSS and page
/// tables, and one kernel stack.
fn per_task(before: Accounting, after: Accounting, n: u32) -> f64 {
    let added = (after.pss - before.pss) + (after.page_tables - before.page_tables);
    added / f64::from(n) + after.kernel_stack
}
// ANCHOR_END: per-task

// ANCHOR: idle-processes
/// In the probe: fork `n` children that only wait (in `pause`), then add up the memory
/// only each child has (Private_Clean + Private_Dirty in smaps_rollup: the pages
/// copy-on-write has given it) plus its page tables (VmPTE). Rss, what `ps` and `top`
/// show, is reported too: it also counts the mapped pages still shared with the parent.
/// And the kernel's accounting: PSS of the probe and its children, kernel stacks and
/// page tables, before and after.
fn idle_processes(n: u32) -> Result<(f64, f64, f64)> {
    let before = accounting(&["self".to_string()])?;
    let (ready_r, ready_w) = pipe()?;
    // Each `Child` guard kills and reaps its child when dropped, however we return.
    let mut children: Vec<Child> = Vec::new();
    for _ in 0..n {
        let ready = raw(&ready_w);
        children.push(fork_child(move || {
            raw_write_all(ready, &[1]); // "I exist and have touched what I will touch"
            loop {
                // SAFETY: pause has no preconditions; it sleeps until SIGKILL comes.
                unsafe { libc::pause() };
            }
        })?);
    }
    drop(ready_w);
    read_exact(&ready_r, &mut vec![0u8; n as usize])
        .context("waiting for the idle children")?;
    // ANCHOR_END: idle-processes
    // ANCHOR: private-memory
    let mut pids = vec!["self".to_string()];
    pids.extend(children.iter().map(|c| c.pid().to_string()));
    let after = accounting(&pids)?;
    let (mut private, mut rss) = (0.0, 0.0);
    for child in &children {
        let pid = child.pid();
        let rollup = read_proc(&format!("/proc/{pid}/smaps_rollup"))?;
        let status = read_proc(&format!("/proc/{pid}/status"))?;
        let field = |text: &str, key: &str| {
            kib_field(text, key).with_context(|| format!("no {key} in /proc/{pid}"))
        };
        let pte = field(&status, "VmPTE")?;
        private +=
            field(&rollup, "Private_Clean")? + field(&rollup, "Private_Dirty")? + pte;
        rss += field(&rollup, "Rss")? + pte;
    }
    let kernel = per_task(before, after, n);
    Ok((private / n as f64, rss / n as f64, kernel))
    // `children` drops here: each idle child is killed and reaped.
    // ANCHOR_END: private-memory
}

/// This process's resident memory plus page tables, in KiB.
fn own_memory() -> Result<f64> {
    let status = read_proc("/proc/self/status")?;
    let rss = kib_field(&status, "VmRSS").context("no VmRSS in /proc/self/status")?;
    let pte = kib_field(&status, "VmPTE").context("no VmPTE in /proc/self/status")?;
    Ok(rss + pte)
}

/// In the probe: start `n` threads (std's default 2 MiB stacks) that wait at a gate,
/// and see how much this process's resident memory and page tables grew, and what the
/// kernel's accounting says (PSS, kernel stacks, page tables).
fn idle_threads(n: u32) -> Result<(f64, f64)> {
    let before = own_memory()?;
    let before_kernel = accounting(&["self".to_string()])?;
    with_idle_threads(n.into(), || {
        let added = (own_memory()? - before) / n as f64;
        let after_kernel = accounting(&["self".to_string()])?;
        Ok((added, per_task(before_kernel, after_kernel, n)))
    })
}

/// Runs `measure` while `n` idle threads of this process wait: each counts itself in,
/// then blocks on a lock this thread holds until `measure` has returned (or creating
/// one failed), so the scope can join them all however it ends.
pub(super) fn with_idle_threads<T>(
    n: u64,
    measure: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let gate = RwLock::new(());
    let arrived = AtomicU64::new(0);
    std::thread::scope(|s| {
        let closed = gate.write().unwrap_or_else(|e| e.into_inner());
        let result = (|| {
            for started in 0..n {
                let thread = std::thread::Builder::new().spawn_scoped(s, || {
                    arrived.fetch_add(1, Ordering::SeqCst);
                    drop(gate.read());
                });
                creating(thread, &format!("pthread_create() after {started} threads"))?;
            }
            while arrived.load(Ordering::SeqCst) < n {
                std::thread::yield_now();
            }
            measure()
        })();
        drop(closed);
        result
    })
}

/// `costs --memory-probe KIND --tasks N`: measure, print one `probe:` line.
pub fn probe(kind: ProbeKind, n: u32) -> Result<()> {
    match kind {
        ProbeKind::Processes => {
            let (private, rss, kernel) = idle_processes(n)?;
            println!(
                "probe: private_kib={private:.3} rss_kib={rss:.3} kernel_kib={kernel:.3}"
            );
        }
        ProbeKind::Threads => {
            let (added, kernel) = idle_threads(n)?;
            println!("probe: added_kib={added:.3} kernel_kib={kernel:.3}");
        }
        ProbeKind::Tasks => {
            let (pss_kib, heap_kib) = super::tasks::idle_tasks(n)?;
            println!("probe: pss_kib={pss_kib:.3} heap_kib={heap_kib:.3}");
        }
    }
    // Every idle child was killed and reaped when its guard dropped.
    let left = example_support::live_children()?;
    ensure!(
        left.is_empty(),
        "memory probe: children left behind: {left:?}"
    );
    Ok(())
}

/// Anonymous PSS of this process, in KiB (for the async-task probe).
pub fn own_pss() -> Result<f64> {
    pss_anon("self")
}

/// Runs one probe in a fresh copy of this program and returns its `key=value` figures.
pub fn run_probe(kind: ProbeKind, n: u32) -> Result<Vec<(String, f64)>> {
    let exe = std::env::current_exe().context("finding this program (current_exe)")?;
    let kind_name = match kind {
        ProbeKind::Processes => "processes",
        ProbeKind::Threads => "threads",
        ProbeKind::Tasks => "tasks",
    };
    let output = Command::new(&exe)
        .args(["--memory-probe", kind_name, "--tasks", &n.to_string()])
        .output();
    let output = creating(output, &format!("spawning {}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        // The probe said what went wrong in one line of its own, `costs: error: …`.
        let stderr = String::from_utf8_lossy(&output.stderr);
        let line = stderr.lines().next().unwrap_or("no message");
        let cause = line.strip_prefix("costs: error: ").unwrap_or(line);
        bail!("measuring the memory of idle {kind_name}: {cause}");
    }
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("probe: "))
        .context("the memory probe printed no result")?;
    let figures: Vec<(String, f64)> = line
        .split_whitespace()
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect();
    ensure!(
        !figures.is_empty(),
        "unreadable memory probe result: {line}"
    );
    Ok(figures)
}
