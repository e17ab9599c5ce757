//! The report model and its text, Markdown and JSON renderings.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// Version of the JSON layout; bump it when a field changes meaning. Version 2 added
/// the cache sizes, async tasks, the working-set sweep, creation under load, memory vs
/// the number of tasks, and the POSIX message queue, Unix stream socket and futex rows.
pub const SCHEMA: u32 = 2;

/// The one command that regenerates the committed reference run.
pub const REFERENCE_COMMAND: &str =
    "cargo run --release -p costs -- --reference examples/costs/reference";

/// Everything one run measured, and where.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Report {
    pub schema: u32,
    /// `--quick`: tiny loop counts, to test the harness, not to quote.
    pub quick: bool,
    pub machine: Machine,
    /// Trials per row (each trial runs many operations and yields one per-operation
    /// figure).
    pub trials: u32,
    pub rows: Vec<Row>,
    /// Ours against `perf bench sched pipe` and `stress-ng`, where those were
    /// installed.
    pub cross_checks: Vec<CrossCheck>,
    /// One line per cross-check that could not run, saying why.
    pub cross_checks_skipped: Vec<String>,
}

/// The machine the figures come from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Machine {
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: String,
    /// Logical CPUs online.
    pub logical_cpus: usize,
    /// CPUs this process may run on (its affinity mask at start), e.g. "0-1".
    pub allowed_cpus: String,
    /// The CPU that pinned measurements ran on.
    pub pinned_cpu: usize,
    /// The CPU flags say "hypervisor": the CPUs are virtual (vCPUs of a VM).
    pub virtual_machine: bool,
    /// Kernel release, from /proc/sys/kernel/osrelease.
    pub kernel: String,
    /// Transparent huge pages mode (the bracketed word of
    /// /sys/kernel/mm/transparent_hugepage/enabled); the fork-vs-size test opts out of
    /// them.
    pub transparent_hugepages: String,
    /// One-minute load average before and after the run (other work on the machine).
    pub load_before: f64,
    pub load_after: f64,
    /// When the run started, `YYYY-MM-DD HH:MM UTC`.
    pub date_utc: String,
    /// What the kernel adds to a switch between address spaces on this CPU. `None` in a
    /// report recorded before the harness read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_space_switch: Option<AddressSpaceSwitch>,
    /// The CPU caches of the pinned CPU, from
    /// /sys/devices/system/cpu/cpuN/cache/index*/. `None` in a report recorded before
    /// the harness read them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caches: Option<Vec<Cache>>,
}

/// One CPU cache, as sysfs describes it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Cache {
    pub level: u32,
    /// `Data`, `Instruction` or `Unified`.
    pub kind: String,
    pub size_kib: u64,
}

impl Machine {
    /// "L1d 32 KiB, L1i 32 KiB, L2 512 KiB, L3 32 MiB", or why there is none.
    pub fn caches_line(&self) -> String {
        match &self.caches {
            None => "not recorded in this run".to_string(),
            Some(c) if c.is_empty() => "not reported by sysfs".to_string(),
            Some(caches) => caches
                .iter()
                .map(|c| {
                    let kind = match c.kind.as_str() {
                        "Data" => "d",
                        "Instruction" => "i",
                        _ => "",
                    };
                    format!("L{}{kind} {}", c.level, kib_text(c.size_kib))
                })
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// The last-level cache's size, in KiB.
    pub fn llc_kib(&self) -> Option<u64> {
        let caches = self.caches.as_ref()?;
        let top = caches.iter().map(|c| c.level).max()?;
        caches
            .iter()
            .filter(|c| c.level == top && c.kind != "Instruction")
            .map(|c| c.size_kib)
            .max()
    }
}

/// "512 KiB", "32 MiB".
pub fn kib_text(kib: u64) -> String {
    if kib >= 1024 && kib.is_multiple_of(1024) {
        format!("{} MiB", kib / 1024)
    } else {
        format!("{kib} KiB")
    }
}

impl Machine {
    /// The run could use one CPU only (`taskset -c 0`, a cgroup): pinned and unpinned
    /// rows then ran alike.
    pub fn one_cpu(&self) -> bool {
        self.allowed_cpus == self.pinned_cpu.to_string()
    }
}

/// The conditions of a switch from one process's address space to another's, which
/// threads of one process never make: Spectre v2 and Meltdown mitigations, and PCID.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AddressSpaceSwitch {
    /// The x86 CPU flag `pcid` in /proc/cpuinfo: TLB entries carry an address-space
    /// tag, so loading another process's page tables need not flush the TLB. `None`
    /// where the CPU reports no x86 flags.
    pub pcid: Option<bool>,
    /// Every file of /sys/devices/system/cpu/vulnerabilities with its one line, by name
    /// (empty where the kernel has no such directory).
    pub vulnerabilities: std::collections::BTreeMap<String, String>,
}

impl AddressSpaceSwitch {
    /// The Spectre v2 user-space IBPB mode, from `spectre_v2`'s `IBPB: …` part:
    /// `always-on`, `conditional` or `disabled`.
    pub fn ibpb(&self) -> Option<&str> {
        let line = self.vulnerabilities.get("spectre_v2")?;
        let rest = &line[line.find("IBPB: ")? + "IBPB: ".len()..];
        Some(rest.split(';').next().unwrap_or(rest).trim())
    }

