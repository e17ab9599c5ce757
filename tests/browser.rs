//! What only a browser sees: the built book in Debian's headless Chromium, driven over WebDriver
//! (chromedriver) by `fantoccini`, served on a loopback port from this test (and once from
//! `file://`). Facts a page's HTML already states (its links, its table's rows, its commands)
//! are `tests/book.rs`'s.
//!
//! A standard harness (`libtest-mimic`), so `cargo test --test browser -- pdf` runs the PDF
//! check alone and `-- page::memory` one page. One chromedriver serves every check; each check
//! borrows a Chromium session from a pool of at most two (two checks run at once), and all of
//! them end when the checks have run.
//!
//! - `page::NAME` (one per page): loads with no console error, failed request or request off
//!   loopback; axe-core finds no serious or critical violation; at 1280×900 no Rust listing
//!   scrolls sideways; at 1280×900 and at 360×780 every text of every diagram and chart is 11
//!   CSS px or more, overlaps no other text, is not hidden under a shape or cut by its figure's
//!   edge, and nothing overflows the window outside a scroll container that says it scrolls.
//! - `themes`: every text of every diagram and chart at 4.5:1 contrast or more in each mdBook
//!   theme, and axe's colour rules in each theme.
//! - `at_a_glance`: the comparison table is at most 900 px tall at 1280×900.
//! - `offline`: the front page and a diagram page from `file://`, with no error.
//! - `pdf`: `cargo xtask pdf`'s printing, checked with poppler-utils.
//! - `epub`: `cargo xtask epub`'s EPUB passes `epubcheck` and holds every figure as an image (no
//!   browser; here because it runs while the browser checks do, on the book they built).
//!
//! Without `chromium` and `chromedriver` (or poppler-utils for `pdf`, epubcheck for `epub`) the
//! check says `*** SKIPPED` and passes, except under CI. `BROWSER_TESTS_BOOK=DIR` tests a book already
//! built in `DIR`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use book_checks::{built, pages};
use fantoccini::Client;
use libtest_mimic::{Arguments, Failed, Trial};
use regex::Regex;
use serde_json::{Value, json};
use xtask::chromium::{self, Driver, SessionCommand};

/// How long one WebDriver command may take before the check gives up on the browser.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// The smallest text a figure may show, in CSS pixels, at either window width.
const MIN_TEXT_PX: f64 = 11.0;
/// The smallest text in the PDF, in points.
const MIN_PDF_PT: f64 = 7.0;
/// The least contrast between a figure's text and what is behind it: WCAG AA for body text.
const MIN_CONTRAST: f64 = 4.5;
/// The windows a reader's screen is checked in: a desktop's and a narrow phone's (what fits at
/// 360 pixels fits every wider phone).
const DESKTOP: (u32, u32) = (1280, 900);
const PHONE: (u32, u32) = (360, 780);
/// How tall the comparison table may be at 1280×900: one screen.
const TABLE_MAX_PX: f64 = 900.0;
/// mdBook's themes: light, rust (light), coal, navy, ayu (dark).
const THEMES: [&str; 5] = ["light", "rust", "coal", "navy", "ayu"];
/// The axe-core engine, vendored with its license (tests/vendor/axe-core/).
const AXE: &str = include_str!("vendor/axe-core/axe.min.js");
const AXE_VERSION: &str = "4.14.1";

fn main() -> ExitCode {
    let mut args = Arguments::from_args();
    // One check per session at a time, and the EPUB's, which needs none.
    args.test_threads.get_or_insert(SESSIONS + 1);
    let browser: Arc<OnceLock<Option<Browser>>> = Arc::new(OnceLock::new());
    let trial = |name: String, check: fn(&Browser, &str) -> Vec<String>, arg: String| {
        let browser = Arc::clone(&browser);
        let label = name.clone();
        Trial::test(name, move || {
            let Some(browser) = browser.get_or_init(Browser::start) else {
                return Ok(()); // Said why, once (`Browser::start`).
            };
            let start = std::time::Instant::now();
            let problems = check(browser, &arg);
            println!("({label}: {:.1} s)", start.elapsed().as_secs_f64());
            if problems.is_empty() {
                Ok(())
            } else {
                Err(Failed::from(format!(
                    "{} problems:\n{}",
                    problems.len(),
                    problems.join("\n")
                )))
            }
        })
    };
    // The longest first, so that the two sessions finish together.
    let mut trials = vec![trial("pdf".into(), check_pdf, String::new())];
    for rel in ["cost.html", "memory.html"] {
        trials.push(trial(format!("themes::{rel}"), check_themes, rel.into()));
    }
    trials.extend(
        site_pages()
            .into_iter()
            .map(|rel| trial(format!("page::{rel}"), check_page, rel)),
    );
    trials.push(trial(
        "at_a_glance".into(),
        check_table_height,
        "at-a-glance.html".into(),
    ));
    trials.push(trial("offline".into(), check_offline, String::new()));
    trials.insert(
        1,
        Trial::test("epub", || check_epub().map_err(Failed::from)),
    );
    let conclusion = libtest_mimic::run(&args, trials);
    // Ends every session, stops the server and chromedriver, removes Chromium's profile.
    drop(browser);
    conclusion.exit_code()
}

