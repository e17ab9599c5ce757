//! SVG charts of a [`Report`], drawn for a narrow column: 400 units wide (and a small
//! margin), so that at a phone's 360-pixel screen every text is still 12 pixels tall, one
//! label above each bar, a few series per line chart, every value axis logarithmic but
//! throughput's, with a label centred on each of its ticks. Colours are CSS custom
//! properties with plain fallbacks (`var(--fg, black)`), so the charts follow the book's
//! theme and keep fixed colours where no stylesheet applies: blue for processes, orange
//! for threads, purple for async tasks, dashes telling series of one kind apart. Each chart names itself for screen
//! readers (`<title>`) and lists its medians (`<desc>`). The output has no blank
//! lines, so the chapter can include it inline in Markdown, and it is a pure function
//! of the report, so the committed charts can be checked against the committed JSON.

use std::fmt::Write as _;

use crate::{Report, Row, Section, Unit, Who, kib_text, short_label};

/// One chart: its file stem, its title, the report sections it draws and how.
pub struct ChartSpec {
    pub name: &'static str,
    pub title: &'static str,
    pub sections: &'static [Section],
    kind: Kind,
}

#[derive(Clone, Copy)]
enum Kind {
    /// Horizontal bars, on a log axis or a linear one.
    Bars { log: bool },
    /// A line per kind of row over a parameter, on a log value axis. The parameter's
    /// values are categories, spaced evenly (each is several times the one before, after
    /// a first one that may be "none").
    Lines {
        x: fn(&Row) -> Option<u64>,
        x_title: &'static str,
    },
}

const fn bars(
    name: &'static str,
    title: &'static str,
    section: &'static [Section],
    log: bool,
) -> ChartSpec {
    ChartSpec {
        name,
        title,
        sections: section,
        kind: Kind::Bars { log },
    }
}

const fn lines(
    name: &'static str,
    title: &'static str,
    section: &'static [Section],
    x: fn(&Row) -> Option<u64>,
    x_title: &'static str,
) -> ChartSpec {
    ChartSpec {
        name,
        title,
        sections: section,
        kind: Kind::Lines { x, x_title },
    }
}

#[rustfmt::skip]
pub const CHARTS: &[ChartSpec] = &[
    bars("creation", "Creating a task and waiting for it (log scale)", &[Section::Creation], true),
    lines("fork-size", "Creation time vs memory the parent has touched, unpinned (log scale)",
          &[Section::ForkSize], |r| r.touched_mib, "MiB the parent wrote to first"),
    lines("creation-under-load", "Creation while N idle tasks of the same kind exist, unpinned (log scale)",
          &[Section::CreationLoad], |r| r.tasks, "idle tasks already there"),
    bars("context-switch", "1-byte round trip between two tasks (log scale)", &[Section::ContextSwitch], true),
    lines("working-set", "Pinned round trip vs the working set each side writes (log scale)",
          &[Section::WorkingSet], |r| r.working_set_kib, "working set of each side"),
    bars("communication-latency", "Round trip of a small message (log scale)", &[Section::Latency], true),
    bars("communication-throughput", "Throughput one way, in 64 KiB messages (message queue: msgsize_max)", &[Section::Throughput], false),
    bars("memory", "Memory added per idle task (log scale)", &[Section::Memory], true),
    lines("memory-scaling", "Memory per idle task vs number of idle tasks (log scale)",
          &[Section::MemoryScaling], |r| r.tasks, "idle tasks"),
];

const WIDTH: f64 = 400.0;
/// Room on either side of [`WIDTH`], so that on a phone, where a chart spans the screen, no
/// label starts at its very edge.
const MARGIN: f64 = 6.0;
/// Every text's size, in SVG units.
const FONT: f64 = 14.0;
/// A generous estimate of a character's width at [`FONT`], for layout.
const CHAR: f64 = 8.5;
const FG: &str = "var(--fg, black)";

fn colour(who: Who) -> &'static str {
    match who {
        Who::Process => "var(--costs-process, #1f77b4)",
        Who::Thread => "var(--costs-thread, #d95f02)",
        Who::Task => "var(--costs-task, #9467bd)",
    }
}

