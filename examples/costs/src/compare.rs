//! The reader's machine next to the book's reference run and next to published
//! figures for the same operations, with a word on the likely cause of a large gap.
//! Printed at the end of every run; not part of the reference files (it compares a run
//! with the committed reference, which would compare the reference with itself).

use crate::{Report, Row, Unit};

/// A figure someone published, with where and on what.
pub struct Published {
    /// Our row it compares with.
    pub row: &'static str,
    /// What they measured, in their words and units.
    pub what: &'static str,
    /// Their figure, converted to our row's unit per operation (see `per`).
    pub value: f64,
    /// How our median becomes comparable: µs per op as is, or ms per GiB for fork.
    pub per: Per,
    pub source: &'static str,
    pub hardware: &'static str,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Per {
    /// Our median as it is, in µs.
    Op,
    /// Our fork median divided by the GiB touched: ms per GiB.
    MsPerGib,
}

const REDIS: &str = "Redis docs, \"Diagnosing latency issues\", fork time table \
    (latest_fork_usec after BGSAVE)";
const IPC_BENCH: &str = "goldsborough/ipc-bench README, 100-byte ping-pong between \
    two processes, 1 / msg/s";
const IPC_BENCH_HW: &str = "Intel Core i5-4590S @ 3.00GHz, Ubuntu 20.04.1";

/// Only figures quoted exactly from their source.
pub const PUBLISHED: &[Published] = &[
    Published {
        row: "size-fork-wait-max",
        what: "fork: 6.9 GB RSS in 62 ms, 9 ms per GB",
        value: 9.0,
        per: Per::MsPerGib,
        source: REDIS,
        hardware: "Linux on a physical machine, Xeon @ 2.27GHz",
    },
    Published {
        row: "size-fork-wait-max",
        what: "fork: 6.0 GB RSS in 77 ms, 12.8 ms per GB",
        value: 12.8,
        per: Per::MsPerGib,
        source: REDIS,
        hardware: "Linux VM on VMware",
    },
    Published {
        row: "size-fork-wait-max",
        what: "fork: 360 MB RSS in 8.2 ms, 23.3 ms per GB",
        value: 23.3,
        per: Per::MsPerGib,
        source: REDIS,
        hardware: "Linux VM on 6sync (KVM)",
    },
    Published {
        row: "size-fork-wait-max",
        what: "fork: 6.1 GB RSS in 1460 ms, 239.3 ms per GB",
        value: 239.3,
        per: Per::MsPerGib,
        source: REDIS,
        hardware: "Linux VM on EC2, old instance types (Xen)",
    },
    Published {
        row: "latency-pipe-processes",
        what: "pipes: 162,441 msg/s",
        value: 1e6 / 162_441.0,
        per: Per::Op,
        source: IPC_BENCH,
        hardware: IPC_BENCH_HW,
    },
    Published {
        row: "latency-unix-stream-processes",
        what: "domain sockets: 130,372 msg/s",
        value: 1e6 / 130_372.0,
        per: Per::Op,
        source: IPC_BENCH,
        hardware: IPC_BENCH_HW,
    },
    Published {
        row: "latency-mq-processes",
        what: "message queues: 232,253 msg/s",
        value: 1e6 / 232_253.0,
        per: Per::Op,
        source: IPC_BENCH,
        hardware: IPC_BENCH_HW,
    },
    Published {
        row: "latency-shm-processes",
        what: "shared memory: 4,702,557 msg/s",
        value: 1e6 / 4_702_557.0,
        per: Per::Op,
        source: IPC_BENCH,
        hardware: IPC_BENCH_HW,
    },
];

/// The rows compared with the book's reference run.
pub const VERSUS_REFERENCE: &[&str] = &[
    "creation-fork-wait-pinned",
    "creation-thread-spawn-pinned",
    "creation-task-spawn-pinned",
    "size-fork-wait-max",
    "switch-pipe-processes-pinned",
    "switch-pipe-threads-pinned",
    "switch-channel-tasks-pinned",
    "ws-processes-max",
    "latency-pipe-processes",
    "latency-shm-processes",
    "memory-process-private",
    "memory-thread",
    "memory-task",
];

/// `perf bench sched pipe` rerun for this comparison: (our row, perf's command, its
/// µs per round trip).
pub struct PerfRun {
    pub row: &'static str,
    pub command: String,
    pub usecs: f64,
}

/// Yours against theirs in plain words ("1.1× slower", "2.0× faster", "about the
/// same") and whether yours is worse by more than twofold.
fn versus(mine: f64, theirs: f64, unit: Unit) -> (String, bool) {
    let r = mine / theirs;
    // How many times worse yours is: slower, or more memory.
    let worse = if unit == Unit::GibPerSec { 1.0 / r } else { r };
    let (better, poorer) = match unit {
        Unit::Kib => ("less", "more"),
        _ => ("faster", "slower"),
    };
    let words = if worse.max(1.0 / worse) <= crate::SAME {
        "about the same".to_string()
    } else if worse > 1.0 {
        format!("{}× {poorer}", crate::ratio_text(worse))
    } else {
        format!("{}× {better}", crate::ratio_text(1.0 / worse))
    };
    (words, worse > 2.0)
}

