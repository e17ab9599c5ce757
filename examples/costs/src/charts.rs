//! SVG charts of a [`Report`], drawn with plotters' SVG backend.
//!
//! No font file is needed: the SVG backend writes `<text>` elements and the browser
//! picks the font (plotters only estimates text sizes for layout). The output has no
//! blank lines, so the chapter can include it inline in Markdown, and it is a pure
//! function of the report, so the committed charts can be checked against the committed
//! JSON.

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::{Report, Row, Section, Unit, Who, short_label};

/// One chart: its file stem, its title and the report sections it draws.
pub struct ChartSpec {
    pub name: &'static str,
    pub title: &'static str,
    pub sections: &'static [Section],
}

pub const CHARTS: &[ChartSpec] = &[
    ChartSpec {
        name: "creation",
        title: "Creating a process or thread and waiting for it (log scale)",
        sections: &[Section::Creation],
    },
    ChartSpec {
        name: "fork-size",
        title: "Creation time vs memory the parent has touched",
        sections: &[Section::ForkSize],
    },
    ChartSpec {
        name: "creation-under-load",
        title: "Creation while N idle tasks of the same kind exist (log scales)",
        sections: &[Section::CreationLoad],
    },
    ChartSpec {
        name: "context-switch",
        title: "1-byte round trip between two tasks",
        sections: &[Section::ContextSwitch],
    },
    ChartSpec {
        name: "working-set",
        title: "Pinned round trip vs the working set each side writes (log scales)",
        sections: &[Section::WorkingSet],
    },
    ChartSpec {
        name: "communication-latency",
        title: "Round trip of a small message (log scale)",
        sections: &[Section::Latency],
    },
    ChartSpec {
        name: "communication-throughput",
        title: "Throughput with 64 KiB messages",
        sections: &[Section::Throughput],
    },
    ChartSpec {
        name: "memory",
        title: "Memory added per idle task",
        sections: &[Section::Memory],
    },
    ChartSpec {
        name: "memory-scaling",
        title: "Memory per idle task vs number of idle tasks (log scales)",
        sections: &[Section::MemoryScaling],
    },
];

const WIDTH: u32 = 860;
const LABEL_AREA: u32 = 340;
const PROCESS: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const THREAD: RGBColor = RGBColor(0xe6, 0x55, 0x0d);
const SPAWN: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
const TASK: RGBColor = RGBColor(0x94, 0x67, 0xbd);
const FONT: &str = "sans-serif";

fn colour(who: Who) -> RGBColor {
    match who {
        Who::Process => PROCESS,
        Who::Thread => THREAD,
        Who::Task => TASK,
    }
}

/// Renders chart `spec` of `report`; a report without rows for it (recorded before the
/// harness measured them) gets a small chart that says so.
pub fn render(report: &Report, spec: &ChartSpec) -> Option<String> {
    let rows: Vec<&Row> = report
        .rows
        .iter()
        .filter(|r| spec.sections.contains(&r.section))
        .collect();
    let svg = match spec.name {
        _ if rows.is_empty() => not_recorded(spec.title),
        "fork-size" => size_chart(spec.title, &rows),
        "creation-under-load" | "memory-scaling" => {
            line_chart(spec.title, &rows, |r| r.tasks, "idle tasks already there")
        }
        "working-set" => line_chart(
            spec.title,
            &rows,
            |r| r.working_set_kib,
            "KiB each side writes between switches (4 KiB pages)",
        ),
        "creation" | "communication-latency" => bar_chart(spec.title, &rows, true),
        _ => bar_chart(spec.title, &rows, false),
    };
    Some(finish(
        svg.expect("drawing into a String cannot fail"),
        spec.title,
    ))
}

type Drawn = Result<String, Box<dyn std::error::Error>>;

/// A chart that only says its figures are not in this report.
fn not_recorded(title: &str) -> Drawn {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 80)).into_drawing_area();
        root.fill(&WHITE)?;
        root.draw(&Text::new(
            format!("{title}: not recorded in this run"),
            (20, 40),
            (FONT, 15)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        root.present()?;
    }
    Ok(svg)
}