    /// Kernel page-table isolation is on (`meltdown: Mitigation: PTI`): every entry
    /// into the kernel and every return to user space switches page tables.
    pub fn kpti(&self) -> bool {
        self.vulnerabilities
            .get("meltdown")
            .is_some_and(|m| m.contains("PTI"))
    }

    /// What this means for a switch to another process, in words.
    pub fn summary(&self) -> String {
        if self.vulnerabilities.is_empty() && self.pcid.is_none() {
            return "not known (no mitigation state in /sys, no x86 CPU flags)"
                .to_string();
        }
        let ibpb = match self.ibpb() {
            Some("always-on") => "IBPB on every switch to another process",
            Some("conditional") => {
                "IBPB only to or from a process that asked for it (prctl, seccomp)"
            }
            _ => "no IBPB",
        };
        let tlb = match self.pcid {
            Some(true) => "; PCID: a change of address space need not flush the TLB",
            Some(false) => "; no PCID: a change of address space flushes the TLB",
            None => "",
        };
        let kpti = if self.kpti() {
            "; KPTI: page tables switched on every kernel entry and exit"
        } else {
            "; no KPTI"
        };
        format!("{ibpb}{tlb}{kpti}")
    }

    /// The sysfs lines that concern a switch (`spectre_v2`, `meltdown`), and the PCID
    /// flag: (label, state).
    pub fn details(&self) -> Vec<(&'static str, String)> {
        let sysfs = |name: &str| {
            self.vulnerabilities
                .get(name)
                .map_or_else(|| "not reported".to_string(), String::clone)
        };
        let pcid = match self.pcid {
            Some(true) => "yes",
            Some(false) => "no",
            None => "not an x86 CPU",
        };
        vec![
            ("Spectre v2 mitigation", sysfs("spectre_v2")),
            ("Meltdown mitigation", sysfs("meltdown")),
            ("PCID", pcid.to_string()),
        ]
    }
}

/// Which part of the chapter a row belongs to.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Section {
    Creation,
    ForkSize,
    CreationLoad,
    ContextSwitch,
    WorkingSet,
    Latency,
    Throughput,
    Memory,
    MemoryScaling,
}

impl Section {
    pub const ALL: [Section; 9] = [
        Section::Creation,
        Section::ForkSize,
        Section::CreationLoad,
        Section::ContextSwitch,
        Section::WorkingSet,
        Section::Latency,
        Section::Throughput,
        Section::Memory,
        Section::MemoryScaling,
    ];