/// Renders chart `spec` of `report`; a report without rows for it (recorded before the
/// harness measured them) gets a small chart that says so.
pub fn render(report: &Report, spec: &ChartSpec) -> String {
    let rows: Vec<&Row> = report
        .rows
        .iter()
        .filter(|r| spec.sections.contains(&r.section))
        .collect();
    let mut svg = Svg::default();
    let height = match spec.kind {
        _ if rows.is_empty() => {
            svg.text(
                0.0,
                20.0,
                "start",
                &format!("{}: not recorded in this run", spec.title),
            );
            30.0
        }
        Kind::Bars { log } => bar_chart(&mut svg, &rows, log),
        Kind::Lines { x, x_title } => line_chart(&mut svg, &rows, x, x_title),
    };
    let desc: Vec<String> = rows
        .iter()
        .map(|r| format!("{} {}", short_label(r), r.unit.format(r.median)))
        .collect();
    let id = format!("costs-{}", spec.name);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"{} 0 {} {height:.0}\" \
         width=\"{}\" role=\"img\" aria-labelledby=\"{id}-title\" \
         aria-describedby=\"{id}-desc\" font-family=\"sans-serif\" font-size=\"{FONT}\" \
         style=\"max-width:100%;height:auto\">\n<title id=\"{id}-title\">{}</title>\n\
         <desc id=\"{id}-desc\">Medians: {}.</desc>\n{}</svg>\n",
        -MARGIN,
        WIDTH + 2.0 * MARGIN,
        WIDTH + 2.0 * MARGIN,
        escape(spec.title),
        escape(&desc.join("; ")),
        svg.0
    )
}

/// SVG elements, one per line.
#[derive(Default)]
struct Svg(String);

impl Svg {
    fn text(&mut self, x: f64, y: f64, anchor: &str, text: &str) {
        let _ = writeln!(
            self.0,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\" fill=\"{FG}\">{}</text>",
            escape(text)
        );
    }

    fn line(&mut self, points: &[(f64, f64)], stroke: &str, width: f64, dash: &str) {
        let d: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let dash = if dash.is_empty() {
            String::new()
        } else {
            format!(" stroke-dasharray=\"{dash}\"")
        };
        let _ = writeln!(
            self.0,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"{width}\"{dash}/>",
            d.join(" ")
        );
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str) {
        let _ = writeln!(
            self.0,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{fill}\"/>",
            w.max(1.0)
        );
    }

    fn dot(&mut self, x: f64, y: f64, fill: &str) {
        let _ = writeln!(
            self.0,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.5\" fill=\"{fill}\"/>"
        );
    }

    /// A whisker from `a` to `b` with a cap at each end, across (`vertical` = false) or
    /// up the chart.
    fn whisker(&mut self, a: (f64, f64), b: (f64, f64), vertical: bool) {
        self.line(&[a, b], FG, 1.0, "");
        for (x, y) in [a, b] {
            let cap = if vertical {
                [(x - 4.0, y), (x + 4.0, y)]
            } else {
                [(x, y - 4.0), (x, y + 4.0)]
            };
            self.line(&cap, FG, 1.0, "");
        }
    }
}

/// A value axis from `lo` to `hi` onto `from..to` (pixels), log or linear, with its
/// ticks.
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    from: f64,
    to: f64,
}

impl Axis {
    fn new(rows: &[&Row], log: bool, from: f64, to: f64) -> Axis {
        let min = rows.iter().map(|r| r.min).fold(f64::INFINITY, f64::min);
        let max = rows.iter().map(|r| r.max).fold(0.0, f64::max);
        if log {
            let lo = 10f64.powf(min.log10().floor());
            let hi = 10f64.powf(max.log10().ceil()).max(lo * 10.0);
            Axis {
                lo,
                hi,
                log,
                from,
                to,
            }
        } else {
            Axis {
                lo: 0.0,
                hi: nice_step(max) * (max / nice_step(max)).ceil(),
                log,
                from,
                to,
            }
        }
    }

    fn at(&self, v: f64) -> f64 {
        let f = if self.log {
            (v.max(self.lo).log10() - self.lo.log10())
                / (self.hi.log10() - self.lo.log10())
        } else {
            v / self.hi
        };
        self.from + f * (self.to - self.from)
    }

