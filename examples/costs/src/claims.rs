//! The comparisons the Cost chapter makes, in words the numbers choose.
//!
//! The chapter states no figure, ratio or comparison word of its own: it includes these
//! fragments from `reference/claims.md`, which is rendered from the reference JSON (and
//! checked against it by the costs test). A new recording changes the words with the
//! numbers: "took about as long as" only within 10 %, "5.0× slower than" otherwise, with
//! two significant figures; and a difference of medians whose trials overlap (fewer than
//! three in four of the pairs of trials, one from each row, point the same way) is said to
//! be no measured difference.

use std::fmt::Write as _;

use crate::{Report, Row, Unit, md};

/// Two figures within this factor of each other are "about" the same.
pub const SAME: f64 = 1.10;

/// The share of pairs of trials, one from each row, that must point the same way for a
/// difference of medians to count as measured.
pub const SEPARATE: f64 = 0.75;

/// The share of pairs (a trial of `a`, a trial of `b`) in which `a`'s is larger, ties
/// counting half: 0.5 when the rows cannot be told apart, 0 or 1 when they do not overlap.
pub fn larger_share(a: &Row, b: &Row) -> f64 {
    let pairs = a
        .samples
        .iter()
        .flat_map(|x| b.samples.iter().map(move |y| (x, y)));
    let larger: f64 = pairs
        .map(|(x, y)| match x.partial_cmp(y) {
            Some(std::cmp::Ordering::Greater) => 1.0,
            Some(std::cmp::Ordering::Equal) => 0.5,
            _ => 0.0,
        })
        .sum();
    larger / (a.samples.len() * b.samples.len()).max(1) as f64
}

/// Whether a ratio of medians is within [`SAME`] of 1: "about" the same.
fn about_same(r: f64) -> bool {
    r.max(1.0 / r) <= SAME
}

/// Whether the trials of `a` and `b` fail to separate (fewer than [`SEPARATE`] of the
/// pairs point the same way).
fn overlap(a: &Row, b: &Row) -> bool {
    let share = larger_share(a, b);
    share.max(1.0 - share) < SEPARATE
}

/// Whether the medians of `a` and `b` differ by more than [`SAME`] and their trials say so.
pub fn differ(a: &Row, b: &Row) -> bool {
    !about_same(a.median / b.median) && !overlap(a, b)
}

/// One comparison: row `a` against row `b` (which the sentence names `than`; the
/// chapter names `a` itself). Ids may end in `-max` (the largest size or count measured)
/// or `-widest` (the working set where threads with a working set each are slowest
/// against threads sharing one).
pub struct Claim {
    pub key: &'static str,
    pub a: &'static str,
    pub b: &'static str,
    pub than: &'static str,
}

const fn c(
    key: &'static str,
    a: &'static str,
    b: &'static str,
    than: &'static str,
) -> Claim {
    Claim { key, a, b, than }
}

