//! Runs the `costs` harness in `--quick` mode and checks that its output is well
//! formed, with every figure positive (never a timing threshold: the machine may be
//! loaded). Then checks the committed reference run: it parses, every table and chart
//! in it is exactly what its JSON renders to (so none was edited by hand), the chapter
//! includes them, and the chapter's statements about it hold for its numbers. And it
//! fails cleanly: a closed stdout, a process limit, a bad flag or a bad directory each
//! end in one line.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use costs::{Report, Section, Who, reference_files};
use regex::Regex;
use test_support::{Redaction, TIMES};

const BIN: &str = env!("CARGO_BIN_EXE_costs");

/// Rows of a `--quick` run: 6 creations × pinned/unpinned, 3 kinds × 3 sizes (0, 64,
/// 256 MiB), 3 kinds × 2 loads (1, 10 idle tasks), 3 ping-pongs × pinned/unpinned and
/// the tasks' pinned one, 3 kinds × 3 working sets (0, 64 KiB, 1 MiB), 11 latencies,
/// 8 throughputs, 4 memory figures, 3 kinds × 2 counts (1, 10 idle tasks).
const QUICK_ROWS: usize = 12 + 9 + 6 + 7 + 9 + 11 + 8 + 4 + 6;

const MACHINE: Redaction = ("[MACHINE]", r"(?m)^Machine: (?<redacted>.+)$");
const CPUS: Redaction = ("[CPUS]", r"(?m)^CPUs: (?<redacted>.+)$");
/// The switch-conditions line and its three detail lines (mitigations and PCID).
const CACHES: Redaction = ("[CACHES]", r"(?m)^Caches: (?<redacted>.+)$");
/// The comparison with the book's reference and published figures: its own test.
const COMPARISON: Redaction = (
    "[COMPARISON]",
    r"(?s)Your machine next to the book and the world:\n(?<redacted>.*)$",
);
const SWITCH: Redaction = (
    "[SWITCH]",
    r"(?m)^Switch to another process: (?<redacted>.+(?:\n  .+){3})$",
);
const RATES: Redaction = ("[RATE]", r"\d+(?:\.\d+)? [GM]iB/s");
const SIZES: Redaction = ("[KIB]", r"\d+\.\d KiB|\d+ B\b");
const RATIOS: Redaction = ("[RATIO]", r"\d+\.\d+×");
fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The figures (number + unit) on a table line, as numbers.
fn figures(line: &str) -> Vec<f64> {
    let figure =
        Regex::new(r"(\d+(?:\.\d+)?) (?:ns|µs|ms|GiB/s|MiB/s|KiB|B\b)").expect("regex");
    figure
        .captures_iter(line)
        .map(|c| c[1].parse().expect("a number"))
        .collect()
}

#[test]
fn quick_run_prints_a_well_formed_table() {
    let out = test_support::run(BIN, &["--quick"]);
    out.assert_success();
    let stdout = &out.stdout;
    for section in Section::ALL {
        out.assert_stdout_contains(section.title());
    }
    // Every table row: label, who, pinning, then median (fastest – slowest), all
    // positive.
    let row = Regex::new(r"^  \S.*  (process|thread|task) +(pinned|unpinned) +\d")
        .expect("regex");
    let table = stdout
        .split("Your machine next to the book")
        .next()
        .expect("a table");
    let rows: Vec<&str> = table.lines().filter(|l| row.is_match(l)).collect();
    assert_eq!(rows.len(), QUICK_ROWS, "table rows:\n{stdout}");
    for line in &rows {
        // The figures follow the pinning column (a label may hold a size).
        let numbers = figures(line.rsplit_once("pinned ").expect("a pinning").1);
        assert_eq!(numbers.len(), 3, "median, fastest, slowest on: {line}");
        assert!(
            numbers.iter().all(|n| *n > 0.0),
            "a figure is not positive: {line}"
        );
    }
    assert!(stdout.contains("Quick run: tiny loop counts"), "{stdout}");
    assert!(stdout.contains("What the medians say:"), "{stdout}");
    out.assert_stdout_contains("Switch to another process: ");
    // Progress goes to stderr only on a terminal: here stderr stays empty.
    assert_eq!(
        out.stderr, "",
        "stderr should be empty when it is not a terminal"
    );
    out.assert_stdout_snapshot(
        "output-quick.txt",
        &[
            MACHINE, CPUS, CACHES, SWITCH, COMPARISON, TIMES, RATES, SIZES, RATIOS,
        ],
    );
    assert_comparison_is_well_formed(stdout);
}