/// Lines over a parameter (`x_of`), one per kind of row, on log scales: the x values
/// are spread evenly (each is typically 4 or 10 times the one before) and labelled
/// with their values; whiskers span the fastest to the slowest trial.
fn line_chart(
    title: &str,
    rows: &[&Row],
    x_of: fn(&Row) -> Option<u64>,
    x_desc: &str,
) -> Drawn {
    let unit = rows[0].unit;
    let mut xs: Vec<u64> = rows.iter().filter_map(|r| x_of(r)).collect();
    xs.sort_unstable();
    xs.dedup();
    let position =
        |r: &Row| xs.iter().position(|x| Some(*x) == x_of(r)).unwrap_or(0) as f64;
    let lo = rows.iter().map(|r| r.min).fold(f64::INFINITY, f64::min);
    let hi = rows.iter().map(|r| r.max).fold(0.0, f64::max);
    let from = 10f64.powf(lo.max(1e-3).log10().floor());
    let to = 10f64.powf((hi * 2.0).log10().ceil());
    let mut kinds: Vec<(&str, Who)> = Vec::new();
    for row in rows {
        if !kinds.contains(&(row.what.as_str(), row.who)) {
            kinds.push((&row.what, row.who));
        }
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 440)).into_drawing_area();
        root.fill(&WHITE)?;
        let last = xs.len().saturating_sub(1) as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 20))
            .margin(14)
            .margin_right(30)
            .x_label_area_size(44)
            .y_label_area_size(80)
            .build_cartesian_2d(-0.3f64..last + 0.3, (from..to).log_scale())?;
        let xs_for_labels = xs.clone();
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_labels(xs.len().max(2))
            .x_label_formatter(&|v| {
                let i = v.round();
                if (v - i).abs() > 0.01 || i < 0.0 {
                    return String::new();
                }
                xs_for_labels.get(i as usize).map_or(String::new(), |x| {
                    if x_desc.starts_with("KiB") {
                        crate::kib_text(*x)
                    } else {
                        x.to_string()
                    }
                })
            })
            .y_label_formatter(&|v| tick(unit, *v))
            .x_desc(x_desc)
            .y_desc(match unit {
                Unit::Kib => "KiB per task",
                _ => "time per operation",
            })
            .axis_desc_style((FONT, 14))
            .label_style((FONT, 13))
            .draw()?;
        let mut threads_seen = 0;
        for (what, who) in &kinds {
            let c = match who {
                Who::Thread => {
                    threads_seen += 1;
                    if threads_seen == 1 { THREAD } else { SPAWN }
                }
                other => colour(*other),
            };
            let points: Vec<&&Row> = rows
                .iter()
                .filter(|r| r.what == *what && r.who == *who)
                .collect();
            let line: Vec<(f64, f64)> =
                points.iter().map(|r| (position(r), r.median)).collect();
            chart
                .draw_series(LineSeries::new(line.clone(), c.stroke_width(2)))?
                .label(format!("{what} ({})", who.as_str()))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
            chart.draw_series(line.iter().map(|p| Circle::new(*p, 4, c.filled())))?;
            chart.draw_series(points.iter().map(|r| {
                let x = position(r);
                PathElement::new(vec![(x, r.min), (x, r.max)], BLACK.stroke_width(1))
            }))?;
        }
        series_key(&mut chart)?;
        root.present()?;
    }
    Ok(svg)
}

/// Makes the SVG scale down on narrow screens and names it for screen readers.
fn finish(svg: String, title: &str) -> String {
    let svg = svg.replacen(
        "<svg ",
        &format!(
            "<svg role=\"img\" aria-label=\"{}\" style=\"max-width:100%;height:auto\" ",
            title.replace('&', "&amp;").replace('"', "&quot;")
        ),
        1,
    );
    // Inline HTML in Markdown ends at the first blank line: never emit one.
    let mut out: String = svg
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    out.push('\n');
    out
}

/// Axis tick labels: "10 µs", "1 ms" for times; plain numbers without a needless ".0"
/// else.
fn tick(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Micros if v >= 1000.0 => format!("{} ms", trim(v / 1000.0)),
        Unit::Micros if v < 1.0 && v > 0.0 => format!("{} ns", trim(v * 1000.0)),
        Unit::Micros => format!("{} µs", trim(v)),
        _ => trim(v),
    }
}