/// The conditions of this run that most often explain a large gap for `row`.
fn causes(report: &Report, row: &Row) -> String {
    let m = &report.machine;
    let mut causes = Vec::new();
    if m.virtual_machine {
        causes.push("a virtual machine (wake-ups and page-table updates involve the hypervisor)");
    }
    if !row.pinned
        && matches!(
            row.section,
            crate::Section::ContextSwitch | crate::Section::Latency
        )
    {
        causes.push("unpinned (the figure includes waking the other CPU)");
    }
    if report.busy() {
        causes.push("a busy machine (load average at or above the CPU count)");
    }
    if row.who == crate::Who::Process
        && let Some(s) = &m.address_space_switch
    {
        if s.ibpb() == Some("always-on") {
            causes.push("IBPB on every switch between processes");
        }
        if s.pcid == Some(false) {
            causes.push("no PCID (a change of address space flushes the TLB)");
        }
    }
    if report.quick {
        causes.push("a --quick run (tiny loop counts)");
    }
    if causes.is_empty() {
        "another CPU, kernel or C library".to_string()
    } else {
        causes.join("; ")
    }
}

/// Our median for `id` (`-max` picks the largest size) in the unit of `per`.
fn ours<'a>(report: &'a Report, id: &str, per: Per) -> Option<(f64, &'a Row)> {
    let row = report.pick(id)?;
    match per {
        Per::Op => Some((row.median, row)),
        Per::MsPerGib => {
            let gib = row.touched_mib? as f64 / 1024.0;
            (gib > 0.0).then(|| (row.median / 1000.0 / gib, row))
        }
    }
}

fn show(value: f64, per: Per, unit: Unit) -> String {
    match per {
        Per::Op => unit.format(value),
        Per::MsPerGib => format!("{value:.1} ms/GiB"),
    }
}

/// The comparison block: a heading, then one `  - ` line per comparison, with a
/// `    gap: ` line after it where the reader's figure is more than twofold worse.
/// Wrapped within [`crate::COLUMNS`].
pub fn comparison(
    report: &Report,
    reference: Option<&Report>,
    perf: &[PerfRun],
) -> String {
    let mut lines = vec!["Your machine next to the book and the world:".to_string()];
    let compared = |lines: &mut Vec<String>,
                    row: &Row,
                    label: String,
                    (words, gap): (String, bool)| {
        lines.push(format!("  - {label}: {words}"));
        if gap {
            lines.push(format!("    gap: likely {}", causes(report, row)));
        }
    };
    for id in VERSUS_REFERENCE {
        let Some((mine, row)) = ours(report, id, Per::Op) else {
            continue;
        };
        let name = format!("{} ({})", row.label(), row.who.as_str());
        // The same row in the reference (for `-max` ids: the same size as ours).
        match reference.and_then(|r| r.row(&row.id)) {
            Some(book) => compared(
                &mut lines,
                row,
                format!(
                    "{name}: yours {}, the book's {}",
                    row.unit.format(mine),
                    row.unit.format(book.median)
                ),
                versus(mine, book.median, row.unit),
            ),
            None => lines.push(format!(
                "  - {name}: yours {}, not in the book's reference run",
                row.unit.format(mine)
            )),
        }
    }
    for p in PUBLISHED {
        let Some((mine, row)) = ours(report, p.row, p.per) else {
            continue;
        };
        compared(
            &mut lines,
            row,
            format!(
                "{} ({}): yours {}, published {} ({}; {})",
                row.label(),
                row.who.as_str(),
                show(mine, p.per, row.unit),
                show(p.value, p.per, row.unit),
                p.what,
                p.hardware
            ),
            versus(mine, p.value, row.unit),
        );
        lines.push(format!("    source: {}", p.source));
    }
    for run in perf {
        if let Some(row) = report.row(run.row) {
            compared(
                &mut lines,
                row,
                format!(
                    "{} ({}, pinned): yours {}, `{}` here and now {}",
                    row.what,
                    row.who.as_str(),
                    row.unit.format(row.median),
                    run.command,
                    Unit::Micros.format(run.usecs)
                ),
                versus(row.median, run.usecs, row.unit),
            );
        }
    }
    crate::wrap_lines(&lines.join("\n"))
}

#[test]
fn says_slower_and_faster_plainly() {
    assert_eq!(
        versus(11.0, 10.0, Unit::Micros),
        ("about the same".to_string(), false)
    );
    assert_eq!(
        versus(25.0, 10.0, Unit::Micros),
        ("2.5× slower".to_string(), true)
    );
    assert_eq!(
        versus(5.0, 10.0, Unit::Micros),
        ("2.0× faster".to_string(), false)
    );
    assert_eq!(
        versus(5.0, 10.0, Unit::GibPerSec),
        ("2.0× slower".to_string(), false)
    );
    assert_eq!(
        versus(30.0, 10.0, Unit::Kib),
        ("3.0× more".to_string(), true)
    );
}
