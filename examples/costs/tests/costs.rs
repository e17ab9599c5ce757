//! Runs the `costs` harness in `--quick` mode and checks that its output is well
//! formed and within 100 columns, with every figure positive (never a timing threshold:
//! the machine may be loaded). Then checks the committed reference run: it parses, every
//! table, chart and sentence in it is exactly what its JSON renders to (so none was
//! edited by hand), and the pages that show it state no number of their own. And it
//! fails cleanly: a closed stdout, a process limit, a bad flag or a bad directory each
//! end in one line.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use costs::{Report, Section, Who, reference_files};
use regex::Regex;
use test_support::Redaction;

const BIN: &str = env!("CARGO_BIN_EXE_costs");

/// Rows of a `--quick` run: 6 creations × pinned/unpinned, 3 kinds × 3 sizes (0, 64,
/// 256 MiB), 3 kinds × 2 loads (1, 10 idle tasks), 3 ping-pongs × pinned/unpinned and
/// the tasks' pinned one, 3 kinds × 3 working sets (0, 64 KiB, 1 MiB), 10 latencies,
/// 7 throughputs, 4 memory figures, 3 kinds × 2 counts (1, 10 idle tasks).
const QUICK_ROWS: usize = 12 + 9 + 6 + 7 + 9 + 10 + 7 + 4 + 6;

/// The machine, its load and the conditions of the run: they vary by machine.
const MACHINE: Redaction = (
    "[MACHINE]",
    r"(?s)^costs: what processes and threads cost on this machine\n(?<redacted>.*?)\n\n",
);
/// A row's figures: median, fastest and slowest (checked below instead).
const FIGURES: Redaction = (
    "[FIGURES]",
    r"(?m)^  .{42}  (?:process|thread |task   )  (?:pinned|      )  (?<redacted>\s*\S.*)$",
);
/// The verdicts: their words follow the numbers.
const VERDICT: Redaction = (
    "[VERDICT]",
    r"(?s)What the medians say:\n(?<redacted>.*?)\n\nYour machine",
);
/// The comparison with the book's reference and published figures: checked below.
const COMPARISON: Redaction = (
    "[COMPARISON]",
    r"(?s)Your machine next to the book and the world:\n(?<redacted>.*)$",
);

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn quick_run_prints_a_well_formed_table() {
    let out = test_support::run(BIN, &["--quick"]);
    out.assert_success();
    let stdout = &out.stdout;
    let wide: Vec<&str> = stdout
        .lines()
        .filter(|l| l.chars().count() > costs::COLUMNS)
        .collect();
    assert!(
        wide.is_empty(),
        "lines wider than {} columns: {wide:#?}",
        costs::COLUMNS
    );
    // Every table row: label, who, pinning, then median and fastest – slowest, all
    // positive.
    let row =
        Regex::new(r"^  .{42}  (process|thread |task   )  (pinned|      )  (.+)$")
            .expect("regex");
    let figure = Regex::new(r"(\d+(?:\.\d+)?)(?: (?:ns|µs|ms|GiB/s|MiB/s|KiB|B)\b)?")
        .expect("regex");
    let rows: Vec<&str> = stdout
        .lines()
        .filter_map(|l| Some(row.captures(l)?.get(3)?.as_str()))
        .collect();
    assert_eq!(rows.len(), QUICK_ROWS, "table rows:\n{stdout}");
    for figures in &rows {
        let numbers: Vec<f64> = figure
            .captures_iter(figures)
            .map(|c| c[1].parse().expect("a number"))
            .collect();
        assert_eq!(numbers.len(), 3, "median, fastest, slowest on: {figures}");
        assert!(
            numbers.iter().all(|n| *n > 0.0),
            "a figure is not positive: {figures}"
        );
    }
    // Progress goes to stderr only on a terminal: here stderr stays empty.
    assert_eq!(
        out.stderr, "",
        "stderr should be empty when it is not a terminal"
    );
    out.assert_stdout_snapshot(
        "output-quick.txt",
        &[MACHINE, FIGURES, VERDICT, COMPARISON],
    );
    assert_comparison_is_well_formed(stdout);
}