/// Every page a reader opens: each chapter, the front page, the print page, the 404 page.
fn site_pages() -> Vec<String> {
    let mut rels: Vec<String> = pages()
        .iter()
        .map(|p| {
            p.rel
                .with_extension("html")
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    // print.html repeats every chapter: the PDF check opens it.
    rels.extend(["index.html", "404.html"].map(String::from));
    rels.sort();
    rels
}

// ---------------------------------------------------------------------------------------------
// The checks

fn check_page(browser: &Browser, rel: &str) -> Vec<String> {
    let s = browser.session();
    // Loaded on a phone, as a reader's phone loads it (mdBook hides its sidebar), then seen
    // on a desktop too.
    s.window(PHONE);
    // What a first visit downloads.
    s.cdp("Network.setCacheDisabled", json!({ "cacheDisabled": true }));
    let visit = s.open(&browser.http(rel));
    s.cdp(
        "Network.setCacheDisabled",
        json!({ "cacheDisabled": false }),
    );
    let mut problems = visit.problems(rel);
    let diagrams = s.js(
        "return document.querySelectorAll('figure.diagram').length",
        vec![],
    );
    println!(
        "{rel}: {:.1} kB transferred, {diagrams} diagrams",
        visit.bytes() / 1000.0
    );
    problems.extend(axe(&s, rel, true, None));
    for window in [PHONE, DESKTOP] {
        s.window(window);
        let at = format!("{rel} at {}×{}", window.0, window.1);
        let report = s.js(
            &format!("{FIGURES_JS}{LAYOUT_JS}"),
            vec![json!(MIN_TEXT_PX)],
        );
        if let Some(smallest) = report["smallest"].as_f64() {
            println!("{at}: smallest figure text {smallest:.1} px");
        }
        for p in report["problems"].as_array().into_iter().flatten() {
            problems.push(format!("{at}: {}", p.as_str().unwrap_or("?")));
        }
    }
    // A Rust listing fits its code block on a desktop.
    let wide = s.js(
        "return [...document.querySelectorAll('code.language-rust')]
            .filter(c => c.scrollWidth > c.clientWidth + 1)
            .map(c => c.textContent.split('\\n').reduce((a, b) => b.length > a.length ? b : a, ''))",
        vec![],
    );
    for line in wide.as_array().into_iter().flatten() {
        problems.push(format!(
            "{rel} at 1280 px: a Rust listing scrolls sideways; its longest line: {line}"
        ));
    }
    problems
}

fn check_themes(browser: &Browser, rel: &str) -> Vec<String> {
    let s = browser.session();
    s.window(DESKTOP);
    let mut problems = s.open(&browser.http(rel)).problems(rel);
    for theme in THEMES {
        // The reader's choice, as mdBook stores it, applied at load (with its code colours).
        s.js(
            "localStorage.setItem('mdbook-theme', arguments[0]); return true;",
            vec![json!(theme)],
        );
        problems.extend(s.open(&browser.http(rel)).problems(rel));
        let report = s.js(
            &format!("{FIGURES_JS}{CONTRAST_JS}"),
            vec![json!(MIN_CONTRAST)],
        );
        println!(
            "{rel} ({theme}): lowest figure text contrast {}",
            report["lowest"]
        );
        for p in report["problems"].as_array().into_iter().flatten() {
            problems.push(format!("{rel} ({theme}): {}", p.as_str().unwrap_or("?")));
        }
        // The page's own colours: axe on one chapter (every page uses the same styles).
        if rel == "memory.html" {
            problems.extend(axe(
                &s,
                &format!("{rel} ({theme})"),
                true,
                Some(&["color-contrast", "link-in-text-block"]),
            ));
        }
    }
    s.js(
        "localStorage.removeItem('mdbook-theme'); return true;",
        vec![],
    );
    problems
}

fn check_table_height(browser: &Browser, rel: &str) -> Vec<String> {
    let s = browser.session();
    s.window(DESKTOP);
    let mut problems = s.open(&browser.http(rel)).problems(rel);
    let height = s.js(
        "const t = document.querySelector('#mdbook-content table');
         return t ? t.getBoundingClientRect().height : null;",
        vec![],
    );
    match height.as_f64() {
        None => problems.push(format!("{rel}: no table")),
        Some(h) if h > TABLE_MAX_PX => problems.push(format!(
            "{rel}: the comparison table is {h:.0} px tall at 1280×900, more than {TABLE_MAX_PX} px"
        )),
        Some(h) => println!("{rel}: the comparison table is {h:.0} px tall"),
    }
    problems
}

fn check_offline(browser: &Browser, _: &str) -> Vec<String> {
    let s = browser.session();
    s.window(DESKTOP);
    let mut problems = Vec::new();
    for rel in ["index.html", "memory.html"] {
        let visit = s.open(&browser.file_url(rel));
        problems.extend(visit.problems(&format!("file: {rel}")));
    }
    problems
}

/// axe-core on the open page: every violation of impact "serious" or "critical". `contrast`
/// off skips axe's slowest rule (print.html repeats every chapter); `only` runs those rules.
fn axe(s: &Session, rel: &str, contrast: bool, only: Option<&[&str]>) -> Vec<String> {
    let loaded = s.js(
        &format!("{AXE}\n;return typeof axe === 'object' ? axe.version : null;"),
        vec![],
    );
    if loaded.as_str() != Some(AXE_VERSION) {
        return vec![format!(
            "{rel}: axe-core {AXE_VERSION} did not load (got {loaded})"
        )];
    }
    let options = match only {
        Some(rules) => {
            json!({ "resultTypes": ["violations"], "runOnly": { "type": "rule", "values": rules } })
        }
        None => {
            json!({ "resultTypes": ["violations"], "rules": { "color-contrast": { "enabled": contrast } } })
        }
    };
    let report = s.js_async(
        "const r = await axe.run(document, arguments[0]);
         done(r.violations.filter((v) => ['serious', 'critical'].includes(v.impact)).map((v) =>
           `axe: ${v.impact} ${v.id}: ${v.help} (e.g. ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}: ${v.nodes[0]?.any[0]?.message || v.nodes[0]?.failureSummary || ''})`));",
        vec![options],
    );
    strings(&report)
        .into_iter()
        .map(|p| format!("{rel}: {p}"))
        .collect()
}

/// Runs in the page: what the figures (diagrams and charts: `svg[role=img]`) and the text in
/// them are, and how they are drawn. Shared by the two scripts below.
const FIGURES_JS: &str = r#"
const say = (t) => (t.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 50);
const name = (svg) => svg.querySelector('title')?.textContent || svg.getAttribute('aria-label') || 'a figure';
const filled = (el) => { const s = getComputedStyle(el); return s.fill !== 'none' && parseFloat(s.fillOpacity) > 0 && parseFloat(s.opacity) > 0; };
// Each figure with its lines of text (a tspan, or a text without tspans) and its filled shapes,
// in the order they are painted, with their boxes in page coordinates.
const box = (el) => { const r = el.getBoundingClientRect(); return { left: r.left + scrollX, right: r.right + scrollX, top: r.top + scrollY, bottom: r.bottom + scrollY, width: r.width }; };
const inter = (a, b, pad) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > pad && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > pad;
const figures = [...document.querySelectorAll('#mdbook-content svg[role="img"]')].map((svg) => {
  const all = [...svg.querySelectorAll('*')].filter((el) => !el.closest('defs, marker, title, desc'));
  const order = new Map(all.map((el, i) => [el, i]));
  const lines = all.filter((el) => el.tagName === 'tspan' || el.tagName === 'text' && !el.querySelector('tspan'))
    .filter((t) => say(t)).map((t) => ({ el: t, text: t.closest('text'), box: box(t), at: order.get(t) }));
  const shapes = all.filter((el) => ['rect', 'path', 'polygon', 'circle', 'ellipse'].includes(el.tagName) && filled(el))
    .map((el) => ({ el, box: box(el), at: order.get(el) }));
  // What of it can be seen: its box, cut by the window's width and every box that clips it.
  const seen = box(svg);
  seen.left = Math.max(seen.left, 0);
  seen.right = Math.min(seen.right, document.documentElement.clientWidth + scrollX);
  for (let n = svg.parentElement; n; n = n.parentElement) {
    if (getComputedStyle(n).overflowX === 'visible') continue;
    const c = box(n);
    seen.left = Math.max(seen.left, c.left); seen.right = Math.min(seen.right, c.right);
  }
  return { svg, box: seen, lines, shapes };
});
"#;

/// Runs in the page, with the least text size as argument: every text of every figure is large
/// enough, inside its figure, overlaps no other text and lies under no shape painted after it;
/// and every element that overflows the window sits in a scroll container marked `scrolls`
/// (theme/reader.js).
const LAYOUT_JS: &str = r#"
const [minPx] = arguments;
const problems = [];
let smallest = Infinity;
for (const { svg, box: outer, lines, shapes } of figures) {
  if (outer.width === 0) continue;
  const vb = svg.viewBox.baseVal;
  const whole = svg.getBoundingClientRect();
  const scale = vb && vb.width ? whole.width / vb.width : 1;
  if (outer.left > whole.left + scrollX + 1 || outer.right < whole.right + scrollX - 1)
    problems.push(`${name(svg)}: the figure is cut at its sides, ${Math.round(whole.width)} px wide with ${Math.round(outer.right - outer.left)} px seen`);
  for (const [i, l] of lines.entries()) {
    const px = parseFloat(getComputedStyle(l.el).fontSize) * scale;
    smallest = Math.min(smallest, px);
    const what = `${name(svg)}: "${say(l.el)}"`;
    if (px < minPx - 0.05) problems.push(`${what} is ${px.toFixed(1)} px, under ${minPx}`);
    if (!inter(l.box, outer, -1) || l.box.left < outer.left - 1 || l.box.right > outer.right + 1 || l.box.top < outer.top - 1 || l.box.bottom > outer.bottom + 1)
      problems.push(`${what} is cut by the figure's edge or what clips it`);
    const under = shapes.find((s) => s.at > l.at && inter(l.box, s.box, 1));
    if (under) problems.push(`${what} is hidden under a ${under.el.tagName}`);
    for (const m of lines.slice(i + 1)) {
      if (m.text !== l.text && inter(l.box, m.box, 2)) problems.push(`${what} overlaps "${say(m.el)}"`);
    }
  }
}
const vw = document.documentElement.clientWidth;
const seen = new Set();
for (const el of document.querySelectorAll('#mdbook-content *')) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.right <= vw + 0.5) continue;
  let scroller = el.parentElement;
  while (scroller && !['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(scroller).overflowX)) scroller = scroller.parentElement;
  if (scroller && scroller.classList.contains('scrolls') && ['auto', 'scroll'].includes(getComputedStyle(scroller).overflowX)) continue;
  const where = scroller ? `${scroller.tagName.toLowerCase()}.${[...scroller.classList].join('.')}` : 'the page';
  if (seen.has(where)) continue;
  seen.add(where);
  problems.push(`<${el.tagName.toLowerCase()}> "${say(el)}" reaches ${Math.round(r.right)} px, past the ${vw} px window, in ${where}, which does not say it scrolls`);
}
return { problems, smallest: smallest === Infinity ? null : smallest };
"#;

/// Runs in the page: the contrast of every text of every figure with what is painted behind
/// it (the last filled shape before it that covers its middle, or the page).
const CONTRAST_JS: &str = r#"
const [minRatio] = arguments;
const parse = (c) => {
  const m = /rgba?\(([^)]*)\)/.exec(c || '');
  if (!m) return null;
  const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(parseFloat);
  return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
};
const over = (top, below) => ({ r: top.r * top.a + below.r * (1 - top.a), g: top.g * top.a + below.g * (1 - top.a), b: top.b * top.a + below.b * (1 - top.a), a: 1 });
const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
const css = (c) => `rgb(${Math.round(c.r)}, ${Math.round(c.g)}, ${Math.round(c.b)})`;
const colour = (el, prop) => { const s = getComputedStyle(el); const c = parse(s[prop]); if (c) c.a *= parseFloat(s.opacity || '1') * parseFloat(prop === 'fill' ? s.fillOpacity || '1' : '1'); return c; };
const problems = [];
let lowest = Infinity;
for (const { svg, lines, shapes } of figures) {
  let page = { r: 255, g: 255, b: 255, a: 1 };
  const layers = [];
  for (let n = svg; n; n = n.parentElement) { const c = colour(n, 'backgroundColor'); if (c && c.a > 0.02) { layers.push(c); if (c.a >= 1) break; } }
  page = layers.reverse().reduce((below, c) => over(c, below), page);
  for (const l of lines) {
    const x = (l.box.left + l.box.right) / 2, y = (l.box.top + l.box.bottom) / 2;
    const bg = shapes.filter((s) => s.at < l.at && s.box.left <= x && x <= s.box.right && s.box.top <= y && y <= s.box.bottom)
      .reduce((below, s) => over(colour(s.el, 'fill'), below), page);
    const fg = colour(l.el, 'fill');
    if (!fg) continue;
    const solid = over(fg, bg);
    const [hi, lo] = [lum(solid), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    lowest = Math.min(lowest, ratio);
    if (ratio < minRatio) problems.push(`${name(svg)}: "${say(l.el)}" is ${css(solid)} on ${css(bg)}: contrast ${ratio.toFixed(2)} < ${minRatio}`);
  }
}
return { problems, lowest: lowest === Infinity ? null : Math.round(lowest * 100) / 100 };
"#;

// ---------------------------------------------------------------------------------------------
// The EPUB

/// `cargo xtask epub`'s EPUB of the built book: `epubcheck` (Debian's is a jar, run by java)
/// finds no error, and every figure of the chapters is an SVG image in it, on white.
fn check_epub() -> Result<(), String> {
    let Some(epubcheck) = chromium::on_path("epubcheck") else {
        test_support::skipped("no epubcheck (on Debian: apt-get install epubcheck)");
        return Ok(());
    };
    let dir = book_dir();
    let epub = Path::new(env!("CARGO_TARGET_TMPDIR")).join(xtask::epub::FILE_NAME);
    xtask::epub::write(&book_checks::root(), &dir, &epub).map_err(|e| format!("{e:#}"))?;
    let out = std::process::Command::new("java")
        .arg("-jar")
        .arg(&epubcheck)
        .arg(&epub)
        .output()
        .map_err(|e| format!("running epubcheck with java: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "epubcheck {}:\n{}{}",
            epub.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let figure = Regex::new(r#"<svg\b[^>]*\brole="img""#).expect("regex");
    let figures: usize = pages()
        .iter()
        .map(|p| {
            let html = std::fs::read_to_string(dir.join(p.rel.with_extension("html")))
                .expect("a built chapter");
            figure.find_iter(&html).count()
        })
        .sum();
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&epub).expect("the EPUB"))
        .map_err(|e| format!("{}: {e}", epub.display()))?;
    let names: Vec<String> = zip
        .file_names()
        .filter(|n| n.ends_with(".svg"))
        .map(str::to_owned)
        .collect();
    let images = names.len();
    // Each on an opaque white background: a reader's night mode keeps its dark labels legible.
    for name in &names {
        let mut svg = String::new();
        std::io::Read::read_to_string(&mut zip.by_name(name).expect("a listed file"), &mut svg)
            .map_err(|e| format!("{name}: {e}"))?;
        if !svg.contains(r##"fill="#ffffff"/>"##) {
            return Err(format!("{name} in the EPUB has no white background"));
        }
    }
    println!(
        "EPUB: {} ({images} SVG images), epubcheck: no error",
        epub.display()
    );
    if images != figures {
        return Err(format!(
            "the EPUB has {images} SVG images for the chapters' {figures} figures"
        ));
    }
    Ok(())
}

/// The built book: the one this binary builds, or `BROWSER_TESTS_BOOK`.
fn book_dir() -> PathBuf {
    match std::env::var_os("BROWSER_TESTS_BOOK") {
        Some(dir) => PathBuf::from(dir),
        None => built(Path::new(concat!(
            env!("CARGO_TARGET_TMPDIR"),
            "/browser-book"
        )))
        .dir
        .clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// The PDF

/// `cargo xtask pdf`'s printing, on this browser: the PDF has a bookmark for every chapter,
/// every chapter title and figure label as text; no word past the right margin or smaller than
/// [`MIN_PDF_PT`]; no figure split across pages, nor from its caption; no page ending with a heading or a label
/// alone (an answer's, its answer overleaf); each chapter's
/// answers at its end. Needs poppler-utils.
fn check_pdf(browser: &Browser, _: &str) -> Vec<String> {
    if let Some(missing) = ["pdfinfo", "pdftotext", "pdftohtml"]
        .iter()
        .find(|t| chromium::on_path(t).is_none())
    {
        test_support::skipped(&format!(
            "pdf: no {missing} (the PDF check needs poppler-utils; on Debian: apt-get install poppler-utils)"
        ));
        return Vec::new();
    }
    let s = browser.session();
    s.cdp("Emulation.clearDeviceMetricsOverride", json!({}));
    let url = browser.file_url("print.html");
    s.logs("browser");
    let pdf = match s.run("printing print.html", xtask::pdf::print(&s.client, &url)) {
        Ok(pdf) => pdf,
        Err(e) => return vec![e],
    };
    let mut problems: Vec<String> = s
        .logs("browser")
        .into_iter()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| format!("print.html: console error: {}", e["message"]))
        .collect();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-pdf");
    std::fs::create_dir_all(&dir).expect("creating the PDF's folder");
    let path = dir.join(xtask::pdf::FILE_NAME);
    std::fs::write(&path, &pdf).expect("writing the PDF");
    println!("PDF: {} ({} kB)", path.display(), pdf.len() / 1000);

    // What the print page holds, as the browser laid it out for print.
    let page = s.js(
        "const text = (n) => n.textContent.replace(/\\s+/g, ' ').trim();
         return {
           titles: [...document.querySelectorAll('#mdbook-content h1')].map(text),
           figures: [...document.querySelectorAll('#mdbook-content svg[role=\"img\"]')].map((svg) => [...svg.querySelectorAll('tspan, text')].filter((t) => !t.querySelector('tspan')).map(text).concat([...(svg.closest('figure')?.querySelectorAll('figcaption') || [])].map(text)).filter((t) => t)),
           details: document.querySelectorAll('#mdbook-content details.answer').length,
           answers: document.querySelectorAll('#mdbook-content div.answer').length,
         };",
        vec![],
    );
    let titles = strings(&page["titles"]);
    let figures: Vec<Vec<String>> = page["figures"]
        .as_array()
        .into_iter()
        .flatten()
        .map(strings)
        .collect();
    if page["details"] != json!(0) || page["answers"] == json!(0) {
        problems.push(format!(
            "print.html has {} closed answers and {} open ones: paper shows every answer",
            page["details"], page["answers"]
        ));
    }
    let p = path.to_str().expect("a UTF-8 path");
    let info = tool("pdfinfo", &[p]);
    let pages: usize = Regex::new(r"(?m)^Pages:\s+(\d+)")
        .expect("regex")
        .captures(&info)
        .and_then(|c| c[1].parse().ok())
        .unwrap_or(0);
    // pdftohtml's XML: the outline, and every line of text with its page, position and size.
    let xml = tool(
        "pdftohtml",
        &["-xml", "-i", "-q", "-zoom", "1", "-stdout", p],
    );
    let outline: BTreeSet<String> = Regex::new(r"<item[^>]*>([^<]*)</item>")
        .expect("regex")
        .captures_iter(&xml)
        .map(|c| dense(&unescape(&c[1])))
        .collect();
    for title in &titles {
        if !outline.contains(&dense(title)) {
            problems.push(format!("the PDF has no bookmark {title:?}"));
        }
    }
    let lines = pdf_lines(&xml);
    let footer = Regex::new(r"^\d+ / \d+$").expect("regex");
    // Text per page, without whitespace: a label wrapped or hyphenated is still found.
    let mut page_text: Vec<String> = vec![String::new(); pages + 1];
    for l in &lines {
        if let Some(t) = page_text.get_mut(l.page) {
            t.push_str(&dense(&l.text));
        }
    }
    let all: String = page_text.concat();
    for title in &titles {
        if !all.contains(&dense(title)) {
            problems.push(format!("the PDF's text lacks the chapter title {title:?}"));
        }
    }
    // A figure is split when its labels are not all on one page.
    for labels in &figures {
        let wanted: Vec<String> = labels
            .iter()
            .map(|l| dense(l))
            .filter(|l| !l.is_empty())
            .collect();
        if wanted.is_empty() {
            continue;
        }
        // The page with most of them must have them all.
        let best = page_text
            .iter()
            .max_by_key(|text| wanted.iter().filter(|w| text.contains(w.as_str())).count())
            .expect("pages");
        let missing: Vec<&String> = wanted
            .iter()
            .filter(|w| !best.contains(w.as_str()))
            .collect();
        if !missing.is_empty() {
            problems.push(format!(
                "a figure is split across pages, or its text is missing: {missing:?} of {:?}",
                &labels[..labels.len().min(4)]
            ));
        }
    }
    // Margins and sizes: with 0.6 in margins the text ends 43 pt from the page's right edge.
    let width: f64 = Regex::new(r#"<page number="1"[^>]*width="([\d.]+)""#)
        .expect("regex")
        .captures(&xml)
        .and_then(|c| c[1].parse().ok())
        .unwrap_or(595.0);
    let right = width - 0.6 * 72.0 + 2.0;
    let beyond: Vec<String> = lines
        .iter()
        .filter(|l| l.right > right)
        .map(|l| format!("page {}: {:?}", l.page, l.text))
        .collect();
    if !beyond.is_empty() {
        problems.push(format!(
            "{} lines run past the right margin ({right:.0} pt of {width:.0}), e.g. {:?}",
            beyond.len(),
            &beyond[..beyond.len().min(5)]
        ));
    }
    let small: Vec<String> = lines
        .iter()
        .filter(|l| l.size < MIN_PDF_PT)
        .map(|l| format!("page {}: {:?} ({:.1} pt)", l.page, l.text, l.size))
        .collect();
    if !small.is_empty() {
        problems.push(format!(
            "{} lines are smaller than {MIN_PDF_PT} pt, e.g. {:?}",
            small.len(),
            &small[..small.len().min(5)]
        ));
    }
    // A page does not end with a heading: its last line is no larger than the body text.
    let mut sizes: BTreeMap<i64, usize> = BTreeMap::new();
    for l in &lines {
        *sizes.entry((l.size * 10.0).round() as i64).or_default() += l.text.len();
    }
    let body = sizes
        .iter()
        .max_by_key(|(_, n)| **n)
        .map_or(12.0, |(s, _)| *s as f64 / 10.0);
    for page in 1..=pages {
        let on_page: Vec<&PdfLine> = lines
            .iter()
            .filter(|l| l.page == page && !footer.is_match(l.text.trim()))
            .collect();
        let last = on_page.iter().max_by(|a, b| a.bottom.total_cmp(&b.bottom));
        // A label alone on the page's last line ("Answer 2", whose answer is overleaf).
        let alone = |l: &&&PdfLine| {
            on_page
                .iter()
                .filter(|o| (o.bottom - l.bottom).abs() < 1.0)
                .count()
                == 1
        };
        if let Some(l) = last.filter(|l| l.size > body * 1.15 && l.bold) {
            problems.push(format!("page {page} ends with the heading {:?}", l.text));
        } else if let Some(l) = last.filter(|l| l.label && alone(l)) {
            problems.push(format!("page {page} ends with the label {:?}", l.text));
        }
    }
    println!(
        "PDF: {pages} pages, {} bookmarks, {} figures, body text {body} pt, smallest text {:.1} pt",
        outline.len(),
        figures.len(),
        lines.iter().map(|l| l.size).fold(f64::INFINITY, f64::min)
    );
    problems
}

/// A line of text in the PDF, as pdftohtml places it (points, from the page's top left).
struct PdfLine {
    page: usize,
    right: f64,
    bottom: f64,
    size: f64,
    bold: bool,
    /// Bold from end to end, as an answer's label ("Answer 2") or a heading.
    label: bool,
    text: String,
}

fn pdf_lines(xml: &str) -> Vec<PdfLine> {
    let fontspec =
        Regex::new(r#"<fontspec id="(\d+)" size="([\d.]+)" family="([^"]*)""#).expect("regex");
    let fonts: BTreeMap<String, (f64, bool)> = fontspec
        .captures_iter(xml)
        .map(|c| {
            let bold = c[3].to_lowercase().contains("bold");
            (c[1].to_owned(), (c[2].parse().unwrap_or(0.0), bold))
        })
        .collect();
    let page = Regex::new(r#"<page number="(\d+)""#).expect("regex");
    let text = Regex::new(r#"<text top="([\d.-]+)" left="([\d.-]+)" width="([\d.]+)" height="([\d.]+)" font="(\d+)">(.*?)</text>"#).expect("regex");
    let tags = Regex::new(r"<[^>]+>").expect("regex");
    let mut out = Vec::new();
    for (n, chunk) in page.split(xml).skip(1).enumerate() {
        for c in text.captures_iter(chunk) {
            let num = |i: usize| c[i].parse::<f64>().unwrap_or(0.0);
            let (size, bold) = fonts.get(&c[5]).copied().unwrap_or((0.0, false));
            out.push(PdfLine {
                page: n + 1,
                right: num(2) + num(3),
                bottom: num(1) + num(4),
                size,
                bold: bold || c[6].contains("<b>"),
                label: bold || (c[6].starts_with("<b>") && c[6].ends_with("</b>")),
                text: unescape(&tags.replace_all(&c[6], "")),
            });
        }
    }
    out
}

fn tool(name: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {name}: {e}"));
    assert!(
        out.status.success(),
        "{name} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `s` without whitespace and hyphens (a hyphen where a line wraps is dropped), ligatures
/// spelled out.
fn dense(s: &str) -> String {
    s.replace('\u{fb00}', "ff")
        .replace('\u{fb01}', "fi")
        .replace('\u{fb02}', "fl")
        .replace('\u{fb03}', "ffi")
        .replace('\u{fb04}', "ffl")
        .chars()
        .filter(|c| !c.is_whitespace() && !['-', '\u{ad}', '\u{2010}', '\u{2011}'].contains(c))
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Chromium, its sessions and the server

/// One chromedriver, the book served on loopback, and a pool of Chromium sessions. Dropping it
/// ends every session, stops the server, kills and reaps chromedriver, removes the profiles.
struct Browser {
    idle: Mutex<Vec<Client>>,
    open: Mutex<usize>,
    base: String,
    dir: PathBuf,
    chromium: PathBuf,
    driver: Driver,
    rt: tokio::runtime::Runtime,
}

/// At most this many Chromium sessions at once, one per core of the machine this was tuned on.
const SESSIONS: usize = 2;

impl Browser {
    /// Starts chromedriver and the server, or says why not and returns `None`.
    fn start() -> Option<Browser> {
        let Some((chromium, chromedriver)) = chromium::find() else {
            test_support::skipped(&format!(
                "no chromium: the browser tests {}",
                chromium::INSTALL_HINT
            ));
            return None;
        };
        let dir = book_dir();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("starting the async runtime");
        let base = serve(&rt, &dir);
        let driver = Driver::start(&chromedriver, Path::new(env!("CARGO_TARGET_TMPDIR")))
            .expect("starting chromedriver");
        Some(Browser {
            idle: Mutex::new(Vec::new()),
            open: Mutex::new(0),
            base,
            dir,
            chromium,
            driver,
            rt,
        })
    }

    /// A session of its own until dropped: an idle one, a new one, or the next to be freed.
    fn session(&self) -> Session<'_> {
        loop {
            if let Some(client) = self.idle.lock().expect("the pool").pop() {
                return Session {
                    browser: self,
                    client,
                };
            }
            let mut open = self.open.lock().expect("the pool");
            if *open < SESSIONS {
                *open += 1;
                drop(open);
                let client = self
                    .rt
                    .block_on(chromium::connect(&self.driver, &self.chromium, true))
                    .unwrap_or_else(|e| panic!("{e:#}"));
                return Session {
                    browser: self,
                    client,
                };
            }
            drop(open);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn http(&self, rel: &str) -> String {
        format!("{}{rel}", self.base)
    }

    fn file_url(&self, rel: &str) -> String {
        let dir = self.dir.canonicalize().expect("the book's folder");
        let mut url = url::Url::from_directory_path(dir)
            .expect("an absolute path")
            .to_string();
        url.push_str(rel);
        url
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        for client in self.idle.lock().expect("the pool").drain(..) {
            let _ = self.rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(10), client.close()).await
            });
        }
    }
}

/// One Chromium session, back in the pool when dropped.
struct Session<'a> {
    browser: &'a Browser,
    client: Client,
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        self.browser
            .idle
            .lock()
            .expect("the pool")
            .push(self.client.clone());
    }
}

impl Session<'_> {
    /// Runs one WebDriver command; an error or no answer within [`COMMAND_TIMEOUT`] is `Err`.
    fn run<T, E: std::fmt::Display>(
        &self,
        what: &str,
        command: impl Future<Output = Result<T, E>>,
    ) -> Result<T, String> {
        match self
            .browser
            .rt
            .block_on(async { tokio::time::timeout(COMMAND_TIMEOUT, command).await })
        {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(format!("{what}: {e:#}")),
            Err(_) => Err(format!(
                "{what}: no answer from the browser within {COMMAND_TIMEOUT:?}"
            )),
        }
    }

    fn must<T, E: std::fmt::Display>(
        &self,
        what: &str,
        command: impl Future<Output = Result<T, E>>,
    ) -> T {
        self.run(what, command).unwrap_or_else(|e| panic!("{e}"))
    }

    fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.must(
            "running a script in the page",
            self.client.execute(script, args),
        )
    }

    /// `script` as the body of an async function; `done(value)` returns its result.
    fn js_async(&self, script: &str, args: Vec<Value>) -> Value {
        let script = format!(
            "const done = arguments[arguments.length - 1]; \
             (async () => {{ {script} }})().catch((e) => done({{ scriptError: String(e) }}));"
        );
        let value = self.must(
            "running a script in the page",
            self.client.execute_async(&script, args),
        );
        if let Some(error) = value.get("scriptError") {
            panic!("a script in the page failed: {error}");
        }
        value
    }

    fn window(&self, (width, height): (u32, u32)) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            // A phone-sized window is a phone: overlay scrollbars, the page's viewport meta.
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600 }),
        );
        // theme/reader.js marks what scrolls when the window changes.
        self.js(
            "window.dispatchEvent(new Event('resize')); return true;",
            vec![],
        );
    }

    /// Opens `url` and waits for its fonts; returns what the browser logged meanwhile.
    fn open(&self, url: &str) -> Visit {
        self.logs("browser");
        self.logs("performance");
        self.must(&format!("opening {url}"), self.client.goto(url));
        self.js_async("await document.fonts.ready; done(true);", vec![]);
        let console = self
            .logs("browser")
            .into_iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or("").to_owned())
            .collect();
        let requests = requests_from(&self.logs("performance"));
        Visit { console, requests }
    }

    /// Chromium's log of `kind` (`browser`: the console; `performance`: DevTools events) since
    /// the last call.
    fn logs(&self, kind: &str) -> Vec<Value> {
        let command = SessionCommand::new("se/log", json!({ "type": kind }));
        match self.must(
            &format!("reading the {kind} log"),
            self.client.issue_cmd(command),
        ) {
            Value::Array(entries) => entries,
            other => panic!("chromedriver answered {other} for the {kind} log"),
        }
    }

    fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.must(
            &format!("DevTools command {cmd}"),
            self.client.issue_cmd(SessionCommand::cdp(cmd, params)),
        )
    }
}