    /// The anchor of this section's table in the Markdown output.
    pub fn anchor(self) -> &'static str {
        match self {
            Section::Creation => "creation",
            Section::ForkSize => "fork-size",
            Section::CreationLoad => "creation-under-load",
            Section::ContextSwitch => "context-switching",
            Section::WorkingSet => "working-set",
            Section::Latency => "communication-latency",
            Section::Throughput => "communication-throughput",
            Section::Memory => "memory-overhead",
            Section::MemoryScaling => "memory-scaling",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Section::Creation => {
                "Creation: create a process or thread, let it end, wait for it"
            }
            Section::ForkSize => {
                "Creation vs touched memory: fork copies page tables, posix_spawn \
                and threads do not"
            }
            Section::CreationLoad => {
                "Creation under load: create and wait while N idle tasks of the same \
                kind exist"
            }
            Section::ContextSwitch => {
                "Context switching: 1-byte round trip between two tasks, two \
                switches each"
            }
            Section::WorkingSet => {
                "Switching with a working set: pinned pipe round trip, each side \
                writing K KiB between switches"
            }
            Section::Latency => "Communication latency: round trip of a small message",
            Section::Throughput => "Communication throughput: 64 KiB messages, one way",
            Section::Memory => "Memory overhead: what an idle task adds",
            Section::MemoryScaling => {
                "Memory vs number of idle tasks: PSS + kernel stacks + page tables, \
                from the kernel's accounting"
            }
        }
    }

    fn column(self) -> &'static str {
        match self {
            Section::Creation | Section::ForkSize | Section::CreationLoad => {
                "time per operation"
            }
            Section::ContextSwitch | Section::WorkingSet | Section::Latency => {
                "time per round trip"
            }
            Section::Throughput => "bytes per second",
            Section::Memory | Section::MemoryScaling => "per idle task",
        }
    }
}

/// Process, thread, or async task (tokio).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Who {
    Process,
    Thread,
    Task,
}

impl Who {
    pub fn as_str(self) -> &'static str {
        match self {
            Who::Process => "process",
            Who::Thread => "thread",
            Who::Task => "task",
        }
    }
}

/// What a row's numbers count.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Microseconds per operation (lower is better).
    #[serde(rename = "µs")]
    Micros,
    /// Gibibytes per second (higher is better).
    #[serde(rename = "GiB/s")]
    GibPerSec,
    /// Kibibytes per task (lower is better).
    #[serde(rename = "KiB")]
    Kib,
}

impl Unit {
    /// Formats `value` for people: three significant digits, a unit that fits.
    pub fn format(self, value: f64) -> String {
        match self {
            Unit::Micros if value < 1.0 => format!("{} ns", sig3(value * 1000.0)),
            Unit::Micros if value >= 1000.0 => format!("{} ms", sig3(value / 1000.0)),
            Unit::Micros => format!("{} µs", sig3(value)),
            Unit::GibPerSec if value < 0.995 => {
                format!("{} MiB/s", sig3(value * 1024.0))
            }
            Unit::GibPerSec => format!("{value:.2} GiB/s"),
            Unit::Kib if value < 1.0 => format!("{:.0} B", value * 1024.0),
            Unit::Kib => format!("{value:.1} KiB"),
        }
    }
}

/// Three significant digits, no exponent: 5.52, 48.2, 162, 1234.
fn sig3(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// One measured figure: the median and spread of repeated trials.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Row {
    /// Stable id; the Markdown table gives the row the HTML id `row-<id>`.
    pub id: String,
    pub section: Section,
    /// What was measured, in words.
    pub what: String,
    pub who: Who,
    /// Both tasks were pinned to one CPU (`Machine::pinned_cpu`).
    pub pinned: bool,
    /// For the fork-vs-size rows: MiB the parent had written to before forking.
    pub touched_mib: Option<u64>,
    /// For the working-set rows: KiB each side writes between switches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_set_kib: Option<u64>,
    /// For creation under load: idle tasks already there; for memory scaling: idle
    /// tasks created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<u64>,
    pub unit: Unit,
    /// Operations (or bytes, or tasks) in each trial.
    pub per_trial: u64,
    /// One figure per trial, in `unit`.
    pub samples: Vec<f64>,
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Row {
    /// A row from its trials' figures (at least one).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: impl Into<String>,
        section: Section,
        what: impl Into<String>,
        who: Who,
        pinned: bool,
        touched_mib: Option<u64>,
        unit: Unit,
        per_trial: u64,
        samples: Vec<f64>,
    ) -> Row {
        let (median, min, max) = summarize(&samples);
        Row {
            id: id.into(),
            section,
            what: what.into(),
            who,
            pinned,
            touched_mib,
            working_set_kib: None,
            tasks: None,
            unit,
            per_trial,
            samples,
            median,
            min,
            max,
        }
    }

    /// "pinned" or "unpinned".
    pub fn pinning(&self) -> &'static str {
        if self.pinned { "pinned" } else { "unpinned" }
    }

    /// The row's label in tables and charts: what, and for the fork-vs-size rows how
    /// much memory was touched.
    pub fn label(&self) -> String {
        match (self.touched_mib, self.working_set_kib, self.tasks) {
            (Some(mib), _, _) => format!("{}, {mib} MiB touched", self.what),
            (_, Some(kib), _) => format!("{}, {}", self.what, kib_text(kib)),
            (_, _, Some(1)) => format!("{}, 1 task", self.what),
            (_, _, Some(n)) => format!("{}, {n} tasks", self.what),
            _ => self.what.clone(),
        }
    }
}