#[rustfmt::skip]
pub const CLAIMS: &[Claim] = &[
    c("fork-thread-unpinned", "creation-fork-wait-unpinned", "creation-thread-spawn-unpinned", "a thread's spawn + join"),
    c("fork-thread-pinned", "creation-fork-wait-pinned", "creation-thread-spawn-pinned", "a thread's spawn + join"),
    c("thread-unpinned", "creation-thread-spawn-unpinned", "creation-thread-spawn-pinned", "pinned"),
    c("exec-fork", "creation-fork-exec-unpinned", "creation-fork-wait-unpinned", "fork alone"),
    c("exec-spawn", "creation-fork-exec-unpinned", "creation-posix-spawn-unpinned", "posix_spawn of it"),
    c("thread-task", "creation-thread-spawn-pinned", "creation-task-spawn-pinned", "an async task's spawn + join"),
    c("fork-size", "size-fork-wait-max", "size-fork-wait-0", "with nothing touched"),
    c("spawn-size", "size-posix-spawn-max", "size-posix-spawn-0", "with nothing touched"),
    c("thread-size", "size-thread-spawn-max", "size-thread-spawn-0", "with nothing touched"),
    c("fork-thread-size", "size-fork-wait-max", "size-thread-spawn-max", "a thread's spawn + join"),
    c("load-fork", "load-fork-wait-max", "load-fork-wait-1", "with one"),
    c("load-thread", "load-thread-spawn-max", "load-thread-spawn-1", "with one"),
    c("load-task", "load-task-spawn-max", "load-task-spawn-1", "with one"),
    c("switch-pinned", "switch-pipe-processes-pinned", "switch-pipe-threads-pinned", "between threads"),
    c("unpinned-pinned", "switch-pipe-processes-unpinned", "switch-pipe-processes-pinned", "pinned"),
    c("condvar-pinned", "switch-condvar-threads-pinned", "switch-pipe-threads-pinned", "a pipe round trip between threads"),
    c("condvar-unpinned", "switch-condvar-threads-unpinned", "switch-pipe-threads-unpinned", "a pipe round trip between threads"),
    c("pipe-tasks", "switch-pipe-threads-pinned", "switch-channel-tasks-pinned", "a channel round trip between async tasks"),
    c("ws-zero", "ws-processes-0", "ws-threads-own-0", "two threads"),
    c("ws-grow", "ws-processes-max", "ws-processes-0", "with none"),
    c("ws-own-shared", "ws-threads-own-widest", "ws-threads-shared-widest", "threads sharing one"),
    c("ws-processes-own", "ws-processes-widest", "ws-threads-own-widest", "threads with a working set each"),
    c("ws-max", "ws-threads-own-max", "ws-threads-shared-max", "threads sharing one"),
    c("pipe", "latency-pipe-processes", "latency-pipe-threads", "between threads"),
    c("socket-pipe", "latency-socketpair-processes", "latency-pipe-processes", "a pipe's"),
    c("mq-pipe", "latency-mq-processes", "latency-pipe-processes", "a pipe's"),
    c("shm", "latency-shm-processes", "latency-shm-threads", "between threads"),
    c("pipe-shm", "latency-pipe-processes", "latency-shm-processes", "a shared-memory round trip"),
    c("futex", "latency-futex-processes", "latency-futex-threads", "between threads"),
    c("tokio-crossbeam", "latency-channel-tasks", "latency-channel-threads", "a crossbeam channel round trip between threads"),
    c("pipe-rate", "throughput-pipe-processes", "throughput-pipe-threads", "between threads"),
    c("socket-rate", "throughput-socketpair-processes", "throughput-pipe-processes", "a pipe"),
    c("shm-rate", "throughput-shm-processes", "throughput-shm-threads", "between threads"),
    c("shm-pipe-rate", "throughput-shm-processes", "throughput-pipe-processes", "a pipe"),
    c("channel-rate", "throughput-channel-threads", "throughput-shm-threads", "the shared-memory ring between threads"),
    c("process-thread", "memory-process-private", "memory-thread", "an idle thread"),
    c("rss", "memory-process-rss", "memory-process-private", "what the child really added"),
    c("thread-task-memory", "memory-thread", "memory-task", "an idle async task"),
    c("scaling", "scaling-processes-max", "scaling-threads-max", "a thread"),
];

/// `r` with two significant figures: 1.4, 5.0, 24, 160, 2,400.
pub fn ratio_text(r: f64) -> String {
    if r < 9.95 {
        return format!("{r:.1}");
    }
    let step = 10f64.powf(r.log10().floor() - 1.0);
    let n = ((r / step).round() * step) as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// How `a` compares with `b`: times and rates with their verb ("took about as long
/// as", "was 5.0× slower than", "moved about as many bytes per second as"), memory
/// without ("5.0× as much as", "about as much as").
pub fn compare(a: &Row, b: &Row) -> String {
    let r = a.median / b.median;
    let same = about_same(r);
    let (x, y) = (ratio_text(r), ratio_text(1.0 / r));
    match a.unit {
        Unit::Micros if same => "took about as long as".to_string(),
        Unit::Micros if r > 1.0 => format!("was {x}× slower than"),
        Unit::Micros => format!("was {y}× faster than"),
        Unit::GibPerSec if same => {
            "moved about as many bytes per second as".to_string()
        }
        Unit::GibPerSec if r > 1.0 => format!("was {x}× faster than"),
        Unit::GibPerSec => format!("was {y}× slower than"),
        Unit::Kib if same => "about as much as".to_string(),
        Unit::Kib if r > 1.0 => format!("{x}× as much as"),
        Unit::Kib => format!("{y}× less than"),
    }
}

/// How `a` compares with `b` (median ratio `r`) where the trials show no difference: "was
/// not measurably slower than", "was not measurably faster than", "not measurably more than".
fn no_difference(a: &Row, r: f64) -> &'static str {
    match a.unit {
        Unit::Micros if r > 1.0 => "was not measurably slower than",
        Unit::Micros => "was not measurably faster than",
        Unit::GibPerSec if r > 1.0 => "was not measurably faster than",
        Unit::GibPerSec => "was not measurably slower than",
        Unit::Kib if r > 1.0 => "not measurably more than",
        Unit::Kib => "not measurably less than",
    }
}