/// Serves `dir` on a free loopback port from a task of `rt`; returns its root URL.
fn serve(rt: &tokio::runtime::Runtime, dir: &Path) -> String {
    let listener =
        std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding a loopback port");
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    let addr = listener.local_addr().expect("the server's address");
    let app = axum::Router::new().fallback_service(tower_http::services::ServeDir::new(dir));
    rt.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
        axum::serve(listener, app).await.expect("serving the book");
    });
    format!("http://{addr}/")
}

// ---------------------------------------------------------------------------------------------
// One page load, as the browser recorded it

/// What happened while one page loaded: console errors and every network request.
struct Visit {
    console: Vec<String>,
    requests: Vec<Request>,
}

#[derive(Default, Debug)]
struct Request {
    url: String,
    status: Option<u64>,
    failed: Option<String>,
    bytes: f64,
}

impl Visit {
    /// Console errors, failed requests, requests that leave loopback.
    fn problems(&self, rel: &str) -> Vec<String> {
        let mut problems: Vec<String> = self
            .console
            .iter()
            .map(|e| format!("{rel}: console error: {e}"))
            .collect();
        for r in &self.requests {
            if let Some(why) = &r.failed {
                problems.push(format!("{rel}: request failed: {} ({why})", r.url));
            }
            if let Some(status) = r.status.filter(|s| *s >= 400) {
                problems.push(format!("{rel}: request failed: {} (HTTP {status})", r.url));
            }
            if !stays_local(&r.url) {
                problems.push(format!("{rel}: request leaves the machine: {}", r.url));
            }
        }
        problems
    }