/// The reader comparison ends every run: a heading, then lines that each put the
/// reader's median next to the book's reference, a published figure (with its
/// hardware and source) or perf's own ping-pong, each with a ratio, and a `gap:` line
/// after a ratio beyond 2× either way.
fn assert_comparison_is_well_formed(stdout: &str) {
    let (_, block) = stdout
        .split_once("\nYour machine next to the book and the world:\n")
        .unwrap_or_else(|| panic!("no comparison block:\n{stdout}"));
    let versus = Regex::new(concat!(
        r"^  - .+ \((process|thread|task)(, pinned)?\): yours \d[^;]*",
        r"(, not in the book's reference run|, the book's reference .+: ratio (\d+\.\d\d)",
        r"|; published .+ \(.+; .+\): ratio (\d+\.\d\d)",
        r"|; `perf bench sched pipe .+` here, now: .+: ratio (\d+\.\d\d))$"
    ))
    .expect("regex");
    let mut lines = block.lines().peekable();
    let (mut compared, mut published) = (0, 0);
    while let Some(line) = lines.next() {
        let caps = versus
            .captures(line)
            .unwrap_or_else(|| panic!("not a comparison line: {line:?}\n{block}"));
        compared += 1;
        let ratio = caps.get(4).or(caps.get(5)).or(caps.get(6));
        if let Some(r) = ratio {
            let r: f64 = r.as_str().parse().expect("a ratio");
            assert!(r > 0.0, "{line}");
            let gap = lines
                .peek()
                .is_some_and(|l| l.starts_with("    gap: likely "));
            assert_eq!(gap, !(0.5..=2.0).contains(&r), "gap line after {line}");
            if gap {
                lines.next();
            }
        }
        if caps.get(5).is_some() {
            published += 1;
            let source = lines.next().expect("a source line");
            assert!(source.starts_with("    source: "), "{source}");
        }
    }
    assert!(
        compared >= costs::compare::VERSUS_REFERENCE.len(),
        "{block}"
    );
    assert!(published >= 1, "no published figure compared:\n{block}");
    if perf_works() {
        assert_eq!(block.matches("` here, now: ").count(), 2, "{block}");
    }
}

#[test]
fn quick_json_is_only_json_and_every_figure_is_positive() {
    let out = test_support::run(BIN, &["--quick", "--json"]);
    out.assert_success();
    let report = Report::from_json(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not a report: {e}\n{}", out.stdout));
    assert!(report.quick);
    assert_eq!(report.rows.len(), QUICK_ROWS);
    assert_eq!(report.problems(), Vec::<String>::new());
    for section in Section::ALL {
        assert!(
            report.rows_in(section).next().is_some(),
            "no {section:?} rows"
        );
    }
    // Both kinds of task in every section, pinned and unpinned where the chapter
    // compares them.
    for section in [Section::Creation, Section::ContextSwitch] {
        for who in [Who::Process, Who::Thread] {
            for pinned in [false, true] {
                assert!(
                    report
                        .rows_in(section)
                        .any(|r| r.who == who && r.pinned == pinned),
                    "{section:?}: no {who:?} row with pinned = {pinned}"
                );
            }
        }
    }
    let ids: BTreeSet<&str> = report.rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), report.rows.len(), "row ids are not unique");
    assert!(report.machine.logical_cpus >= 1 && !report.machine.kernel.is_empty());
    assert!(
        report.machine.address_space_switch.is_some(),
        "every run records the conditions of a switch between processes"
    );
    assert!(
        report.cross_checks.is_empty(),
        "cross-checks run only when asked"
    );
}