    fn ticks(&self) -> Vec<f64> {
        let mut ticks = Vec::new();
        let mut v = self.lo;
        let step = nice_step(self.hi);
        while v <= self.hi * 1.0001 {
            ticks.push(v);
            v = if self.log { v * 10.0 } else { v + step };
        }
        ticks
    }
}

/// A round step that divides `max` into two to five parts.
fn nice_step(max: f64) -> f64 {
    let p = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p / 2.0)
        .find(|s| max / s <= 5.0)
        .unwrap_or(p)
}

/// A tick label: "10 µs", "1 ms", "100 B", "1 MiB", "10 GiB/s".
fn tick(unit: Unit, v: f64) -> String {
    let trim = |v: f64| {
        let t = format!("{v:.2}");
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    match unit {
        _ if v == 0.0 => "0".to_string(),
        Unit::Micros if v >= 1000.0 => format!("{} ms", trim(v / 1000.0)),
        Unit::Micros if v < 1.0 => format!("{} ns", trim(v * 1000.0)),
        Unit::Micros => format!("{} µs", trim(v)),
        Unit::Kib => format!("{} KiB", trim(v)),
        Unit::GibPerSec => format!("{} GiB/s", trim(v)),
    }
}

/// Half the width of `label`, as [`CHAR`] estimates it: the room a label centred on its
/// tick needs on either side.
fn half(label: &str) -> f64 {
    label.chars().count() as f64 * CHAR / 2.0
}

/// Draws tick labels centred on their ticks along the bottom (at `y`), leaving out one
/// that would touch the one before (the estimate of [`CHAR`] is generous). The value axes
/// leave room for all of theirs.
fn bottom_labels(svg: &mut Svg, y: f64, labels: &[(f64, String)]) {
    let mut right_end = f64::NEG_INFINITY;
    for (x, label) in labels {
        if x - half(label) > right_end + 6.0 {
            svg.text(*x, y, "middle", label);
            right_end = x + half(label);
        }
    }
}

/// Bars with whiskers, each under its own label line(s); the median's value at the end.
fn bar_chart(svg: &mut Svg, rows: &[&Row], log: bool) -> f64 {
    let unit = rows[0].unit;
    // Room on the right for the value after the longest whisker.
    let value_room = rows
        .iter()
        .map(|r| unit.format(r.median).chars().count())
        .max()
        .unwrap_or(0) as f64
        * CHAR
        + 8.0;
    // Room at the left for the first tick's label, centred on it.
    let first = Axis::new(rows, log, 0.0, 1.0).ticks()[0];
    let axis = Axis::new(rows, log, half(&tick(unit, first)), WIDTH - value_room);
    let mut y = 0.0;
    for row in rows {
        for part in wrap(&short_label(row), (WIDTH / CHAR) as usize) {
            y += FONT + 3.0;
            svg.text(0.0, y, "start", &part);
        }
        let top = y + 5.0;
        svg.rect(
            axis.from,
            top,
            axis.at(row.median) - axis.from,
            14.0,
            colour(row.who),
        );
        let mid = top + 7.0;
        svg.whisker((axis.at(row.min), mid), (axis.at(row.max), mid), false);
        svg.text(
            axis.at(row.max) + 6.0,
            mid + 5.0,
            "start",
            &unit.format(row.median),
        );
        y = top + 14.0 + 10.0;
    }
    // The axis: a baseline, ticks and their labels, and what is measured.
    svg.line(&[(axis.from, y), (axis.to, y)], FG, 1.0, "");
    let labels: Vec<(f64, String)> = axis
        .ticks()
        .into_iter()
        .map(|t| (axis.at(t), tick(unit, t)))
        .collect();
    for (x, _) in &labels {
        svg.line(&[(*x, y), (*x, y + 4.0)], FG, 1.0, "");
    }
    bottom_labels(svg, y + 4.0 + FONT, &labels);
    let title = match unit {
        Unit::Micros => "lower is faster",
        Unit::GibPerSec => "higher is faster",
        Unit::Kib => "lower is leaner",
    };
    svg.text(0.0, y + 10.0 + 2.0 * FONT, "start", title);
    y + 14.0 + 2.0 * FONT
}

/// A line per kind of row over the parameter `x_of`, whiskers at each point, and a key
/// above the plot.
fn line_chart(
    svg: &mut Svg,
    rows: &[&Row],
    x_of: fn(&Row) -> Option<u64>,
    x_title: &str,
) -> f64 {
    let unit = rows[0].unit;
    let mut xs: Vec<u64> = rows.iter().filter_map(|r| x_of(r)).collect();
    xs.sort_unstable();
    xs.dedup();
    let mut kinds: Vec<(&str, Who)> = Vec::new();
    for row in rows {
        if !kinds.contains(&(row.what.as_str(), row.who)) {
            kinds.push((&row.what, row.who));
        }
    }
    // The key: a line sample and the series' name, one per line.
    let dashes = ["", "7 4", "2 3"];
    let mut y = 0.0;
    let mut styles = Vec::new();
    for (i, (what, who)) in kinds.iter().enumerate() {
        let style = (colour(*who), dashes[i % dashes.len()]);
        y += FONT + 6.0;
        svg.line(&[(0.0, y - 5.0), (26.0, y - 5.0)], style.0, 2.5, style.1);
        let name = format!("{what} ({})", who.as_str());
        for (j, part) in wrap(&name, ((WIDTH - 32.0) / CHAR) as usize)
            .iter()
            .enumerate()
        {
            if j > 0 {
                y += FONT + 3.0;
            }
            svg.text(32.0, y, "start", part);
        }
        styles.push(style);
    }
    // What the values are, above the axis's top label.
    svg.text(0.0, y + 8.0 + FONT, "start", rows[0].section.column());
    let (top, bottom) = (y + 20.0 + 1.5 * FONT, y + 20.0 + 1.5 * FONT + 230.0);
    let axis = Axis::new(rows, true, bottom, top);
    let widest = axis
        .ticks()
        .iter()
        .map(|t| tick(unit, *t).chars().count())
        .max()
        .unwrap_or(0);
    let left = widest as f64 * CHAR + 8.0;
    let right = WIDTH - 4.0 * CHAR;
    // Even spacing: the parameter's values are categories.
    let x_at = |v: u64| {
        let i = xs.iter().position(|x| *x == v).unwrap_or(0) as f64;
        left + 8.0 + i / (xs.len().max(2) - 1) as f64 * (right - left - 16.0)
    };
    for t in axis.ticks() {
        let ty = axis.at(t);
        svg.line(&[(left, ty), (right, ty)], FG, 0.3, "");
        svg.text(left - 6.0, ty + 5.0, "end", &tick(unit, t));
    }
    svg.line(&[(left, top), (left, bottom), (right, bottom)], FG, 1.0, "");
    for (i, (what, who)) in kinds.iter().enumerate() {
        let series: Vec<&&Row> = rows
            .iter()
            .filter(|r| r.what == *what && r.who == *who)
            .collect();
        let points: Vec<(f64, f64)> = series
            .iter()
            .filter_map(|r| Some((x_at(x_of(r)?), axis.at(r.median))))
            .collect();
        svg.line(&points, styles[i].0, 2.0, styles[i].1);
        for (r, (px, py)) in series.iter().zip(&points) {
            svg.whisker((*px, axis.at(r.min)), (*px, axis.at(r.max)), true);
            svg.dot(*px, *py, styles[i].0);
        }
    }
    let labels: Vec<(f64, String)> = xs
        .iter()
        .map(|&x| {
            let text = match x {
                0 => "none".to_string(),
                _ if x_title.starts_with("working set") => kib_text(x),
                _ => x.to_string(),
            };
            (x_at(x), text)
        })
        .collect();
    bottom_labels(svg, bottom + 6.0 + FONT, &labels);
    svg.text(
        (left + right) / 2.0,
        bottom + 12.0 + 2.0 * FONT,
        "middle",
        x_title,
    );
    bottom + 18.0 + 2.0 * FONT
}

/// `text` in lines of at most `width` characters, broken at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
