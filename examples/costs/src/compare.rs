//! The reader's machine next to the book's reference run and next to published
//! figures for the same operations, with a word on the likely cause of a large gap.
//! Printed at the end of every run; not part of the reference files (it compares a run
//! with the committed reference, which would compare the reference with itself).

use crate::{Report, Row, Unit};

/// A figure someone published, with where and on what: our row it compares with, what
/// they measured in their words and units, their figure in our row's unit (per
/// operation, or for fork `MsPerGib`: ms per GiB touched), their hardware and source.
pub struct Published {
    pub row: &'static str,
    pub what: &'static str,
    pub value: f64,
    pub per: Per,
    pub hardware: &'static str,
    pub source: &'static str,
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
const IPC: &str = "goldsborough/ipc-bench README, 100-byte ping-pong between two processes, 1 / msg/s";
const I5: &str = "Intel Core i5-4590S @ 3.00GHz, Ubuntu 20.04.1";

const fn fork(what: &'static str, value: f64, hardware: &'static str) -> Published {
    let (row, per, source) = ("size-fork-wait-max", Per::MsPerGib, REDIS);
    Published {
        row,
        what,
        value,
        per,
        hardware,
        source,
    }
}

const fn ipc(row: &'static str, what: &'static str, per_sec: f64) -> Published {
    let (value, per, hardware, source) = (1e6 / per_sec, Per::Op, I5, IPC);
    Published {
        row,
        what,
        value,
        per,
        hardware,
        source,
    }
}

/// Only figures quoted exactly from their source.
#[rustfmt::skip]
pub const PUBLISHED: &[Published] = &[
    fork("fork: 6.9 GB RSS in 62 ms, 9 ms per GB", 9.0, "Linux on a physical machine, Xeon @ 2.27GHz"),
    fork("fork: 6.0 GB RSS in 77 ms, 12.8 ms per GB", 12.8, "Linux VM on VMware"),
    fork("fork: 360 MB RSS in 8.2 ms, 23.3 ms per GB", 23.3, "Linux VM on 6sync (KVM)"),
    fork("fork: 6.1 GB RSS in 1460 ms, 239.3 ms per GB", 239.3, "Linux VM on EC2, old instance types (Xen)"),
    ipc("latency-pipe-processes", "pipes: 162,441 msg/s", 162_441.0),
    ipc("latency-socketpair-processes", "domain sockets: 130,372 msg/s", 130_372.0),
    ipc("latency-mq-processes", "message queues: 232,253 msg/s", 232_253.0),
    ipc("latency-shm-processes", "shared memory: 4,702,557 msg/s", 4_702_557.0),
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
pub fn comparison(report: &Report, reference: Option<&Report>) -> String {
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