fn trim(v: f64) -> String {
    let text = format!("{v:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// Horizontal bars (median) with whiskers (fastest to slowest trial), one per row, top
/// to bottom in table order.
fn bar_chart(
    title: &str,
    rows: &[&Row],
    log: bool,
) -> Result<String, Box<dyn std::error::Error>> {
    let unit = rows[0].unit;
    let lo = rows.iter().map(|r| r.min).fold(f64::INFINITY, f64::min);
    let hi = rows.iter().map(|r| r.max).fold(0.0, f64::max);
    let height = 110 + 34 * rows.len() as u32;
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let x_desc = match unit {
            Unit::Micros => "µs (lower is faster)",
            Unit::GibPerSec => "GiB/s (higher is faster)",
            Unit::Kib => "KiB per task (lower is leaner)",
        };
        if log {
            let from = 10f64.powf(lo.max(1e-3).log10().floor());
            let to = 10f64.powf((hi * 4.0).log10().ceil());
            bars_on(&root, title, x_desc, (from..to).log_scale(), from, rows)?;
        } else {
            bars_on(&root, title, x_desc, 0f64..hi * 1.3, 0.0, rows)?;
        }
        root.present()?;
    }
    Ok(svg)
}

fn bars_on<X>(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    title: &str,
    x_desc: &str,
    x: X,
    base: f64,
    rows: &[&Row],
) -> DrawResult
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
{
    let n = rows.len();
    let unit = rows[0].unit;
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 20))
        .margin(14)
        .margin_right(40)
        .x_label_area_size(44)
        .y_label_area_size(LABEL_AREA)
        .build_cartesian_2d(x, -0.5f64..(n as f64 - 0.5))?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .light_line_style(WHITE)
        .x_desc(x_desc)
        .x_label_formatter(&|v| tick(unit, *v))
        .axis_desc_style((FONT, 14))
        .label_style((FONT, 13))
        .draw()?;
    // Row 0 at the top.
    let y_of = |i: usize| (n - 1 - i) as f64;
    for (i, row) in rows.iter().enumerate() {
        let y = y_of(i);
        let c = colour(row.who);
        chart.draw_series(std::iter::once(Rectangle::new(
            [(base, y - 0.3), (row.median, y + 0.3)],
            c.mix(0.85).filled(),
        )))?;
        chart.draw_series(
            [
                vec![(row.min, y), (row.max, y)],
                vec![(row.min, y - 0.15), (row.min, y + 0.15)],
                vec![(row.max, y - 0.15), (row.max, y + 0.15)],
            ]
            .into_iter()
            .map(|points| PathElement::new(points, BLACK.stroke_width(1))),
        )?;
        let (px, py) = chart.backend_coord(&(row.max, y));
        root.draw(&Text::new(
            unit.format(row.median),
            (px + 6, py),
            (FONT, 13)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        let (lx, ly) = chart.backend_coord(&(base, y));
        root.draw(&Text::new(
            short_label(row),
            (lx - 8, ly),
            (FONT, 13)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
    }
    legend(
        root,
        &[
            ("process", PROCESS),
            ("thread", THREAD),
            ("async task", TASK),
        ],
    )?;
    Ok(())
}

/// The key of a chart's labelled series, top left, on a white box.
fn series_key<'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, CT>,
) -> DrawResult {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// A small colour key in the bottom left corner, below the row labels.
fn legend(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    items: &[(&str, RGBColor)],
) -> DrawResult {
    let (_, height) = root.dim_in_pixel();
    let y = height as i32 - 30;
    let mut x = 20;
    for (name, c) in items {
        root.draw(&Rectangle::new([(x, y - 7), (x + 14, y + 7)], c.filled()))?;
        root.draw(&Text::new(
            name.to_string(),
            (x + 20, y),
            (FONT, 13)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        x += 110;
    }
    Ok(())
}

/// Lines over the touched size: one per kind of creation, with whiskers at each point.
fn size_chart(
    title: &str,
    rows: &[&Row],
) -> Result<String, Box<dyn std::error::Error>> {
    let max_mib = rows.iter().filter_map(|r| r.touched_mib).max().unwrap_or(0) as f64;
    let hi = rows.iter().map(|r| r.max).fold(0.0, f64::max);
    let mut kinds: Vec<&str> = Vec::new();
    for row in rows {
        if !kinds.contains(&row.what.as_str()) {
            kinds.push(&row.what);
        }
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 420)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 20))
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(70)
            // Room on the right for the value labels.
            .build_cartesian_2d(-(max_mib * 0.02)..max_mib * 1.16, 0f64..hi * 1.1)?;
        let ms = hi >= 5000.0;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc("MiB the parent wrote to before creating (4 KiB pages)")
            .y_desc(if ms {
                "ms per creation"
            } else {
                "µs per creation"
            })
            .axis_desc_style((FONT, 14))
            .label_style((FONT, 13))
            .x_label_formatter(&|v| {
                if *v <= max_mib {
                    trim(*v)
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| if ms { trim(v / 1000.0) } else { trim(*v) })
            .draw()?;
        for (k, kind) in kinds.iter().enumerate() {
            let points: Vec<&&Row> = rows.iter().filter(|r| r.what == *kind).collect();
            let who = points[0].who;
            let c = match (who, k) {
                (Who::Thread, _) => THREAD,
                (Who::Process, 0) => PROCESS,
                _ => SPAWN,
            };
            let line: Vec<(f64, f64)> = points
                .iter()
                .map(|r| (r.touched_mib.unwrap_or(0) as f64, r.median))
                .collect();
            chart
                .draw_series(LineSeries::new(line.clone(), c.stroke_width(2)))?
                .label(format!("{kind} ({})", who.as_str()))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
            chart.draw_series(line.iter().map(|p| Circle::new(*p, 4, c.filled())))?;
            chart.draw_series(points.iter().map(|r| {
                let x = r.touched_mib.unwrap_or(0) as f64;
                PathElement::new(vec![(x, r.min), (x, r.max)], BLACK.stroke_width(1))
            }))?;
            if let Some(last) = points.last() {
                let (px, py) = chart.backend_coord(&(
                    last.touched_mib.unwrap_or(0) as f64,
                    last.median,
                ));
                // Right of the last point; the two low lines' labels apart: threads'
                // below.
                let (dy, v) = match (who, k) {
                    (Who::Thread, _) => (3, VPos::Top),
                    (_, 0) => (0, VPos::Center),
                    _ => (-3, VPos::Bottom),
                };
                root.draw(&Text::new(
                    last.unit.format(last.median),
                    (px + 8, py + dy),
                    (FONT, 13)
                        .into_font()
                        .color(&BLACK)
                        .pos(Pos::new(HPos::Left, v)),
                ))?;
            }
        }
        series_key(&mut chart)?;
        root.present()?;
    }
    Ok(svg)
}