/// Median, smallest and largest of `samples` (the median of an even count is the mean
/// of the two middle values). Empty input gives zeros, which [`Report::problems`] then
/// reports.
pub fn summarize(samples: &[f64]) -> (f64, f64, f64) {
    if samples.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    (median, sorted[0], sorted[n - 1])
}

/// Our figure next to an independent tool's, measured interleaved on the same CPU.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CrossCheck {
    /// What both sides measured, e.g. "pipe ping-pong, processes".
    pub what: String,
    /// The tool's command line, e.g. "perf bench sched pipe -T".
    pub tool: String,
    /// Short name for the ratio, e.g. "perf".
    pub tool_name: String,
    /// Operations per run, the same for both sides.
    pub loops: u64,
    /// Alternating runs per side.
    pub rounds: u32,
    /// Medians over the rounds, µs per operation.
    pub ours: f64,
    pub theirs: f64,
    /// ours / theirs.
    pub ratio: f64,
}

/// A comparison the text states in words: `a` takes/has `ratio` times `b`.
struct Headline {
    /// Row ids.
    a: &'static str,
    b: &'static str,
    /// How to say it; `{ratio}` is filled in.
    sentence: &'static str,
}

const HEADLINES: &[Headline] = &[
    Headline {
        a: "creation-fork-wait-unpinned",
        b: "creation-thread-spawn-unpinned",
        sentence: "unpinned, fork + _exit + waitpid takes {ratio} as long as thread \
            spawn + join",
    },
    Headline {
        a: "creation-fork-wait-pinned",
        b: "creation-thread-spawn-pinned",
        sentence: "pinned, fork + _exit + waitpid takes {ratio} as long as thread \
            spawn + join",
    },
    Headline {
        a: "creation-fork-exec-unpinned",
        b: "creation-posix-spawn-unpinned",
        sentence: "fork + exec of /bin/true takes {ratio} as long as posix_spawn of it",
    },
    Headline {
        a: "size-fork-wait-max",
        b: "size-fork-wait-0",
        sentence: "fork after touching {max} MiB takes {ratio} as long as fork with \
            nothing touched",
    },
    Headline {
        a: "size-posix-spawn-max",
        b: "size-posix-spawn-0",
        sentence: "posix_spawn after touching {max} MiB takes {ratio} as long as \
            with nothing touched",
    },
    Headline {
        a: "switch-pipe-processes-pinned",
        b: "switch-pipe-threads-pinned",
        sentence: "pinned pipe round trip: processes take {ratio} as long as threads",
    },
    Headline {
        a: "switch-pipe-processes-unpinned",
        b: "switch-pipe-processes-pinned",
        sentence: "pipe round trip between processes: unpinned takes {ratio} as long \
            as pinned",
    },
    Headline {
        a: "switch-condvar-threads-pinned",
        b: "switch-pipe-threads-pinned",
        sentence: "pinned round trip between threads: Mutex + Condvar takes {ratio} \
            as long as a pipe",
    },
    Headline {
        a: "latency-pipe-processes",
        b: "latency-shm-processes",
        sentence: "round trip between processes: a pipe takes {ratio} as long as \
            shared memory",
    },
    Headline {
        a: "latency-shm-processes",
        b: "latency-shm-threads",
        sentence: "shared-memory round trip: processes take {ratio} as long as threads",
    },
    Headline {
        a: "throughput-shm-processes",
        b: "throughput-shm-threads",
        sentence: "shared-memory throughput: processes move {ratio} as many bytes \
            per second as threads",
    },
    Headline {
        a: "throughput-shm-processes",
        b: "throughput-pipe-processes",
        sentence: "between processes: shared memory moves {ratio} as many bytes per \
            second as a pipe",
    },
    Headline {
        a: "memory-process-private",
        b: "memory-thread",
        sentence: "an idle process adds {ratio} as much memory as an idle thread",
    },
    Headline {
        a: "memory-process-rss",
        b: "memory-process-private",
        sentence: "the RSS that ps shows for an idle child is {ratio} what it really \
            adds",
    },
    Headline {
        a: "creation-thread-spawn-pinned",
        b: "creation-task-spawn-pinned",
        sentence: "pinned, thread spawn + join takes {ratio} as long as an async task's \
            spawn + join",
    },
    Headline {
        a: "switch-pipe-threads-pinned",
        b: "switch-channel-tasks-pinned",
        sentence: "pinned, a pipe round trip between threads takes {ratio} as long as a \
            channel round trip between async tasks",
    },
    Headline {
        a: "memory-thread",
        b: "memory-task",
        sentence: "an idle thread adds {ratio} as much memory as an idle async task",
    },
    Headline {
        a: "ws-processes-max",
        b: "ws-processes-0",
        sentence: "pinned round trip between processes writing {ws} each: {ratio} as \
            long as with no working set",
    },
    Headline {
        a: "ws-processes-max",
        b: "ws-threads-own-max",
        sentence: "writing {ws} each between switches: processes take {ratio} as long \
            as threads with working sets of their own",
    },
    Headline {
        a: "ws-threads-own-max",
        b: "ws-threads-shared-max",
        sentence: "writing {ws} each between switches: threads with their own working \
            sets take {ratio} as long as threads sharing one",
    },
    Headline {
        a: "latency-mq-processes",
        b: "latency-pipe-processes",
        sentence: "round trip between processes: a POSIX message queue takes {ratio} \
            as long as a pipe",
    },
    Headline {
        a: "latency-futex-processes",
        b: "latency-futex-threads",
        sentence: "futex handoff round trip: processes take {ratio} as long as threads",
    },
];