    fn bytes(&self) -> f64 {
        self.requests.iter().map(|r| r.bytes).sum()
    }
}

/// A request the site may make offline: to the loopback server, or no network at all.
fn stays_local(url: &str) -> bool {
    let Ok(url) = url::Url::parse(url) else {
        return false;
    };
    match url.scheme() {
        "file" | "data" | "blob" | "about" => true,
        "http" | "https" | "ws" | "wss" => {
            matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
        }
        _ => false,
    }
}

/// The requests of one page load, from Chromium's performance log (DevTools `Network.*` events
/// as chromedriver records them with `goog:loggingPrefs`).
fn requests_from(perf_log: &[Value]) -> Vec<Request> {
    let mut by_id: BTreeMap<String, Request> = BTreeMap::new();
    for entry in perf_log {
        let Some(message) = entry["message"]
            .as_str()
            .and_then(|m| serde_json::from_str::<Value>(m).ok())
        else {
            continue;
        };
        let (method, params) = (&message["message"]["method"], &message["message"]["params"]);
        let Some(id) = params["requestId"].as_str() else {
            continue;
        };
        let request = by_id.entry(id.to_owned()).or_default();
        match method.as_str().unwrap_or("") {
            "Network.requestWillBeSent" => {
                request.url = params["request"]["url"].as_str().unwrap_or("").to_owned()
            }
            "Network.webSocketCreated" => {
                request.url = params["url"].as_str().unwrap_or("").to_owned()
            }
            "Network.responseReceived" => request.status = params["response"]["status"].as_u64(),
            "Network.loadingFinished" => {
                request.bytes = params["encodedDataLength"].as_f64().unwrap_or(0.0)
            }
            "Network.loadingFailed" => {
                let text = params["errorText"].as_str().unwrap_or("failed");
                let blocked = params["blockedReason"]
                    .as_str()
                    .map(|b| format!(", blocked: {b}"))
                    .unwrap_or_default();
                request.failed = Some(format!("{text}{blocked}"));
            }
            _ => {}
        }
    }
    by_id.into_values().filter(|r| !r.url.is_empty()).collect()
}