/// Is `perf bench sched pipe` usable here? (Debian's /usr/bin/perf can be a wrapper
/// that only says which linux-perf package is missing.)
fn perf_works() -> bool {
    std::process::Command::new("perf")
        .args(["bench", "sched", "pipe", "-l", "10"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn quick_reference_writes_files_that_render_from_their_json() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("costs-quick-reference");
    let _ = std::fs::remove_dir_all(&dir);
    let dir_arg = dir.to_str().expect("a UTF-8 path");
    let out = test_support::run(BIN, &["--quick", "--reference", dir_arg]);
    out.assert_success();
    out.assert_stdout_contains(&format!(
        "Wrote {} files into",
        3 + costs::charts::CHARTS.len()
    ));
    let json =
        std::fs::read_to_string(dir.join("reference.json")).expect("reference.json");
    let report = Report::from_json(&json).expect("reference.json parses");
    assert_eq!(report.problems(), Vec::<String>::new());
    for (name, expected) in reference_files(&report) {
        let written = std::fs::read_to_string(dir.join(&name)).expect(&name);
        assert_eq!(
            written, expected,
            "{name} differs from what the JSON renders to"
        );
    }
    if perf_works() {
        let ratios: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| l.contains("ratio ours/perf = "))
            .collect();
        assert_eq!(
            ratios.len(),
            2,
            "one ratio for processes, one for threads:\n{}",
            out.stdout
        );
        assert!(report.cross_checks.iter().all(|c| c.ratio > 0.0));
    } else {
        eprintln!(
            "perf bench sched pipe does not run here: cross-check lines not checked"
        );
    }
    std::fs::remove_dir_all(&dir).expect("removing the test's reference directory");
}

/// The committed reference run, from `costs::REFERENCE_COMMAND`.
fn committed() -> Report {
    let path = crate_dir().join("reference/reference.json");
    let text = std::fs::read_to_string(&path)
        .expect("examples/costs/reference/reference.json");
    Report::from_json(&text).expect("the committed reference.json parses")
}

#[test]
fn committed_reference_is_complete_and_untouched() {
    let report = committed();
    assert!(
        !report.quick,
        "the reference must be a full run, not --quick"
    );
    assert_eq!(report.problems(), Vec::<String>::new());
    assert_eq!(report.max_touched_mib(), Some(1024));
    assert!(report.trials >= 5);
    if report.schema >= 2 {
        for section in Section::ALL {
            assert!(
                report.rows_in(section).next().is_some(),
                "no {section:?} rows"
            );
        }
        assert!(report.machine.caches.is_some(), "no cache sizes");
        // The sweep goes past the last-level cache, with room for both working sets.
        let llc = report.machine.llc_kib();
        assert!(llc.is_none_or(
            |l| report.max_working_set_kib() >= Some((l * 2).min(256 << 10))
        ));
    } else {
        eprintln!("reference.json predates schema 2: its new rows are not recorded");
    }
    for (name, expected) in reference_files(&report) {
        let path = crate_dir().join("reference").join(&name);
        let committed =
            std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{name} missing"));
        assert_eq!(
            committed,
            expected,
            "reference/{name} is not what reference.json renders to: regenerate it \
             with `{}` (or `--rerender examples/costs/reference` after changing only \
             the rendering)",
            costs::REFERENCE_COMMAND
        );
    }
    assert!(
        report.cross_checks.iter().any(|c| c.tool_name == "perf"),
        "the reference run should carry the perf cross-check"
    );
}

#[test]
fn chapter_includes_the_reference_and_its_headings() {
    let chapter = std::fs::read_to_string(crate_dir().join("../../src/cost.md"))
        .expect("cost.md");
    for chart in costs::charts::CHARTS {
        let include = format!(
            "{{{{#include ../examples/costs/reference/{}.svg}}}}",
            chart.name
        );
        assert!(chapter.contains(&include), "cost.md lacks {include}");
        let caption = format!("reference/table.md:caption-{}}}}}", chart.name);
        assert!(
            chapter.contains(&caption),
            "cost.md lacks the caption {caption}"
        );
    }
    for anchor in Section::ALL.map(Section::anchor).iter().chain(&[
        "machine",
        "headlines",
        "cross-check",
    ]) {
        let include =
            format!("{{{{#include ../examples/costs/reference/table.md:{anchor}}}}}");
        assert!(chapter.contains(&include), "cost.md lacks {include}");
    }
    let headings: Vec<&str> =
        chapter.lines().filter(|l| l.starts_with("## ")).collect();
    for heading in [
        "## Creation",
        "## Context switching",
        "## Communication",
        "## Memory overhead",
    ] {
        assert!(
            headings.contains(&heading),
            "cost.md lacks the heading {heading}"
        );
    }
    assert_eq!(headings.last(), Some(&"## Run it"));
    // Inline SVG ends at a blank line in Markdown: the charts must have none.
    for chart in costs::charts::CHARTS {
        let svg = std::fs::read_to_string(
            crate_dir().join(format!("reference/{}.svg", chart.name)),
        )
        .expect("chart");
        assert!(
            svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"),
            "{}",
            chart.name
        );
        assert!(
            !svg.lines().any(|l| l.trim().is_empty()),
            "{} has a blank line",
            chart.name
        );
    }
}

/// The chapter's plain statements, checked against the committed numbers they describe.
#[test]
fn chapter_statements_hold_for_the_reference_numbers() {
    let report = committed();
    let median = |id: &str| {
        report
            .row(id)
            .unwrap_or_else(|| panic!("no row {id}"))
            .median
    };
    // Pinned pipe ping-pong: processes and threads cost about the same.
    let ratio =
        median("switch-pipe-processes-pinned") / median("switch-pipe-threads-pinned");
    assert!(
        (0.8..1.25).contains(&ratio),
        "pinned pipe processes/threads = {ratio}"
    );
    // Unpinned on a quiet VM, the round trip costs several times the pinned one (it
    // waits for an idle vCPU to wake up); on a busy machine the chapter says it need
    // not.
    if report.machine.virtual_machine && report.machine.load_before < 1.0 {
        let unpinned = median("switch-pipe-processes-unpinned");
        let pinned = median("switch-pipe-processes-pinned");
        assert!(
            unpinned > 2.0 * pinned,
            "unpinned {unpinned} vs pinned {pinned}"
        );
    }
    // Those conditions: PCID, no KPTI, IBPB only on request (a report recorded before
    // the harness read them says "not recorded" in its machine table instead).
    if let Some(switch) = &report.machine.address_space_switch {
        assert_eq!(switch.pcid, Some(true), "the chapter says the CPU has PCID");
        assert!(
            !switch.kpti(),
            "the chapter says the kernel does not use KPTI"
        );
        assert_eq!(switch.ibpb(), Some("conditional"), "IBPB only on request");
    }
    // fork grows with touched memory; posix_spawn and thread spawn do not.
    assert!(median("size-fork-wait-1024") > 10.0 * median("size-fork-wait-0"));
    assert!(median("size-posix-spawn-1024") < 1.25 * median("size-posix-spawn-0"));
    assert!(median("size-thread-spawn-1024") < 1.25 * median("size-thread-spawn-0"));
    // Creation: fork + wait takes between 5 and 8 times a thread's spawn + join, pinned
    // or not; the thread figure is higher unpinned.
    let fork_vs_thread = |p: &str| {
        median(&format!("creation-fork-wait-{p}"))
            / median(&format!("creation-thread-spawn-{p}"))
    };
    for pinning in ["unpinned", "pinned"] {
        let ratio = fork_vs_thread(pinning);
        assert!(
            (5.0..8.0).contains(&ratio),
            "{pinning} fork/thread = {ratio}"
        );
    }
    let thread = median("creation-thread-spawn-unpinned")
        / median("creation-thread-spawn-pinned");
    assert!(
        (1.1..2.5).contains(&thread),
        "thread spawn unpinned/pinned = {thread}"
    );
    // Shared memory: processes and threads alike, far below a pipe round trip.
    let shm = median("latency-shm-processes") / median("latency-shm-threads");
    assert!((0.5..2.0).contains(&shm), "shm processes/threads = {shm}");
    assert!(median("latency-pipe-processes") > 5.0 * median("latency-shm-processes"));
    let shm_rate =
        median("throughput-shm-processes") / median("throughput-shm-threads");
    assert!(
        (0.67..1.5).contains(&shm_rate),
        "shm throughput processes/threads = {shm_rate}"
    );
    // Memory: an idle process adds several times what an idle thread adds, and ps's RSS
    // overstates it several times over.
    assert!(median("memory-process-private") > 2.0 * median("memory-thread"));
    assert!(median("memory-process-rss") > 3.0 * median("memory-process-private"));
    // The rows schema 2 added (skipped, loudly, while reference.json predates them).
    if report.schema < 2 {
        eprintln!(
            "not recorded in this run: tasks, working sets, scaling, new IPC rows"
        );
    } else {
        // Async tasks: spawn + join and a round trip far cheaper than a thread's, and
        // an idle task far smaller than an idle thread.
        let spawn = median("creation-thread-spawn-pinned")
            / median("creation-task-spawn-pinned");
        assert!(spawn > 10.0, "thread/task spawn = {spawn}");
        let trip = median("switch-pipe-threads-pinned")
            / median("switch-channel-tasks-pinned");
        assert!(trip > 5.0, "pipe threads / task channel = {trip}");
        assert!(median("memory-thread") > 10.0 * median("memory-task"));
        // Working sets: with none, processes and threads cost the same; the largest
        // (twice the last-level cache) multiplies every round trip many times.
        let max = report.max_working_set_kib().expect("working-set rows");
        let zero = median("ws-processes-0") / median("ws-threads-own-0");
        assert!(
            (0.8..1.25).contains(&zero),
            "ws 0: processes/threads = {zero}"
        );
        for name in ["processes", "threads-own", "threads-shared"] {
            let grown =
                median(&format!("ws-{name}-{max}")) / median(&format!("ws-{name}-0"));
            assert!(grown > 10.0, "ws {name}: largest / none = {grown}");
        }
        // Memory vs count: at every count a process costs more than a thread, and a
        // thread at least its 16 KiB kernel stack.
        for row in report.rows_in(Section::MemoryScaling) {
            let (Some(n), Who::Thread) = (row.tasks, row.who) else {
                continue;
            };
            assert!(row.median >= 16.0, "{}: {}", row.id, row.median);
            assert!(median(&format!("scaling-processes-{n}")) > row.median);
        }
        // A futex handoff costs processes what it costs threads.
        let futex = median("latency-futex-processes") / median("latency-futex-threads");
        assert!(
            (0.67..1.5).contains(&futex),
            "futex processes/threads = {futex}"
        );
    }
    // The harness agrees with perf bench sched pipe.
    for check in report.cross_checks.iter().filter(|c| c.tool_name == "perf") {
        assert!(
            (0.8..1.2).contains(&check.ratio),
            "{}: ratio {}",
            check.what,
            check.ratio
        );
    }
}

#[test]
fn bad_flags_are_usage_errors() {
    for args in [
        &["--bogus"][..],
        &["--trials", "0"],
        &["--max-touch", "-1"],
        &["--json", "--markdown"],
    ] {
        let out = test_support::run(BIN, args);
        out.assert_code(2).assert_stderr_contains("error:");
    }
}

#[test]
fn failing_mkdir_is_one_clear_line() {
    let out =
        test_support::run(BIN, &["--quick", "--reference", "/dev/null/reference"]);
    out.assert_code(1)
        .assert_one_line_error()
        .assert_stderr_contains("costs: error: mkdir(/dev/null/reference): ENOTDIR");
}

#[test]
fn a_closed_or_full_stdout_ends_cleanly() {
    test_support::assert_stdout_failures_end_cleanly(BIN, &["--quick"]);
}

/// With one CPU to use (`taskset`), the run says that pinned and unpinned are the same.
#[test]
fn with_one_cpu_pinned_and_unpinned_are_said_to_be_the_same() {
    let status =
        std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let cpu = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .and_then(|list| list.trim().split([',', '-']).next())
        .expect("Cpus_allowed_list")
        .to_owned();
    if std::process::Command::new("taskset")
        .arg("-V")
        .output()
        .is_err()
    {
        test_support::skipped("taskset (util-linux) is not installed");
        return;
    }
    let out = test_support::run_command(test_support::command(
        "taskset",
        &["-c", &cpu, BIN, "--quick"],
    ));
    out.assert_success().assert_stdout_contains(&format!(
        "CPUs: only CPU {cpu} is available to this run, so pinned and unpinned rows \
         are the same"
    ));
}

/// Under a limit on processes and threads, at every point where a task is refused: one
/// line with one `costs: error:` prefix, exit 1, nothing left behind. A quick run needs
/// 12 tasks at once (itself, the memory probe and its 10 idle children).
#[test]
fn a_process_limit_ends_in_one_line() {
    for nproc in [1, 2, 3, 6, 11] {
        let Some(cmd) = test_support::with_process_limit(BIN, &["--quick"], nproc)
        else {
            return;
        };
        let out = test_support::run_command(cmd);
        out.assert_code(1)
            .assert_one_line_error()
            .assert_stderr_contains("EAGAIN")
            .assert_stderr_contains("RLIMIT_NPROC");
        // As root the run is user nobody's only work, so the limit bites at a known
        // point. An ordinary user's other tasks (this test harness, cargo) count against
        // the same limit, so there it bites earlier; the one prefix is checked either way.
        if nproc >= 6 && test_support::running_as_root() {
            // Refused in the memory probe, a child copy of `costs` with its own
            // one-line error: the parent passes the cause on without a second prefix.
            out.assert_stderr_contains(
                "costs: error: measuring the memory of idle processes: fork(): EAGAIN",
            );
        }
        assert_eq!(
            out.stderr.matches("costs: error:").count(),
            1,
            "nproc={nproc}: one prefix: {}",
            out.stderr
        );
    }
}
