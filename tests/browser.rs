//! What only a browser sees: the built book in Debian's headless Chromium, driven over WebDriver
//! (`xtask::chromium`), served on loopback; what a page's HTML states is `tests/book.rs`'s. A
//! standard harness (`libtest-mimic`: `cargo test --test browser -- pdf` runs one check), each
//! test thread with a Chromium session of its own.
//!
//! - `page::NAME`, one load per page, as a phone and then a desktop window shows it: no console
//!   error (a failed request is one), no request off loopback, no serious axe-core violation;
//!   every figure's text large enough, inside its figure, over no other text and under no shape;
//!   nothing wider than the window outside a box marked `scrolls`; on a desktop no Rust listing
//!   that scrolls and At a glance on one screen; in each theme, figure text that contrasts (and
//!   axe's colour rules on one chapter). Two pages also from `file://`.
//! - `pdf`: `cargo xtask pdf`'s printing, read back with poppler-utils. `epub`: `cargo xtask
//!   epub`'s EPUB passes epubcheck (no browser; it runs beside the others).
//!
//! Without `chromium` and `chromedriver` (poppler-utils for `pdf`, epubcheck for `epub`) a check
//! says `*** SKIPPED` and passes, except under CI. `BROWSER_TESTS_BOOK=DIR` tests a built book.

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use fantoccini::Client;
use libtest_mimic::{Arguments, Failed, Trial};
use regex::Regex;
use serde_json::{Value, json};
use xtask::chromium::{Driver, SessionCommand, cdp};
use xtask::diagrams::unescape;

/// Figure text, in CSS px at either width: about 8 pt, the least a label reads at unzoomed.
const MIN_TEXT_PX: f64 = 11.0;
/// PDF text, in points: small print that still reads on paper.
const MIN_PDF_PT: f64 = 7.0;
/// Figure text against what is behind it: WCAG AA for body text.
const MIN_CONTRAST: f64 = 4.5;
/// A narrow phone's window (what fits at 360 px fits every wider phone), then a desktop's.
const WINDOWS: [(u32, u32); 2] = [(360, 780), (1280, 900)];
/// mdBook's themes, light and dark: the figures' colours are set for each.
const THEMES: [&str; 5] = ["light", "rust", "coal", "navy", "ayu"];
/// The page axe checks in every theme: all pages share the themes' styles.
const EVERY_THEME: &str = "memory.html";
/// Pages also opened from `file://`, as a reader opens the unpacked book offline.
const FROM_FILE: [&str; 2] = ["index.html", "memory.html"];
/// The page that must fit one desktop screen (1280×900), and its table's greatest height.
const ONE_SCREEN: (&str, f64) = ("at-a-glance.html", 900.0);
/// How long one WebDriver command may take before the check gives up on the browser.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// The axe-core engine, vendored with its license (tests/vendor/axe-core/).
const AXE: &str = include_str!("vendor/axe-core/axe.min.js");
const AXE_VERSION: &str = "4.14.1";

fn main() -> ExitCode {
    let mut args = Arguments::from_args();
    // Two at once, as on two cores: the PDF, beside the EPUB and then the pages.
    args.test_threads.get_or_insert(2);
    let browser: Arc<OnceLock<Option<Browser>>> = Arc::default();
    let trial = |name: &str, check: fn(&Browser, &str) -> Vec<String>, rel: &str| {
        let (browser, rel) = (Arc::clone(&browser), rel.to_owned());
        Trial::test(name, move || match browser.get_or_init(Browser::start) {
            Some(b) => verdict(check(b, &rel)),
            None => Ok(()), // Said why, once (`Browser::start`).
        })
    };
    let mut pages: Vec<String> = book_checks::pages()
        .iter()
        .map(|p| p.rel.with_extension("html").display().to_string())
        .chain(["index.html".into(), "404.html".into()])
        .collect();
    pages.sort();
    // The longest first.
    let mut trials =
        vec![trial("pdf", check_pdf, "print.html"), Trial::test("epub", || verdict(check_epub()))];
    trials.extend(pages.iter().map(|rel| trial(&format!("page::{rel}"), check_page, rel)));
    let conclusion = libtest_mimic::run(&args, trials);
    if let Some(Some(b)) = Arc::into_inner(browser).and_then(OnceLock::into_inner) {
        b.close();
    }
    conclusion.exit_code()
}