impl Report {
    pub fn row(&self, id: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.id == id)
    }

    pub fn rows_in(&self, section: Section) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(move |r| r.section == section)
    }

    /// The largest touched size of the fork-vs-size rows.
    pub fn max_touched_mib(&self) -> Option<u64> {
        self.rows.iter().filter_map(|r| r.touched_mib).max()
    }

    /// The largest working set of the working-set rows, in KiB.
    pub fn max_working_set_kib(&self) -> Option<u64> {
        self.rows.iter().filter_map(|r| r.working_set_kib).max()
    }

    /// Resolves the `-max` suffix of headline ids: of the rows `<prefix>-<number>`,
    /// the one with the largest number.
    pub(crate) fn headline_row(&self, id: &str) -> Option<&Row> {
        let Some(prefix) = id.strip_suffix("-max") else {
            return self.row(id);
        };
        self.rows
            .iter()
            .filter_map(|r| {
                let n: u64 =
                    r.id.strip_prefix(prefix)?.strip_prefix('-')?.parse().ok()?;
                Some((n, r))
            })
            .max_by_key(|(n, _)| *n)
            .map(|(_, r)| r)
    }

    /// The headline comparisons as sentences, each with the two medians it divides.
    pub fn headlines(&self) -> Vec<String> {
        let max = self.max_touched_mib().unwrap_or(0).to_string();
        let ws = kib_text(self.max_working_set_kib().unwrap_or(0));
        HEADLINES
            .iter()
            .filter_map(|h| {
                let a = self.headline_row(h.a)?;
                let b = self.headline_row(h.b)?;
                if a.id == b.id {
                    return None; // e.g. only size 0 was measured
                }
                let ratio = format!("{:.2}×", a.median / b.median);
                let sentence = h
                    .sentence
                    .replace("{ratio}", &ratio)
                    .replace("{max}", &max)
                    .replace("{ws}", &ws);
                Some(format!(
                    "{sentence} ({} vs {})",
                    a.unit.format(a.median),
                    b.unit.format(b.median)
                ))
            })
            .collect()
    }

    /// Figures that are not positive and finite, or rows without trials: an empty list
    /// means the report is sound.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let positive = |v: f64| v.is_finite() && v > 0.0;
        for row in &self.rows {
            if row.samples.is_empty() {
                problems.push(format!("{}: no trials", row.id));
            }
            for (name, value) in
                [("median", row.median), ("min", row.min), ("max", row.max)]
            {
                if !positive(value) {
                    problems
                        .push(format!("{}: {name} = {value} is not positive", row.id));
                }
            }
            if let Some(bad) = row.samples.iter().find(|v| !positive(**v)) {
                problems.push(format!("{}: a trial gave {bad}", row.id));
            }
        }
        for check in &self.cross_checks {
            for (name, value) in [
                ("ours", check.ours),
                ("theirs", check.theirs),
                ("ratio", check.ratio),
            ] {
                if !positive(value) {
                    problems
                        .push(format!("cross-check {}: {name} = {value}", check.what));
                }
            }
        }
        problems
    }

    fn machine_line(&self) -> String {
        let m = &self.machine;
        let vm = if m.virtual_machine {
            ", virtual machine"
        } else {
            ""
        };
        format!(
            "{}, {} logical CPUs{vm}, Linux {}, load average {:.2} before / {:.2} \
             after",
            m.cpu_model, m.logical_cpus, m.kernel, m.load_before, m.load_after
        )
    }

    fn cpus_line(&self) -> String {
        let m = &self.machine;
        if m.one_cpu() {
            format!(
                "only CPU {} is available to this run, so pinned and unpinned rows are \
                 the same: both tasks share that CPU",
                m.pinned_cpu
            )
        } else {
            format!(
                "pinned rows ran on CPU {} only; unpinned rows could use CPUs {}",
                m.pinned_cpu, m.allowed_cpus
            )
        }
    }

    fn cross_check_line(check: &CrossCheck) -> String {
        format!(
            "{}: ours {}, {} {}: ratio ours/{} = {:.2}",
            check.what,
            Unit::Micros.format(check.ours),
            check.tool,
            Unit::Micros.format(check.theirs),
            check.tool_name,
            check.ratio
        )
    }

    /// The plain-text table printed to the terminal.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let w = &mut out;
        let _ = writeln!(w, "costs: what processes and threads cost on this machine");
        let _ = writeln!(w, "Machine: {}", self.machine_line());
        let _ = writeln!(w, "CPUs: {}", self.cpus_line());
        let _ = writeln!(w, "Caches: {}", self.machine.caches_line());
        if let Some(switch) = &self.machine.address_space_switch {
            let _ = writeln!(w, "Switch to another process: {}", switch.summary());
            for (label, state) in switch.details() {
                let _ = writeln!(w, "  {label}: {state}");
            }
        }
        if !self.rows.is_empty() {
            let _ = writeln!(
                w,
                "Each figure is the median of {} trials; the fastest and slowest \
                trial are in brackets.",
                self.trials
            );
        }
        if self.quick {
            let _ = writeln!(
                w,
                "Quick run: tiny loop counts to test the harness; do not quote these \
                figures."
            );
        }
        let label_width = self
            .rows
            .iter()
            .map(|r| r.label().chars().count())
            .max()
            .unwrap_or(0);
        for section in Section::ALL {
            let rows: Vec<&Row> = self.rows_in(section).collect();
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(w);
            let _ = writeln!(w, "{} ({})", section.title(), section.column());
            for row in rows {
                let label = row.label();
                let pad = label_width - label.chars().count();
                let _ = writeln!(
                    w,
                    "  {}{}  {:<7}  {:<8}  {}  ({} – {})",
                    label,
                    " ".repeat(pad),
                    row.who.as_str(),
                    row.pinning(),
                    row.unit.format(row.median),
                    row.unit.format(row.min),
                    row.unit.format(row.max)
                );
            }
        }
        let headlines = self.headlines();
        if !headlines.is_empty() {
            let _ = writeln!(w);
            let _ = writeln!(w, "What the medians say:");
            for line in headlines {
                let _ = writeln!(w, "  - {line}");
            }
        }
        if !self.cross_checks.is_empty() || !self.cross_checks_skipped.is_empty() {
            let _ = writeln!(w);
            let _ = writeln!(w, "{}", self.cross_check_heading());
            for check in &self.cross_checks {
                let _ = writeln!(w, "  {}", Self::cross_check_line(check));
            }
            for skipped in &self.cross_checks_skipped {
                let _ = writeln!(w, "  skipped: {skipped}");
            }
        }
        out
    }

    fn cross_check_heading(&self) -> String {
        match self.cross_checks.first() {
            Some(c) => format!(
                "Cross-check against independent tools (both sides pinned to CPU {}, \
                {} alternating rounds each, same loop count):",
                self.machine.pinned_cpu, c.rounds
            ),
            None => "Cross-check against independent tools:".to_string(),
        }
    }

    /// Markdown: one table per section, each between `<!-- ANCHOR: name -->` lines so
    /// the chapter can include them one at a time. Rows carry HTML ids (`row-<id>`)
    /// that other pages can link to.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let w = &mut out;
        let m = &self.machine;
        let _ = writeln!(
            w,
            "<!-- Generated by `{REFERENCE_COMMAND}` from reference.json. Do not \
            edit. -->"
        );
        let _ = writeln!(w, "<!-- ANCHOR: machine -->");
        let _ = writeln!(w, "| Machine | |");
        let _ = writeln!(w, "|---|---|");
        let vm = if m.virtual_machine {
            " (virtual machine: the CPUs are vCPUs)"
        } else {
            ""
        };
        let _ = writeln!(
            w,
            "| CPU | {}, {} logical CPUs{vm} |",
            md(&m.cpu_model),
            m.logical_cpus
        );
        let _ = writeln!(w, "| Kernel | Linux {} |", md(&m.kernel));
        let _ = writeln!(w, "| Pinning | {} |", self.cpus_line());
        match &m.address_space_switch {
            Some(switch) => {
                let _ = writeln!(
                    w,
                    "| Switch to another process | {} |",
                    md(&switch.summary())
                );
                for (label, state) in switch.details() {
                    let _ = writeln!(w, "| {label} | {} |", md(&state));
                }
            }
            None => {
                let _ = writeln!(w, "| Mitigations | not recorded in this run |");
            }
        }
        let _ = writeln!(w, "| CPU caches | {} |", md(&m.caches_line()));
        let _ = writeln!(
            w,
            "| Transparent huge pages | {} (the fork-vs-size test opts out) |",
            md(&m.transparent_hugepages)
        );
        let _ = writeln!(
            w,
            "| Load average (1 min) | {:.2} before the run, {:.2} after |",
            m.load_before, m.load_after
        );
        let _ = writeln!(
            w,
            "| Trials | {} per row: median, and the fastest and slowest trial |",
            self.trials
        );
        let _ = writeln!(w, "| Date | {} |", md(&m.date_utc));
        if self.quick {
            let _ =
                writeln!(w, "| Note | quick run: tiny loop counts, not for quoting |");
        }
        let _ = writeln!(w, "<!-- ANCHOR_END: machine -->");
        for section in Section::ALL {
            let rows: Vec<&Row> = self.rows_in(section).collect();
            let _ = writeln!(w);
            let _ = writeln!(w, "<!-- ANCHOR: {} -->", section.anchor());
            if rows.is_empty() {
                let _ = writeln!(w, "*Not recorded in this run.*");
                let _ = writeln!(w, "<!-- ANCHOR_END: {} -->", section.anchor());
                continue;
            }
            let _ = writeln!(
                w,
                "| Operation | Who | Pinned | Median ({}) | Fastest – slowest trial \
                | Per trial |",
                section.column()
            );
            let _ = writeln!(w, "|---|---|---|--:|--:|--:|");
            for row in rows {
                let _ = writeln!(
                    w,
                    "| <a id=\"row-{}\"></a>{} | {} | {} | {} | {} – {} | {} |",
                    row.id,
                    md(&row.label()),
                    row.who.as_str(),
                    if row.pinned { "yes" } else { "no" },
                    row.unit.format(row.median),
                    row.unit.format(row.min),
                    row.unit.format(row.max),
                    per_trial(row)
                );
            }
            let _ = writeln!(w, "<!-- ANCHOR_END: {} -->", section.anchor());
        }
        let _ = writeln!(w);
        let _ = writeln!(w, "<!-- ANCHOR: headlines -->");
        for line in self.headlines() {
            let _ = writeln!(w, "- {}", md(&line));
        }
        let _ = writeln!(w, "<!-- ANCHOR_END: headlines -->");
        let _ = writeln!(w);
        let _ = writeln!(w, "<!-- ANCHOR: cross-check -->");
        if !self.cross_checks.is_empty() {
            let _ = writeln!(
                w,
                "| Measurement | Loops × rounds | Ours (median) | Tool | Tool \
                (median) | Ratio ours/tool |"
            );
            let _ = writeln!(w, "|---|--:|--:|---|--:|--:|");
            for c in &self.cross_checks {
                let _ = writeln!(
                    w,
                    "| {} | {} × {} | {} | `{}` | {} | **{:.2}** |",
                    md(&c.what),
                    c.loops,
                    c.rounds,
                    Unit::Micros.format(c.ours),
                    c.tool,
                    Unit::Micros.format(c.theirs),
                    c.ratio
                );
            }
        }
        for skipped in &self.cross_checks_skipped {
            let _ = writeln!(w);
            let _ = writeln!(w, "Skipped: {}", md(skipped));
        }
        let _ = writeln!(w, "<!-- ANCHOR_END: cross-check -->");
        for chart in crate::charts::CHARTS {
            let _ = writeln!(w);
            let _ = writeln!(w, "<!-- ANCHOR: caption-{} -->", chart.name);
            let _ = writeln!(
                w,
                "*{}.* Bars or points are medians; whiskers span the fastest to the \
                 slowest trial.",
                chart.title
            );
            let _ = writeln!(w, "<!-- ANCHOR_END: caption-{} -->", chart.name);
        }
        out
    }

    /// Pretty JSON, the committed source of every other rendering.
    pub fn to_json(&self) -> String {
        let mut text =
            serde_json::to_string_pretty(self).expect("a report always serializes");
        text.push('\n');
        text
    }

    pub fn from_json(text: &str) -> serde_json::Result<Report> {
        serde_json::from_str(text)
    }
}

