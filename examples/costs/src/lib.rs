//! The results of one `costs` run and the ways to show them.
//!
//! The binary (`src/main.rs`) measures; this library holds what it measured
//! ([`Report`]: the machine, one [`Row`] per figure, the cross-checks against `perf`
//! and `stress-ng`) and renders it as a plain-text table, Markdown tables, the
//! comparisons the chapter states in words ([`claims`]), JSON and SVG charts. Everything here is a pure function of the [`Report`], so the tests can
//! re-render the committed reference run from its JSON and prove that the tables and
//! charts in the book were not edited by hand.

pub mod charts;
mod claims;
pub mod compare;
mod report;

pub use claims::{CLAIMS, SAME, compare, differ, ratio_text};

pub use report::*;

/// Every file of a reference directory, by name, rendered from `report`: the JSON
/// itself, the Markdown tables and the claims the chapter includes, and one SVG per
/// chart.
pub fn reference_files(report: &Report) -> Vec<(String, String)> {
    let mut files = vec![
        ("reference.json".to_string(), report.to_json()),
        ("table.md".to_string(), report.to_markdown()),
        ("claims.md".to_string(), report.claims_markdown()),
    ];
    for chart in charts::CHARTS {
        files.push((format!("{}.svg", chart.name), charts::render(report, chart)));
    }
    files
}
