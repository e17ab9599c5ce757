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

    pub fn title(self) -> &'static str {
        match self {
            Section::Creation => {
                "Creation: create a task that ends at once, and wait for it"
            }
            Section::ForkSize => {
                "Creation vs the memory the parent has touched (4 KiB pages), unpinned"
            }
            Section::CreationLoad => {
                "Creation while N idle tasks of the same kind exist, unpinned"
            }
            Section::ContextSwitch => {
                "Context switching: 1-byte round trip between two tasks"
            }
            Section::WorkingSet => {
                "Pinned round trip, each side writing its working set between switches"
            }
            Section::Latency => "Communication latency: round trip of a small message",
            Section::Throughput => {
                "Communication throughput, one way: 64 KiB messages (queue: msgsize_max)"
            }
            Section::Memory => "Memory overhead: what an idle task adds",
            Section::MemoryScaling => {
                "Memory per idle task by number of tasks: PSS + kernel stacks + page tables"
            }
        }
    }

    pub fn column(self) -> &'static str {
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
    /// Markdown and SVG join number and unit with a no-break space (see [`nbsp`]).
    pub fn format(self, value: f64) -> String {
        match self {
            Unit::Micros if value < 1.0 => format!("{} ns", sig3(value * 1000.0)),
            Unit::Micros if value >= 1000.0 => format!("{} ms", sig3(value / 1000.0)),
            Unit::Micros => format!("{} µs", sig3(value)),
            Unit::GibPerSec if value < 0.995 => {
                format!("{} MiB/s", sig3(value * 1024.0))
            }
            Unit::GibPerSec => format!("{} GiB/s", sig3(value)),
            Unit::Kib if value < 1.0 => format!("{:.0} B", value * 1024.0),
            Unit::Kib => format!("{} KiB", sig3(value)),
        }
    }

    /// "223–471 µs", or "745 µs – 1.00 ms" where the two ends differ in unit.
    pub fn range(self, min: f64, max: f64) -> String {
        let (lo, hi) = (self.format(min), self.format(max));
        match (lo.split_once(' '), hi.split_once(' ')) {
            (Some((a, u)), Some((b, v))) if u == v => format!("{a}–{b} {u}"),
            _ => format!("{lo} – {hi}"),
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
            (Some(mib), _, _) => format!("{}, {mib} MiB", self.what),
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

    /// A row by id, where `<prefix>-max` means the row `<prefix>-<number>` with the
    /// largest number (the largest size or count measured).
    pub fn pick(&self, id: &str) -> Option<&Row> {
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

    /// Figures that are not positive and finite, or rows without trials: an empty list
    /// means the report is sound.
    pub fn problems(&self) -> Vec<String> {
        let positive = |v: f64| v.is_finite() && v > 0.0;
        let mut problems = Vec::new();
        for row in &self.rows {
            if row.samples.is_empty() {
                problems.push(format!("{}: no trials", row.id));
            }
            let values = [row.median, row.min, row.max]
                .into_iter()
                .chain(row.samples.iter().copied());
            if let Some(bad) = values.into_iter().find(|v| !positive(*v)) {
                problems.push(format!("{}: {bad} is not a positive figure", row.id));
            }
        }
        for c in &self.cross_checks {
            if let Some(bad) = [c.ours, c.theirs, c.ratio]
                .into_iter()
                .find(|v| !positive(*v))
            {
                problems.push(format!("cross-check {}: {bad}", c.what));
            }
        }
        problems
    }

    /// The machine is busy: its load average was at or above its CPU count.
    pub fn busy(&self) -> bool {
        self.machine.load_before >= self.machine.logical_cpus as f64
    }

    /// The machine and the run's conditions, as (label, text): the terminal prints
    /// them as lines, the Markdown as a table.
    fn machine_facts(&self) -> Vec<(&'static str, String)> {
        let m = &self.machine;
        let vm = if m.virtual_machine {
            " (virtual machine: the CPUs are vCPUs)"
        } else {
            ""
        };
        let pinning = if m.one_cpu() {
            format!(
                "only CPU {} is available to this run, so pinned and unpinned rows are the \
                 same: both tasks share that CPU",
                m.pinned_cpu
            )
        } else {
            format!(
                "pinned rows ran on CPU {} only; unpinned rows could use CPUs {}",
                m.pinned_cpu, m.allowed_cpus
            )
        };
        let mut facts = vec![
            (
                "CPU",
                format!("{}, {} logical CPUs{vm}", m.cpu_model, m.logical_cpus),
            ),
            ("Kernel", format!("Linux {}", m.kernel)),
            (
                "Load average (1 min)",
                format!(
                    "{:.2} before the run, {:.2} after",
                    m.load_before, m.load_after
                ),
            ),
        ];
        if self.busy() {
            facts.push((
                "Warning",
                "the load average is at or above the CPU count: unpinned and \
                shared-memory figures will not be reliable; rerun when idle"
                    .to_string(),
            ));
        }
        facts.push(("Pinning", pinning));
        match &m.address_space_switch {
            Some(switch) => {
                facts.push(("Switch to another process", switch.summary()));
                facts.extend(switch.details());
            }
            None => facts.push(("Mitigations", "not recorded in this run".to_string())),
        }
        facts.extend([
            ("CPU caches", m.caches_line()),
            (
                "Transparent huge pages",
                format!(
                    "{} (the fork-vs-size test opts out)",
                    m.transparent_hugepages
                ),
            ),
            (
                "Trials",
                format!(
                    "{} per row: the median, the fastest and the slowest",
                    self.trials_text(&self.rows)
                ),
            ),
            ("Date", m.date_utc.clone()),
        ]);
        if self.quick {
            facts.push((
                "Note",
                "quick run: tiny loop counts to test the harness; do not quote \
                these figures"
                    .to_string(),
            ));
        }
        facts
    }

    /// How many trials `rows` have: "11", or "5 to 11" where they differ (the run's
    /// setting without rows).
    fn trials_text<'a>(&self, rows: impl IntoIterator<Item = &'a Row>) -> String {
        let counts: Vec<usize> = rows.into_iter().map(|r| r.samples.len()).collect();
        match (counts.iter().min(), counts.iter().max()) {
            (Some(least), Some(most)) if least != most => format!("{least} to {most}"),
            (Some(most), _) => most.to_string(),
            _ => self.trials.to_string(),
        }
    }

    /// The plain-text report printed to the terminal, within [`COLUMNS`] columns.
    pub fn to_text(&self) -> String {
        let mut w =
            "costs: what processes and threads cost on this machine\n".to_string();
        for (label, text) in self.machine_facts() {
            let _ = writeln!(w, "{label}: {text}");
        }
        for section in Section::ALL {
            let mut rows = self.rows_in(section).peekable();
            if rows.peek().is_some() {
                let _ = writeln!(w, "\n{} ({})", section.title(), section.column());
            }
            for row in rows {
                let pinned = if row.pinned { "pinned" } else { "" };
                let (median, range) = (
                    row.unit.format(row.median),
                    row.unit.range(row.min, row.max),
                );
                let _ = writeln!(
                    w,
                    "  {:<42}  {:<7}  {pinned:<6}  {median:>10}  {range}",
                    row.label(),
                    row.who.as_str()
                );
            }
        }
        if !self.rows.is_empty() {
            w.push_str("\nWhat the medians say:\n");
            for claim in crate::claims::sentences(self) {
                let _ = writeln!(w, "  - {claim}");
            }
        }
        if !self.cross_checks.is_empty() {
            let _ = writeln!(
                w,
                "\nCross-check, both sides pinned to CPU {}:",
                self.machine.pinned_cpu
            );
        }
        for c in &self.cross_checks {
            let (ours, theirs) =
                (Unit::Micros.format(c.ours), Unit::Micros.format(c.theirs));
            let _ = writeln!(
                w,
                "  - {}: ratio ours/{} = {:.2} (ours {ours}, `{}` {theirs}, {} rounds)",
                c.what, c.tool_name, c.ratio, c.tool, c.rounds
            );
        }
        wrap_lines(&w)
    }

    /// Markdown for the chapter and the method page, each part between `<!-- ANCHOR:
    /// name -->` lines so a page can include it alone: the machine table, the load, per
    /// chart a `<figure>` (the chart, included from its SVG file beside this one, and its
    /// caption: print keeps them on one page) and its figures as a table (in a disclosure,
    /// which print and the EPUB leave out: the chart shows them), the cross-checks and the
    /// published figures. Rows carry HTML ids (`row-<id>`).
    pub fn to_markdown(&self) -> String {
        let mut w = format!(
            "<!-- Generated by `{REFERENCE_COMMAND}` from reference.json. Do not edit. -->\n"
        );
        let mut anchor = |name: &str, body: &str| {
            let _ = write!(
                w,
                "\n<!-- ANCHOR: {name} -->\n{}\n<!-- ANCHOR_END: {name} -->\n",
                body.trim_end()
            );
        };
        let facts: String = self
            .machine_facts()
            .iter()
            .map(|(k, v)| format!("| {k} | {} |\n", md(v)))
            .collect();
        anchor("machine", &format!("| Machine | |\n|---|---|\n{facts}"));
        anchor("load", &self.load_sentence());
        for chart in crate::charts::CHARTS {
            let mut body = format!(
                "<figure class=\"chart\">\n{{{{#include {}.svg}}}}\n<figcaption><em>{}</em> ({}). \
                 Medians; whiskers from the fastest to the slowest of {} trials.</figcaption>\n\
                 </figure>\n\n<details class=\"chart-table\">\n\
                 <summary>The figures as a table</summary>\n\n\
                 | Operation | Median (fastest – slowest) |\n|---|--:|\n",
                chart.name,
                chart.title,
                chart.sections[0].column(),
                self.trials_text(
                    self.rows
                        .iter()
                        .filter(|r| chart.sections.contains(&r.section))
                )
            );
            for row in self
                .rows
                .iter()
                .filter(|r| chart.sections.contains(&r.section))
            {
                let (median, range) = (
                    row.unit.format(row.median),
                    row.unit.range(row.min, row.max),
                );
                let label = md(&short_label(row));
                let _ = writeln!(
                    body,
                    "| <a id=\"row-{}\"></a>{label} | {}<br>({}) |",
                    row.id,
                    nbsp(&median),
                    nbsp(&range)
                );
            }
            anchor(chart.name, &(body + "\n</details>"));
        }
        let mut cross = String::new();
        if !self.cross_checks.is_empty() {
            cross.push_str("| Ours against the tool's: medians of alternating rounds | Ratio |\n|---|--:|\n");
        }
        for c in &self.cross_checks {
            let (ours, theirs) =
                (Unit::Micros.format(c.ours), Unit::Micros.format(c.theirs));
            let _ = writeln!(
                cross,
                "| {}: {} against `{}`, {}, {} rounds | **{:.2}** |",
                md(&c.what),
                nbsp(&ours),
                c.tool,
                nbsp(&theirs),
                c.rounds,
                c.ratio
            );
        }
        let perf = self
            .cross_checks
            .iter()
            .filter(|c| c.tool_name == "perf")
            .map(|c| c.ratio);
        if let Some(worst) = perf.map(|r| r.max(1.0 / r)).reduce(f64::max) {
            let agree = if worst <= crate::SAME {
                "agree within 10 %: the harness adds nothing worth mentioning to what it measures".to_string()
            } else {
                format!("differ by up to {}×", crate::ratio_text(worst))
            };
            let _ = writeln!(cross, "\nOur pipe ping-pong and `perf`'s {agree}.");
        }
        for tool in ["perf", "stress-ng"] {
            if !self.cross_checks.iter().any(|c| c.tool_name == tool) {
                let _ = writeln!(
                    cross,
                    "\n`{tool}` was not installed for this recording, so it has no row here."
                );
            }
        }
        anchor("cross-check", &cross);
        let published: String = crate::compare::PUBLISHED
            .iter()
            .map(|p| {
                format!("- {} ({}). {}.\n", md(p.what), md(p.hardware), md(p.source))
            })
            .collect();
        anchor("published", &published);
        w
    }

    /// One sentence on the load the run met, for the pages that show its figures.
    pub fn load_sentence(&self) -> String {
        let m = &self.machine;
        let (before, after) = (m.load_before, m.load_after);
        if before < QUIET {
            format!(
                "The run started on a quiet machine (1-minute load average {before:.2}; \
                 {after:.2} at the end, which includes the run's own work)."
            )
        } else {
            format!(
                "The machine was not quiet during the run: the 1-minute load average was \
                 {before:.2} when it started and {after:.2} when it ended, so other programs \
                 competed for its {} CPUs, which widens the spread of the trials and weighs \
                 most on the unpinned figures.",
                m.logical_cpus
            )
        }
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

/// A 1-minute load average below this is a quiet machine: the reference run waits for one.
pub const QUIET: f64 = 0.5;

/// The widest line the terminal output may have.
pub const COLUMNS: usize = 100;

/// Wraps every line longer than [`COLUMNS`] at spaces, continuing indented by four more
/// columns than the line's own indent.
pub fn wrap_lines(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let mut current = String::new();
        for word in line.split(' ').skip(indent) {
            let width = current.chars().count() + 1 + word.chars().count();
            if !current.trim().is_empty() && width > COLUMNS {
                out.push_str(current.trim_end());
                out.push('\n');
                current = " ".repeat(indent + 4);
            } else if !current.is_empty() {
                current.push(' ');
            } else {
                current = " ".repeat(indent);
            }
            current.push_str(word);
        }
        out.push_str(current.trim_end());
        out.push('\n');
    }
    out
}

/// The label of a row in tables and charts: what, who, and pinning where it tells rows
/// apart.
pub fn short_label(row: &Row) -> String {
    match row.section {
        Section::Creation | Section::ContextSwitch => {
            format!("{} ({}, {})", row.what, row.who.as_str(), row.pinning())
        }
        _ => format!("{} ({})", row.label(), row.who.as_str()),
    }
}

/// Number and unit joined by a no-break space, so a narrow column never puts the unit
/// on a line of its own (a range may still break at its dash).
pub fn nbsp(text: &str) -> String {
    text.replace(' ', "\u{a0}").replace("\u{a0}–\u{a0}", " – ")
}

/// Escapes the characters Markdown would take as formatting in table cells.
pub fn md(text: &str) -> String {
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
    assert_eq!(Unit::Micros.format(162.4), "162 µs");
    assert_eq!(Unit::Micros.format(0.213), "213 ns");
    assert_eq!(Unit::Micros.format(34_100.0), "34.1 ms");
    assert_eq!(Unit::GibPerSec.format(26.89), "26.9 GiB/s");
    assert_eq!(Unit::GibPerSec.format(0.04), "41.0 MiB/s");
    assert_eq!(Unit::Kib.format(604.0), "604 KiB");
    assert_eq!(Unit::Kib.format(0.3), "307 B");
    assert_eq!(Unit::Micros.range(223.0, 471.0), "223–471 µs");
    assert_eq!(Unit::Micros.range(745.0, 1003.0), "745 µs – 1.00 ms");
}

#[test]
fn long_lines_wrap_within_the_columns() {
    let long = format!("  {}", "word ".repeat(40));
    let wrapped = wrap_lines(&long);
    assert!(
        wrapped.lines().all(|l| l.chars().count() <= COLUMNS),
        "{wrapped}"
    );
    assert!(
        wrapped
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("      word"))
    );
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
        "Mitigation: Retpolines; IBPB: conditional; IBRS_FW",
        "Not affected",
    );
    assert_eq!(amd.ibpb(), Some("conditional"));
    assert!(!amd.kpti());
    let old_intel = switch(
        "Mitigation: IBRS; IBPB: always-on; STIBP: disabled",
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