/// The label used in chart captions: what, who, and pinning where it tells rows apart.
pub fn short_label(row: &Row) -> String {
    match row.section {
        Section::Creation | Section::ContextSwitch => {
            format!("{} ({}, {})", row.what, row.who.as_str(), row.pinning())
        }
        _ => format!("{} ({})", row.label(), row.who.as_str()),
    }
}

fn per_trial(row: &Row) -> String {
    match row.section {
        Section::Creation | Section::ForkSize | Section::CreationLoad => {
            format!("{} ops", row.per_trial)
        }
        Section::ContextSwitch | Section::WorkingSet | Section::Latency => {
            format!("{} round trips", row.per_trial)
        }
        Section::Throughput => format!("{} MiB", row.per_trial >> 20),
        Section::Memory | Section::MemoryScaling => format!("{} tasks", row.per_trial),
    }
}

/// Escapes the characters Markdown would take as formatting in table cells.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '_' | '*' | '|' | '<' | '>' | '[' | ']' | '`' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

// Unit tests: `#[test]` functions are compiled only by `cargo test`.

#[test]
fn summarize_takes_the_middle() {
    assert_eq!(summarize(&[3.0, 1.0, 2.0]), (2.0, 1.0, 3.0));
    assert_eq!(summarize(&[4.0, 1.0, 2.0, 3.0]), (2.5, 1.0, 4.0));
}