/// The reader comparison ends every run: lines that each put the reader's median next
/// to the book's reference or a published figure (with its hardware and source), in
/// plain words, and a `gap:` line only after a figure more than twice
/// worse than the other.
fn assert_comparison_is_well_formed(stdout: &str) {
    let (_, block) = stdout
        .split_once("\nYour machine next to the book and the world:\n")
        .unwrap_or_else(|| panic!("no comparison block:\n{stdout}"));
    // Continuation lines of a wrapped line start with six spaces.
    let block = block.replace("\n        ", " ").replace("\n      ", " ");
    let words = Regex::new(r": (about the same|([\d.,]+)× (slower|faster|more|less))$")
        .expect("regex");
    let (mut compared, mut published) = (0, 0);
    let mut lines = block.lines().peekable();
    while let Some(line) = lines.next() {
        assert!(
            line.starts_with("  - "),
            "not a comparison line: {line:?}\n{block}"
        );
        if line.ends_with("not in the book's reference run") {
            continue;
        }
        let caps = words
            .captures(line)
            .unwrap_or_else(|| panic!("no verdict: {line}"));
        compared += 1;
        let worse: f64 = match (caps.get(2), caps.get(3).map(|m| m.as_str())) {
            (Some(r), Some("slower" | "more")) => {
                r.as_str().replace(',', "").parse().expect("a ratio")
            }
            _ => 1.0,
        };
        let gap = lines
            .peek()
            .is_some_and(|l| l.starts_with("    gap: likely "));
        // The ratio is printed with two significant figures: 2.0 may be 2.04.
        if (worse - 2.0).abs() > 0.05 {
            assert_eq!(gap, worse > 2.0, "gap line after {line}");
        }
        if gap {
            lines.next();
        }
        if line.contains("; published ") || line.contains(", published ") {
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
        assert_eq!(
            out.stdout.matches("ratio ours/perf = ").count(),
            2,
            "{}",
            out.stdout
        );
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
    for section in Section::ALL {
        assert!(
            report.rows_in(section).next().is_some(),
            "no {section:?} rows"
        );
    }
    // The sweep goes past the last-level cache, with room for both working sets.
    let llc = report.machine.llc_kib();
    assert!(llc.is_none_or(|l| report.max_working_set_kib() >= Some((l * 2).min(256 << 10))));
    // Every comparison the chapter can include has its two rows.
    for claim in costs::CLAIMS {
        assert!(
            report.claim(claim.key).is_some(),
            "claim {} lacks a row",
            claim.key
        );
    }
    for (name, expected) in reference_files(&report) {
        let path = crate_dir().join("reference").join(&name);
        let committed =
            std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{name} missing"));
        assert!(
            committed == expected,
            "reference/{name} is not what reference.json renders to: regenerate it with `{}` \
             (or `--rerender examples/costs/reference` after changing only the rendering)",
            costs::REFERENCE_COMMAND
        );
    }
    assert!(
        report.cross_checks.iter().any(|c| c.tool_name == "perf"),
        "no perf cross-check"
    );
}

/// The pages that show the reference run state no figure, ratio or comparison of their
/// own: those come from the generated files they include, which follow the numbers.
#[test]
fn the_cost_pages_take_their_numbers_from_the_reference() {
    let own = Regex::new(concat!(
        r"\d\s?(?:×|ns\b|µs\b|ms\b|GiB/s|MiB/s)",
        r"|\b(?:times as|the same as|as long as|faster|slower|cheaper)\b"
    ))
    .expect("regex");
    // Includes, and quoted claims of the usual table ("switching … is faster"), are not
    // the page's own words.
    let not_own = Regex::new(r#"\{\{#include[^}]*\}\}|"[^"\n]*""#).expect("regex");
    let read = |p: &str| std::fs::read_to_string(crate_dir().join("../../src").join(p));
    for page in ["cost.md", "cost-method.md"] {
        let text = read(page).expect(page);
        let mut in_code = false;
        for line in not_own.replace_all(&text, "").lines() {
            in_code ^= line.starts_with("```");
            if let Some(m) = own.find(line).filter(|_| !in_code) {
                panic!(
                    "{page} states {:?} itself; include it from claims.md: {line}",
                    m.as_str()
                );
            }
        }
    }
    let pages =
        read("cost.md").expect("cost.md") + &read("cost-method.md").expect("method");
    // Every chart (its figure, which includes the SVG, and its table) and the machine's
    // description are on the pages.
    for chart in costs::charts::CHARTS {
        let include = format!("reference/table.md:{}}}}}", chart.name);
        assert!(pages.contains(&include), "the cost pages lack {include}");
    }
    for anchor in ["machine", "load", "cross-check", "published"] {
        assert!(
            pages.contains(&format!("table.md:{anchor}}}}}")),
            "no table.md:{anchor}"
        );
    }
}

#[test]
fn bad_flags_are_usage_errors() {
    for args in [
        &["--bogus"][..],
        &["--trials", "0"],
        &["--max-touch", "-1"],
        &["--json", "--cross-check"],
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
        "Pinning: only CPU {cpu} is available to this run, so pinned and unpinned rows \
         are the same"
    ));
}

/// Under a limit on processes and threads, at every point where a task is refused: one
/// line with one `costs: error:` prefix that names the limit, exit 1, nothing left
/// behind. A quick run needs
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
            .assert_stderr_contains("refused by RLIMIT_NPROC");
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

/// Under a limit on the address space, a refused thread is blamed on that limit, not on
/// the limit on processes.
#[test]
fn an_address_space_limit_is_named_when_it_refuses_a_thread() {
    if std::process::Command::new("prlimit")
        .arg("--version")
        .output()
        .is_err()
    {
        test_support::skipped("prlimit (util-linux) is not installed");
        return;
    }
    let limit = format!("--as={}", 16 << 20);
    let out = test_support::run_command(test_support::command(
        "prlimit",
        &[&limit, BIN, "--quick"],
    ));
    out.assert_code(1)
        .assert_one_line_error()
        .assert_stderr_contains("pthread_create(")
        .assert_stderr_contains("EAGAIN")
        .assert_stderr_contains("refused by RLIMIT_AS");
}