fn verdict(problems: Vec<String>) -> Result<(), Failed> {
    match problems.len() {
        0 => Ok(()),
        n => Err(format!("{n} problems:\n{}", problems.join("\n")).into()),
    }
}

// ---------------------------------------------------------------------------------------------
// The checks

fn check_page(b: &Browser, rel: &str) -> Vec<String> {
    // Loaded as a phone loads it (mdBook hides its sidebar), then seen on a desktop too.
    b.window(WINDOWS[0]);
    let mut problems = b.open(&b.url(rel, false));
    problems.extend(b.axe(&[]));
    let (mut seen, mut figures) = (Vec::new(), 0);
    for (width, height) in WINDOWS {
        b.window((width, height));
        let desktop = width >= 1000;
        let tallest = (desktop && rel == ONE_SCREEN.0).then_some(ONE_SCREEN.1);
        let rules = json!({ "minPx": MIN_TEXT_PX, "desktop": desktop, "tallest": tallest });
        let m = b.js(&[FIGURES_JS, LAYOUT_JS].concat(), rules);
        let at = format!("at {width}×{height}");
        problems.extend(strings(&m["problems"]).iter().map(|p| format!("{at}: {p}")));
        figures = m["figures"].as_u64().unwrap_or(0);
        seen.push(format!("figure text ≥ {} px at {width}", m["smallest"]));
    }
    // Each theme as a reader picks it.
    let themes = if figures > 0 || rel == EVERY_THEME { &THEMES[..] } else { &[] };
    let rules = json!({ "minRatio": MIN_CONTRAST, "themes": themes });
    let contrast = b.js(&[FIGURES_JS, PICK_JS, CONTRAST_JS].concat(), rules);
    for theme in themes {
        let c = &contrast[theme];
        problems.extend(strings(&c["problems"]).iter().map(|p| format!("({theme}): {p}")));
        seen.push(format!("contrast ≥ {} in {theme}", c["lowest"]));
        if rel == EVERY_THEME && *theme != "light" {
            b.js(&[PICK_JS, "return pick(arguments[0])"].concat(), json!(theme));
            let found = b.axe(&["color-contrast", "link-in-text-block"]);
            problems.extend(found.iter().map(|p| format!("({theme}): {p}")));
        }
    }
    b.js("localStorage.removeItem('mdbook-theme')", json!(0));
    if FROM_FILE.contains(&rel) {
        problems
            .extend(b.open(&b.url(rel, true)).into_iter().map(|p| format!("from file://: {p}")));
    }
    if figures > 0 {
        println!("{rel}: {}", seen.join(", "));
    }
    problems.into_iter().map(|p| format!("{rel} {p}")).collect()
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

/// Runs in the page, given the least text size: every text of every figure is large enough,
/// inside its figure, overlaps no other text and lies under no shape painted after it; every
/// element that overflows the window sits in a scroll container marked `scrolls` (theme/reader.js,
/// whose sign the CSS shows); on a desktop no Rust listing scrolls; the first table is at most
/// `tallest` px tall, if given.
const LAYOUT_JS: &str = r#"
const [{ minPx, desktop, tallest }] = arguments;
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
for (const c of desktop ? document.querySelectorAll('code.language-rust') : [])
  if (c.scrollWidth > c.clientWidth + 1) problems.push(`a Rust listing scrolls sideways: ${c.textContent.split('\n').reduce((a, b) => (b.length > a.length ? b : a))}`);
const table = document.querySelector('#mdbook-content table')?.getBoundingClientRect().height || 0;
if (tallest && !(table > 0 && table <= tallest)) problems.push(`its table is ${Math.round(table)} px tall, more than ${tallest}`);
return { problems, figures: figures.length, smallest: smallest === Infinity ? null : Math.round(smallest * 10) / 10 };
"#;

/// Runs in the page: `pick(theme)` switches to `theme` as a reader's click does, applied at once
/// (no transitions), and resolves once the stylesheets it enables (its code colours) are loaded.
const PICK_JS: &str = r#"
const pick = (theme) => {
  document.head.insertAdjacentHTML('beforeend', '<style>* { transition: none !important; }</style>');
  const button = document.getElementById(`mdbook-theme-${theme}`);
  button.className = 'theme';
  button.click();
  const loading = [...document.querySelectorAll('link[rel=stylesheet]')].filter((l) => !l.disabled && !l.sheet);
  return Promise.all(loading.map((l) => new Promise((done) => { l.onload = done; l.onerror = done; })));
};
"#;

/// Runs in the page, for each of the `themes`: the contrast of every text of every figure with
/// what is painted behind it (the last filled shape before it that covers its middle, or the
/// page).
const CONTRAST_JS: &str = r#"
const [{ minRatio, themes }] = arguments;
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
const measure = () => {
  const problems = [];
  let lowest = Infinity;
  for (const { svg, lines, shapes } of figures) {
    const layers = [];
    for (let n = svg; n; n = n.parentElement) { const c = colour(n, 'backgroundColor'); if (c && c.a > 0.02) { layers.push(c); if (c.a >= 1) break; } }
    const page = layers.reverse().reduce((below, c) => over(c, below), { r: 255, g: 255, b: 255, a: 1 });
    for (const l of lines) {
      const x = (l.box.left + l.box.right) / 2, y = (l.box.top + l.box.bottom) / 2;
      const bg = shapes.filter((s) => s.at < l.at && s.box.left <= x && x <= s.box.right && s.box.top <= y && y <= s.box.bottom)
        .map((s) => colour(s.el, 'fill')).filter(Boolean).reduce((below, c) => over(c, below), page);
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
};
return (async () => {
  const result = {};
  for (const theme of themes) {
    await pick(theme);
    result[theme] = measure();
  }
  return result;
})();
"#;

// ---------------------------------------------------------------------------------------------
// The PDF and the EPUB

/// `cargo xtask pdf`'s printing, on this browser, read back by pdftohtml: every chapter has a
/// bookmark and its title as text; each figure's text and caption on one page (no figure split
/// or parted from its caption); no line past the right margin or under [`MIN_PDF_PT`]; no page
/// ending with a heading or a bold label alone (an answer's label, its answer overleaf); every
/// answer open, at its chapter's end (paper has no disclosure to click).
fn check_pdf(b: &Browser, rel: &str) -> Vec<String> {
    if !test_support::have("pdftohtml", "poppler-utils") {
        return Vec::new();
    }
    b.console();
    let pdf = b.wait("printing", xtask::pdf::print(&b.client(), &b.url(rel, true)));
    let mut problems: Vec<String> = b.console().iter().map(|e| format!("{rel}: {e}")).collect();
    let path = tmp().join(xtask::pdf::FILE_NAME);
    std::fs::write(&path, &pdf).expect("writing the PDF");
    // What the print page holds, as the browser laid it out for print.
    let page = b.js(
        "const text = (n) => n.textContent.replace(/\\s+/g, ' ').trim();
         const all = (root, sel) => [...root.querySelectorAll(`${root === document ? '#mdbook-content ' : ''}${sel}`)];
         return {
           titles: all(document, 'h1').map(text),
           figures: all(document, 'svg[role=img]').map((svg) => all(svg, 'tspan, text').filter((t) => !t.querySelector('tspan'))
             .concat(all(svg.closest('figure') || svg, 'figcaption')).map(text).filter((t) => t)),
           closed: all(document, 'details.answer').length,
           open: all(document, 'div.answer').length,
         };",
        json!(0),
    );
    if page["closed"] != json!(0) || page["open"] == json!(0) {
        let (closed, open) = (&page["closed"], &page["open"]);
        problems.push(format!("{rel} has {closed} closed answers and {open} open ones"));
    }
    let pdf = path.to_str().expect("UTF-8");
    let xml = test_support::run("pdftohtml", &["-xml", "-i", "-q", "-zoom", "1", "-stdout", pdf]);
    let xml = &xml.assert_success().stdout;
    let pages = pdf_pages(xml);
    // Each page's text, dense: a label wrapped or hyphenated is still found.
    let page_text: Vec<String> =
        pages.iter().map(|p| p.iter().map(|l| dense(&l.text)).collect()).collect();
    let all = page_text.concat();
    let item = Regex::new(r"<item[^>]*>([^<]*)</item>").unwrap();
    let outline: BTreeSet<String> =
        item.captures_iter(xml).map(|c| dense(&unescape(&c[1]))).collect();
    for title in strings(&page["titles"]) {
        if !outline.contains(&dense(&title)) || !all.contains(&dense(&title)) {
            problems.push(format!("the PDF lacks the bookmark or the text {title:?}"));
        }
    }
    // A figure is split, or parted from its caption, when the page with most of its text lacks
    // some.
    for labels in page["figures"].as_array().into_iter().flatten().map(strings) {
        let wanted: Vec<String> = labels.iter().map(|l| dense(l)).collect();
        let on = |text: &&String| wanted.iter().filter(|w| text.contains(w.as_str())).count();
        let best = page_text.iter().max_by_key(on).expect("pages");
        let missing: Vec<_> = labels
            .iter()
            .zip(&wanted)
            .filter(|(_, w)| !best.contains(w.as_str()))
            .map(|(l, _)| l)
            .collect();
        if !missing.is_empty() {
            problems.push(format!(
                "a figure is split across pages, or from its caption: {missing:?} apart"
            ));
        }
    }
    let lines: Vec<&PdfLine> = pages.iter().flatten().collect();
    // With 0.6 in margins on A4 (595 pt wide), text ends 43 pt from the page's right edge.
    let beyond: Vec<_> = lines.iter().filter(|l| l.right > 595.0 - 0.6 * 72.0 + 2.0).collect();
    let small: Vec<_> = lines.iter().filter(|l| l.size < MIN_PDF_PT).collect();
    for (wrong, what) in [(beyond, "run past the right margin"), (small, "are under 7 pt")] {
        if let Some(l) = wrong.first() {
            let (n, page, text) = (wrong.len(), l.page, &l.text);
            problems.push(format!("{n} lines {what}, the first on page {page}: {text:?}"));
        }
    }
    // The body text's size is the one of most characters; a heading is bold and larger.
    let mut sizes: BTreeMap<i64, usize> = BTreeMap::new();
    for l in &lines {
        *sizes.entry((l.size * 10.0).round() as i64).or_default() += l.text.len();
    }
    let body = sizes.iter().max_by_key(|(_, n)| **n).map_or(12.0, |(s, _)| *s as f64 / 10.0);
    let footer = Regex::new(r"^\d+ / \d+$").unwrap();
    for page in &pages {
        let text = page.iter().filter(|l| !footer.is_match(l.text.trim()));
        let Some(last) = text.max_by(|a, b| a.bottom.total_cmp(&b.bottom)) else {
            continue;
        };
        let alone = page.iter().filter(|o| (o.bottom - last.bottom).abs() < 1.0).count() == 1;
        let end = match (last.bold && last.size > body * 1.15, last.label && alone) {
            (true, _) => "heading",
            (_, true) => "label",
            _ => continue,
        };
        problems.push(format!("page {} ends with the {end} {:?}", last.page, last.text));
    }
    let smallest = lines.iter().map(|l| l.size).fold(f64::INFINITY, f64::min);
    println!(
        "PDF: {} pages, {} bookmarks, smallest text {smallest} pt",
        pages.len(),
        outline.len()
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

/// Each page's lines of text.
fn pdf_pages(xml: &str) -> Vec<Vec<PdfLine>> {
    let fontspec = Regex::new(r#"<fontspec id="(\d+)" size="([\d.]+)" family="([^"]*)""#).unwrap();
    let font = |c: regex::Captures<'_>| {
        (c[1].to_owned(), (c[2].parse().unwrap_or(0.0), c[3].to_lowercase().contains("bold")))
    };
    let fonts: BTreeMap<String, (f64, bool)> = fontspec.captures_iter(xml).map(font).collect();
    let text = Regex::new(r#"<text top="([\d.-]+)" left="([\d.-]+)" width="([\d.]+)" height="([\d.]+)" font="(\d+)">(.*?)</text>"#).unwrap();
    let tags = Regex::new(r"<[^>]+>").unwrap();
    let line = |page: usize, c: regex::Captures<'_>| {
        let num = |i: usize| c[i].parse::<f64>().unwrap_or(0.0);
        let (size, bold) = fonts.get(&c[5]).copied().unwrap_or((0.0, false));
        let inner = &c[6];
        PdfLine {
            page,
            right: num(2) + num(3),
            bottom: num(1) + num(4),
            size,
            bold: bold || inner.contains("<b>"),
            label: bold || (inner.starts_with("<b>") && inner.ends_with("</b>")),
            text: unescape(&tags.replace_all(inner, "")),
        }
    };
    let pages = xml.split("<page number=").skip(1).enumerate();
    pages.map(|(n, page)| text.captures_iter(page).map(|c| line(n + 1, c)).collect()).collect()
}

/// `s` without whitespace and hyphens (a hyphen where a line wraps is dropped), ligatures
/// spelled out.
fn dense(s: &str) -> String {
    let spelled = [
        ("\u{fb00}", "ff"),
        ("\u{fb01}", "fi"),
        ("\u{fb02}", "fl"),
        ("\u{fb03}", "ffi"),
        ("\u{fb04}", "ffl"),
    ];
    let s =
        spelled.iter().fold(s.to_owned(), |s, (ligature, letters)| s.replace(ligature, letters));
    s.chars().filter(|c| !c.is_whitespace() && !"-\u{ad}\u{2010}\u{2011}".contains(*c)).collect()
}

/// `cargo xtask epub`'s EPUB of the built book: `epubcheck` finds no error, and every figure of
/// the chapters is an SVG image in it on an opaque white background (a reader's night mode would
/// otherwise show its dark labels on black).
fn check_epub() -> Vec<String> {
    let Ok(epubcheck) = which::which("epubcheck") else {
        test_support::skipped("epubcheck (on Debian: apt-get install epubcheck) is not installed");
        return Vec::new();
    };
    let (dir, epub) = (book_dir(), tmp().join(xtask::epub::FILE_NAME));
    xtask::epub::write(&book_checks::root(), &dir, &epub).expect("writing the EPUB");
    // Debian's epubcheck is a jar; a JVM set for a short run starts in half the time, and
    // without its performance counters it leaves no /tmp/hsperfdata_USER behind.
    let jvm = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-jar"];
    let (jar, book) = (epubcheck.to_str().expect("UTF-8"), epub.to_str().expect("UTF-8"));
    test_support::run("java", &[&jvm[..], &[jar, book]].concat()).assert_success();
    let print = std::fs::read_to_string(dir.join("print.html")).expect("the print page");
    let figures = print.matches(r#"role="img""#).count();
    let mut zip =
        zip::ZipArchive::new(std::fs::File::open(&epub).expect("the EPUB")).expect("a zip");
    let names: Vec<String> =
        zip.file_names().filter(|n| n.ends_with(".svg")).map(str::to_owned).collect();
    let mut problems = Vec::new();
    if names.len() != figures {
        problems.push(format!("the EPUB has {} SVG images for {figures} figures", names.len()));
    }
    for name in names {
        let svg =
            std::io::read_to_string(zip.by_name(&name).expect("a listed file")).expect("UTF-8");
        if !svg.contains(r##"fill="#ffffff"/>"##) {
            problems.push(format!("{name} in the EPUB has no white background"));
        }
    }
    println!("EPUB: {figures} figures, epubcheck: no error");
    problems
}

// ---------------------------------------------------------------------------------------------
// Chromium and the book

fn tmp() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
}

/// The built book: the one this binary builds, or `BROWSER_TESTS_BOOK`.
fn book_dir() -> PathBuf {
    match std::env::var_os("BROWSER_TESTS_BOOK") {
        Some(dir) => PathBuf::from(dir),
        None => book_checks::built(&tmp().join("browser-book")).dir.clone(),
    }
}

fn strings(v: &Value) -> Vec<String> {
    let all = v.as_array().into_iter().flatten();
    all.filter_map(Value::as_str).map(str::to_owned).collect()
}

/// chromedriver, the book served on loopback, and every Chromium session started (one per test
/// thread), which [`Browser::close`] ends before chromedriver.
struct Browser {
    driver: Driver,
    base: String,
    dir: PathBuf,
    rt: tokio::runtime::Runtime,
    sessions: Mutex<Vec<Client>>,
}

impl Browser {
    /// Starts chromedriver and the server, or says why not and returns `None`.
    fn start() -> Option<Browser> {
        let Some(driver) = Driver::start(tmp()).expect("starting chromedriver") else {
            test_support::skipped(&format!("the browser tests {}", xtask::chromium::INSTALL_HINT));
            return None;
        };
        let dir = book_dir().canonicalize().expect("the book's folder");
        let rt = tokio::runtime::Runtime::new().expect("starting the async runtime");
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("a port");
        let base = format!("http://{}/", listener.local_addr().expect("its address"));
        let app = axum::Router::new().fallback_service(tower_http::services::ServeDir::new(&dir));
        rt.spawn(async move { axum::serve(listener, app).await });
        Some(Browser { driver, base, dir, rt, sessions: Mutex::default() })
    }

    /// This thread's session, started at its first check.
    fn client(&self) -> Client {
        thread_local!(static CLIENT: OnceCell<Client> = const { OnceCell::new() });
        let start = || {
            let client = self.wait("starting Chromium", self.driver.session());
            // axe-core in every page this session opens.
            let axe = cdp("Page.addScriptToEvaluateOnNewDocument", json!({ "source": AXE }));
            self.wait("adding axe-core", client.issue_cmd(axe));
            self.sessions.lock().expect("the sessions").push(client.clone());
            client
        };
        CLIENT.with(|c| c.get_or_init(start).clone())
    }

    /// Awaits one WebDriver command; an error or no answer within [`COMMAND_TIMEOUT`] panics.
    fn wait<T, E: Display>(&self, what: &str, f: impl Future<Output = Result<T, E>>) -> T {
        match self.rt.block_on(async { tokio::time::timeout(COMMAND_TIMEOUT, f).await }) {
            Ok(Ok(value)) => value,
            Ok(Err(e)) => panic!("{what}: {e:#}"),
            Err(_) => panic!("{what}: no answer from the browser within {COMMAND_TIMEOUT:?}"),
        }
    }

    /// `rel` in the book, over loopback or from `file://`.
    fn url(&self, rel: &str, file: bool) -> String {
        match file {
            true => url::Url::from_file_path(self.dir.join(rel)).expect("absolute").to_string(),
            false => format!("{}{rel}", self.base),
        }
    }

    /// Runs `script` as the body of a function of `arg`; returns what it returns (what the
    /// promise it returns resolves to).
    fn js(&self, script: &str, arg: Value) -> Value {
        self.wait("running a script in the page", self.client().execute(script, vec![arg]))
    }

    /// What the console logged as an error since the last call (a failed request is one).
    fn console(&self) -> Vec<String> {
        let log = SessionCommand("se/log", json!({ "type": "browser" }));
        let entries = self.wait("reading the console", self.client().issue_cmd(log));
        let errors = entries.as_array().into_iter().flatten().filter(|e| e["level"] == "SEVERE");
        errors.map(|e| format!("console error: {}", e["message"])).collect()
    }

    /// Opens `url` and waits for its fonts; returns its console errors and the requests that
    /// leave the machine (from its resource timing).
    fn open(&self, url: &str) -> Vec<String> {
        self.console();
        self.wait(&format!("opening {url}"), self.client().goto(url));
        let away = self.js(
            "return document.fonts.ready.then(() => [location.href, ...performance.getEntriesByType('resource').map((e) => e.name)]
               .filter((u) => !['file:', 'data:', 'blob:', 'about:'].includes(new URL(u).protocol)
                 && !['127.0.0.1', 'localhost', '[::1]'].includes(new URL(u).hostname)))",
            json!(0),
        );
        let away = strings(&away).into_iter().map(|u| format!("a request leaves the machine: {u}"));
        self.console().into_iter().chain(away).collect()
    }

    fn window(&self, (width, height): (u32, u32)) {
        // A phone-sized window is a phone: overlay scrollbars, the page's viewport meta.
        let metrics = json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600 });
        let set = cdp("Emulation.setDeviceMetricsOverride", metrics);
        self.wait("setting the window's size", self.client().issue_cmd(set));
        // theme/reader.js marks what scrolls when the window changes.
        self.js("window.dispatchEvent(new Event('resize'))", json!(0));
    }

    /// axe-core (which the session adds to every page) on the open page: every violation of
    /// impact "serious" or "critical" of the rules `only` (all rules if none).
    fn axe(&self, only: &[&str]) -> Vec<String> {
        let version = self.js("return window.axe?.version", json!(0));
        if version != json!(AXE_VERSION) {
            return vec![format!("axe-core {AXE_VERSION} did not load (got {version})")];
        }
        let mut options = json!({ "resultTypes": ["violations"] });
        if !only.is_empty() {
            options["runOnly"] = json!({ "type": "rule", "values": only });
        }
        let found = self.js(
            "return axe.run(document, arguments[0]).then((r) => r.violations
               .filter((v) => ['serious', 'critical'].includes(v.impact)).map((v) =>
                 `axe: ${v.impact} ${v.id}: ${v.help} (e.g. ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}: ${v.nodes[0]?.any[0]?.message || v.nodes[0]?.failureSummary || ''})`))",
            options,
        );
        strings(&found)
    }

    /// Ends every session, then (dropped) the server, chromedriver and Chromium's folder.
    fn close(self) {
        for client in self.sessions.lock().expect("the sessions").drain(..) {
            let close =
                async { tokio::time::timeout(Duration::from_secs(10), client.close()).await };
            let _ = self.rt.block_on(close);
        }
    }
}