#[test]
fn units_keep_three_digits() {
    assert_eq!(Unit::Micros.format(5.523), "5.52 µs");
    assert_eq!(Unit::Micros.format(48.23), "48.2 µs");
    assert_eq!(Unit::Micros.format(162.4), "162 µs");
    assert_eq!(Unit::Micros.format(0.213), "213 ns");
    assert_eq!(Unit::Micros.format(34_100.0), "34.1 ms");
    assert_eq!(Unit::GibPerSec.format(2.345), "2.35 GiB/s");
    assert_eq!(Unit::GibPerSec.format(0.04), "41.0 MiB/s");
    assert_eq!(Unit::Kib.format(180.04), "180.0 KiB");
    assert_eq!(Unit::Kib.format(0.3), "307 B");
}

#[test]
fn markdown_escapes_underscores() {
    assert_eq!(md("fork + _exit"), "fork + \\_exit");
}

#[test]
fn reads_ibpb_and_kpti_from_the_sysfs_lines() {
    let switch = |spectre: &str, meltdown: &str| AddressSpaceSwitch {
        pcid: Some(false),
        vulnerabilities: [("spectre_v2", spectre), ("meltdown", meltdown)]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
    };
    let amd = switch(
        "Mitigation: Retpolines; IBPB: conditional; IBRS_FW; STIBP: disabled",
        "Not affected",
    );
    assert_eq!(amd.ibpb(), Some("conditional"));
    assert!(!amd.kpti());
    let old_intel = switch(
        "Mitigation: IBRS; IBPB: always-on; STIBP: disabled; RSB filling",
        "Mitigation: PTI",
    );
    assert_eq!(old_intel.ibpb(), Some("always-on"));
    assert!(old_intel.kpti());
    assert!(
        old_intel
            .summary()
            .contains("no PCID: a change of address space flushes")
    );
}
