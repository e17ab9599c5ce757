//! `costs` keeps the house rules on a `--quick` run (`test_support::table`), whose output is
//! well formed (never a timing threshold: the machine may be loaded). The committed reference
//! run renders to exactly the files the Cost pages include, and those pages state no number
//! of their own.

use std::path::Path;

use costs::{Report, Section, reference_files};
use regex::Regex;
use test_support::table::{Program, tasks};

const BIN: &str = env!("CARGO_BIN_EXE_costs");

/// A quick run has itself, the memory probe and its 10 idle children alive at once.
const PROGRAMS: &[Program] = &[Program {
    args: &["--quick"],
    ..tasks("costs", 12)
}];

/// A row of the table: a label, who, pinned or not, then the figures.
const ROW: &str =
    r"(?m)^  .{42}  (?:process|thread |task   )  (?:pinned|      )  (?<redacted>.+)$";

// What varies: the machine and the run's conditions, each row's figures (checked below),
// the verdicts that follow them, and the comparison with the book's run.
test_support::example_tests!(
    PROGRAMS,
    &[
        (
            "[MACHINE]",
            r"(?s)^costs: .*? machine\n(?<redacted>.*?)\n\n"
        ),
        ("[FIGURES]", ROW),
        (
            "[VERDICT]",
            r"(?s)medians say:\n(?<redacted>.*?)\n\nYour machine"
        ),
        (
            "[COMPARISON]",
            r"(?s)Your machine next to the book.*?:\n(?<redacted>.*)$"
        ),
    ]
);

/// Rows of a quick run: 6 creations × pinned/unpinned, 3 kinds × 3 sizes, 3 kinds × 2
/// loads, 7 round trips, 3 kinds × 3 working sets, 10 latencies, 7 throughputs, 4 memory
/// figures, 3 kinds × 2 counts.
const QUICK_ROWS: usize = 12 + 6 + 6 + 7 + 9 + 10 + 7 + 4 + 6;

/// A quick run's report fits 100 columns; each row has three positive figures (median,
/// fastest, slowest); the reader's machine is compared with the book's run and a published
/// figure. The files it writes are what its JSON renders to; `--json` prints that JSON only.
#[test]
fn a_quick_run_is_well_formed_and_its_files_render_from_its_json() {
    let dir = test_support::tempdir().expect("a directory");
    let to = dir.path().to_str().unwrap();
    let out = test_support::run(BIN, &["--quick", "--reference", to]);
    let (text, _wrote) = out.assert_success().stdout.rsplit_once("\nWrote ").unwrap();
    let columns = |l: &&str| l.chars().count() > costs::COLUMNS;
    assert_eq!(
        text.lines().find(columns),
        None,
        "over {} columns",
        costs::COLUMNS
    );
    let (row, figure) = (
        Regex::new(ROW).unwrap(),
        Regex::new(r"\d+(?:\.\d+)?").unwrap(),
    );
    let rows: Vec<_> = row.captures_iter(text).map(|c| c[1].to_owned()).collect();
    assert_eq!(rows.len(), QUICK_ROWS, "{text}");
    for figures in rows {
        let numbers = figure
            .find_iter(&figures)
            .map(|n| n.as_str().parse::<f64>());
        let positive: Vec<bool> = numbers.map(|n| n.unwrap() > 0.0).collect();
        assert_eq!(positive, [true; 3], "{figures}");
    }
    let compared = text.matches(", the book's ").count();
    assert!(compared >= costs::compare::VERSUS_REFERENCE.len(), "{text}");
    assert!(text.contains(", published ") && text.contains("\n    source: "));

    let json = std::fs::read_to_string(dir.path().join("reference.json")).unwrap();
    let report = Report::from_json(&json).expect("reference.json parses");
    assert_eq!(report.rows.len(), QUICK_ROWS);
    assert_eq!(report.problems(), Vec::<String>::new());
    for (name, expected) in reference_files(&report) {
        let written = std::fs::read_to_string(dir.path().join(&name)).unwrap();
        assert!(
            written == expected,
            "{name} is not what the JSON renders to"
        );
    }
    let out = test_support::run(BIN, &["--quick", "--json"]);
    Report::from_json(&out.assert_success().stdout).expect("--json prints only JSON");
}