/// "72.4 ms", with the size or count where the other figure has another one.
fn value(row: &Row, other: &Row) -> String {
    let v = crate::nbsp(&row.unit.format(row.median));
    let param = |r: &Row| {
        r.touched_mib
            .map(|m| format!("{m} MiB"))
            .or(r.working_set_kib.map(crate::kib_text))
            .or(r.tasks.map(|n| format!("{n} idle")))
    };
    match (param(row), param(other)) {
        (Some(p), Some(q)) if p != q => format!("{v} at {}", crate::nbsp(&p)),
        _ => v,
    }
}

impl Report {
    /// The working set (KiB) where threads with a working set each are slowest against
    /// threads sharing one.
    fn widest_working_set(&self) -> Option<u64> {
        let ratio = |k: u64| {
            Some(
                self.row(&format!("ws-threads-own-{k}"))?.median
                    / self.row(&format!("ws-threads-shared-{k}"))?.median,
            )
        };
        self.rows
            .iter()
            .filter_map(|r| r.working_set_kib)
            .filter_map(|k| Some((k, ratio(k)?)))
            .max_by(|x, y| x.1.total_cmp(&y.1))
            .map(|(k, _)| k)
    }

    /// Claim `key` and its two rows, or None where they were not measured.
    fn claim_rows(&self, key: &str) -> Option<(&Claim, &Row, &Row)> {
        let claim = CLAIMS.iter().find(|c| c.key == key)?;
        let resolve = |id: &str| match id.strip_suffix("-widest") {
            Some(prefix) => {
                self.row(&format!("{prefix}-{}", self.widest_working_set()?))
            }
            None => self.pick(id),
        };
        let (a, b) = (resolve(claim.a)?, resolve(claim.b)?);
        (a.id != b.id).then_some((claim, a, b))
    }

    /// The claim `key` without its subject: "was 5.0× slower than a thread's spawn +
    /// join (316 µs vs 62.7 µs)", or None where its rows were not measured.
    pub fn claim(&self, key: &str) -> Option<String> {
        let (claim, a, b) = self.claim_rows(key)?;
        let (va, vb) = (value(a, b), value(b, a));
        let r = a.median / b.median;
        if !about_same(r) && overlap(a, b) {
            return Some(format!(
                "{} {}: the median was {}× {}, but the trials overlap ({va} vs {vb})",
                no_difference(a, r),
                claim.than,
                ratio_text(r.max(1.0 / r)),
                if r > 1.0 { "higher" } else { "lower" },
            ));
        }
        Some(format!("{} {} ({va} vs {vb})", compare(a, b), claim.than))
    }

    /// Whether claim `key`'s rows differ measurably ([`differ`]).
    pub fn claim_differs(&self, key: &str) -> bool {
        self.claim_rows(key).is_some_and(|(_, a, b)| differ(a, b))
    }

    /// The ratio of claim `key`'s two medians.
    pub fn claim_ratio(&self, key: &str) -> Option<f64> {
        let (_, a, b) = self.claim_rows(key)?;
        Some(a.median / b.median)
    }