/// The committed reference is a full run with every section, claim and cross-check, and
/// each of its files is exactly what its JSON renders to: none was edited by hand.
#[test]
fn the_committed_reference_is_complete_and_untouched() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("reference");
    let json = std::fs::read_to_string(dir.join("reference.json")).unwrap();
    let report = Report::from_json(&json).expect("the committed reference.json parses");
    assert!(!report.quick && report.trials >= 5 && report.problems().is_empty());
    assert_eq!(report.max_touched_mib(), Some(1024));
    let every = |s: &Section| report.rows_in(*s).next().is_some();
    assert!(Section::ALL.iter().all(every), "a section has no rows");
    // The sweep of working sets goes to twice the last-level cache, or to 256 MiB.
    let past =
        |llc: u64| report.max_working_set_kib() >= Some((llc * 2).min(256 << 10));
    assert!(report.machine.llc_kib().is_none_or(past));
    for claim in costs::CLAIMS {
        assert!(
            report.claim(claim.key).is_some(),
            "claim {} lacks a row",
            claim.key
        );
    }
    assert!(report.cross_checks.iter().any(|c| c.tool_name == "perf"));
    for (name, expected) in reference_files(&report) {
        let committed = std::fs::read_to_string(dir.join(&name)).unwrap();
        assert!(
            committed == expected,
            "reference/{name} is not what reference.json renders to: regenerate it with \
             `{}` (or `--rerender examples/costs/reference` after changing only the \
             rendering)",
            costs::REFERENCE_COMMAND
        );
    }
}

/// The Cost pages state no figure, ratio or comparison of their own: those come from the
/// generated files they include (every chart's figure and table, the machine), which follow
/// the numbers. Includes, code and quoted claims of the usual table are not the page's words.
/// Each result is shown once: no claim appears twice, the verdict's included (a section that
/// explains a verdict refers to it).
#[test]
fn the_cost_pages_take_their_numbers_from_the_reference() {
    let own = Regex::new(concat!(
        r"\d\s?(?:×|ns\b|µs\b|ms\b|GiB/s|MiB/s)",
        r"|\b(?:times as|the same as|as long as|faster|slower|cheaper)\b"
    ));
    let not_own = Regex::new(r#"\{\{#include[^}]*\}\}|"[^"\n]*""#).unwrap();
    let mut pages = String::new();
    for page in ["cost.md", "cost-method.md"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../src")
            .join(page);
        let text = std::fs::read_to_string(path).unwrap();
        let mut in_code = false;
        for line in not_own.replace_all(&text, "").lines() {
            in_code ^= line.starts_with("```");
            let found = own.as_ref().unwrap().find(line).filter(|_| !in_code);
            assert_eq!(found, None, "{page} states it itself: {line}; include it");
        }
        pages += &text;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("reference");
    let claims = std::fs::read_to_string(dir.join("claims.md")).unwrap();
    let anchor =
        Regex::new(r"(?s)<!-- ANCHOR: ([\w-]+) -->\n(.*?)\n<!-- ANCHOR_END").unwrap();
    let text: Vec<(&str, &str)> = (anchor.captures_iter(&claims))
        .map(|c| (c.get(1).unwrap().as_str(), c.get(2).unwrap().as_str()))
        .collect();
    let include = Regex::new(r"\{\{#include\s+[^}]*claims\.md:([\w-]+)\}\}").unwrap();
    let shown = include.replace_all(&pages, |c: &regex::Captures| {
        text.iter()
            .find(|(key, _)| *key == &c[1])
            .map_or("", |t| t.1)
            .to_string()
    });
    for (key, claim) in text.iter().filter(|(key, _)| *key != "verdict") {
        let times = shown.matches(claim).count();
        assert!(
            times <= 1,
            "the cost pages show claim {key} {times} times: {claim}"
        );
    }
    // Every chart's figure (which includes its SVG) and table, and the machine's description.
    let charts = costs::charts::CHARTS.iter().map(|c| c.name);
    let tables = ["machine", "load", "cross-check", "published"]
        .into_iter()
        .chain(charts);
    for include in tables.map(|t| format!("table.md:{t}}}}}")) {
        assert!(pages.contains(&include), "the cost pages lack {include}");
    }
}

/// A thread refused under an address-space limit is blamed on that limit, not on the task
/// limit; a directory that cannot be made is one line; with one CPU to use, pinned and
/// unpinned are said to be the same.
#[test]
fn limits_and_bad_input_are_named_in_one_line() {
    let quick = |wrapper: &[&str]| {
        test_support::run(wrapper[0], &[&wrapper[1..], &[BIN, "--quick"]].concat())
    };
    if test_support::have("prlimit", "util-linux") {
        quick(&["prlimit", &format!("--as={}", 16 << 20)])
            .assert_code(1)
            .assert_one_line_error()
            .assert_stderr_contains("pthread_create(")
            .assert_stderr_contains("EAGAIN")
            .assert_stderr_contains(
                "no room for the thread's stack in an address space",
            );
    }
    test_support::run(BIN, &["--quick", "--reference", "/dev/null/reference"])
        .assert_code(1)
        .assert_one_line_error()
        .assert_stderr_contains("costs: error: mkdir(/dev/null/reference): ENOTDIR");
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let cpus = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"));
    let cpu = cpus.unwrap().trim().split([',', '-']).next().unwrap();
    if test_support::have("taskset", "util-linux") {
        let one =
            format!("only CPU {cpu} is available to this run, so pinned and unpinned");
        quick(&["taskset", "-c", cpu])
            .assert_success()
            .assert_stdout_contains(&one);
    }
}