    /// The four claims of the usual comparison table, each with its verdict, the
    /// measured ratios and the conditions under which they hold: Markdown list items.
    pub fn verdict(&self) -> Vec<String> {
        let claim = |key: &str| {
            md(&self
                .claim(key)
                .unwrap_or_else(|| "was not measured".to_string()))
        };
        let ratio = |key: &str| self.claim_ratio(key).unwrap_or(1.0);
        let differs = |key: &str| self.claim_differs(key);
        let slower = |key: &str| differs(key) && ratio(key) > 1.0;
        let creation = if slower("fork-thread-unpinned") && slower("fork-thread-pinned")
        {
            "yes"
        } else {
            "not always"
        };
        let switch = match ratio("switch-pinned") {
            _ if !differs("switch-pinned") => "not measurably, here",
            r if r > 1.0 => "yes, here",
            _ => "no, not here",
        };
        let communication = if !differs("pipe") && !differs("shm") {
            "only by the mechanism"
        } else {
            "partly"
        };
        // The copying mechanisms do the same work for both kinds of task; where the unpinned
        // pipe rows differ, the difference is in the wake-ups around them.
        let copying = if !differs("pipe") {
            "copying mechanisms (pipes, sockets, message queues) cost threads the same"
        } else {
            "a copying mechanism (pipes, sockets, message queues) does the same work for \
             threads, but unpinned each round trip also wakes another CPU, which varies widely \
             from trial to trial"
        };
        let overhead = if slower("process-thread") {
            "yes"
        } else {
            "not here"
        };
        let conditions = match &self.machine.address_space_switch {
            Some(s)
                if s.pcid == Some(true)
                    && s.vulnerabilities.contains_key("spectre_v2")
                    && s.ibpb().is_none()
                    && !s.kpti() =>
            {
                "on a CPU with PCID, without KPTI, and without IBPB, as here".to_string()
            }
            Some(s) if s.pcid == Some(true) && s.ibpb() != Some("always-on") && !s.kpti() => {
                "on a CPU with PCID, without KPTI, and with IBPB only on request, as here"
                    .to_string()
            }
            Some(s) => format!("on this machine: {}", s.summary()),
            None => "on this machine (its mitigations were not recorded)".to_string(),
        };
        vec![
            format!(
                "**Creating a process is slower: {creation}.** `fork` + `_exit` + `waitpid` \
                 {} unpinned, and {} pinned. *When:* always for `fork`, and more the more \
                 memory the parent has touched: after touching it, `fork` {}, while \
                 `posix_spawn` {}.",
                claim("fork-thread-unpinned"),
                claim("fork-thread-pinned"),
                claim("fork-size"),
                claim("spawn-size"),
            ),
            format!(
                "**Switching between processes is slower: {switch}.** Pinned to one CPU, a \
                 pipe round trip between processes {}. *When:* {conditions}. Without PCID, \
                 or with IBPB on every switch, a switch between processes costs more; a \
                 working set that does not fit beside the other task's costs threads and \
                 processes alike.",
                claim("switch-pinned"),
            ),
            format!(
                "**Communication between processes is slower: {communication}.** A pipe \
                 round trip between processes {}; a shared-memory round trip between \
                 processes {}; and between processes a pipe round trip {}. *When:* {copying}; \
                 threads have shared memory without setting it up.",
                claim("pipe"),
                claim("shm"),
                claim("pipe-shm"),
            ),
            format!(
                "**Processes have more overhead: {overhead}.** An idle process added {}. \
                 *When:* counted as the memory only the new process has; the RSS `ps` shows \
                 for it is {}.",
                claim("process-thread"),
                claim("rss"),
            ),
        ]
    }

    /// `claims.md`: the verdict, then every claim between anchors, for the chapter to
    /// include inline.
    pub fn claims_markdown(&self) -> String {
        let mut w = format!(
            "<!-- Generated by `{}` from reference.json. Do not edit. -->\n\n<!-- ANCHOR: verdict -->\n",
            crate::REFERENCE_COMMAND
        );
        for item in self.verdict() {
            let _ = writeln!(w, "- {item}");
        }
        w.push_str("<!-- ANCHOR_END: verdict -->\n");
        for claim in CLAIMS {
            if let Some(text) = self.claim(claim.key) {
                let key = claim.key;
                let _ = write!(
                    w,
                    "\n<!-- ANCHOR: {key} -->\n{}\n<!-- ANCHOR_END: {key} -->\n",
                    md(&text)
                );
            }
        }
        w
    }
}

/// The verdict for the terminal: plain text, no Markdown.
pub fn sentences(report: &Report) -> Vec<String> {
    if report.rows.is_empty() {
        return Vec::new();
    }
    report
        .verdict()
        .iter()
        .map(|v| v.replace(['*', '`', '\\'], ""))
        .collect()
}

#[test]
fn ratios_keep_two_significant_figures() {
    let texts: Vec<String> = [1.04, 1.43, 5.04, 9.96, 23.6, 139.5, 157.1, 2416.8]
        .map(ratio_text)
        .into();
    assert_eq!(
        texts,
        ["1.0", "1.4", "5.0", "10", "24", "140", "160", "2,400"]
    );
}
