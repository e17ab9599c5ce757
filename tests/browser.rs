//! The built book as a reader meets it: every page opened in Debian's headless Chromium, driven
//! over WebDriver (chromedriver) by `fantoccini`, served from this test on a loopback port, and
//! once more straight from disk (`file://`).
//!
//! Each test starts its own chromedriver and Chromium (one at a time: this binary's tests take a
//! lock) and stops them when it ends, also when it fails. Where Chromium or chromedriver is not
//! installed, each test says `skipped: no chromium` on the terminal and passes, except under CI
//! (`CI` set), where a missing browser is a failure.
//!
//! `BROWSER_TESTS_BOOK=DIR` tests an already built book in `DIR` instead of building one (used to
//! show that a broken diagram or a remote script makes these tests fail).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine as _;
use book_checks::{ASPECTS, built, pages, root, workspace};
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use regex::Regex;
use scraper::{Html, Selector};
use serde_json::{Value, json};

/// How long one WebDriver command may take before the test gives up on the browser.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a page may take to settle: fonts loaded and every diagram rendered.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(15);
/// The least contrast between a diagram's text and what is behind it: WCAG's 3:1 for graphics and
/// large text. Mermaid's own dark theme draws note and edge-label text at about 4.4:1, just under
/// the 4.5:1 of WCAG AA for body text; text that vanishes (light on light, dark on navy) is
/// far below 3:1.
const MIN_CONTRAST: f64 = 3.0;

/// Chromium's flags. The sandbox needs user namespaces that containers and CI runners as root
/// often lack; the rest keep Chromium from talking to anything but the pages it is sent to.
const CHROMIUM_FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
];

/// Search terms and the chapters a reader expects among the results.
const SEARCHES: [(&str, &[&str]); 3] = [
    ("fork", &["creating-and-ending.html", "memory.html"]),
    ("zombie", &["creating-and-ending.html"]),
    (
        "mutex",
        &["synchronization.html", "synchronization/sync.html"],
    ),
];

// ---------------------------------------------------------------------------------------------
// The tests

#[test]
fn every_page_loads_with_no_error_and_nothing_from_outside_loopback() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let mut problems = Vec::new();
    let mut weights = Vec::new();
    // toc.html is the sidebar for readers without JavaScript, shown in an <iframe> of each
    // page; opened on its own it is no page (it has no icon, so Chromium asks for /favicon.ico).
    for rel in html_pages(&browser.dir)
        .into_iter()
        .filter(|p| p != "toc.html")
    {
        let visit = browser.open(&browser.http(&rel));
        problems.extend(visit.problems(&rel));
        let has_diagrams = browser.js(
            "return document.querySelectorAll('pre.mermaid').length",
            vec![],
        );
        let has_diagrams = has_diagrams.as_u64().unwrap_or(0) > 0;
        let bundle = visit.fetched("/assets/mermaid.min.js");
        match (has_diagrams, bundle) {
            (false, true) => problems.push(format!(
                "{rel}: has no diagram but downloads mermaid.min.js"
            )),
            (true, false) => problems.push(format!(
                "{rel}: has diagrams but never loads mermaid.min.js"
            )),
            _ => {}
        }
        // A Rust listing must fit its code block at this window width (1280 pixels): a reader
        // should not scroll sideways to read a line.
        let wide = browser.js(
            "return [...document.querySelectorAll('code.language-rust')]
                .filter(c => c.scrollWidth > c.clientWidth + 1
                    || c.parentElement.scrollWidth > c.parentElement.clientWidth + 1)
                .map(c => c.textContent.split('\\n')
                    .reduce((a, b) => b.length > a.length ? b : a, ''))",
            vec![],
        );
        for line in wide.as_array().into_iter().flatten() {
            problems.push(format!(
                "{rel}: a Rust listing scrolls sideways at 1280 pixels; its longest line: {}",
                line.as_str().unwrap_or_default()
            ));
        }
        weights.push((visit.bytes(), rel, has_diagrams));
    }
    weights.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!("Bytes transferred per page (cache disabled, uncompressed):");
    for (bytes, rel, diagrams) in &weights {
        let note = if *diagrams {
            "  (diagrams: loads mermaid)"
        } else {
            ""
        };
        println!("  {:>9.1} kB  {rel}{note}", bytes / 1000.0);
    }
    let (bytes, rel, _) = weights.first().expect("the book has pages");
    println!("Heaviest page: {rel}, {:.1} kB", bytes / 1000.0);
    if let Some((bytes, rel, _)) = weights.iter().find(|w| !w.2) {
        println!(
            "Heaviest page without diagrams: {rel}, {:.1} kB",
            bytes / 1000.0
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn diagrams_render_as_svg_and_follow_the_dark_theme_readably() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let diagram_pages = diagram_pages(&browser.dir);
    assert!(
        !diagram_pages.is_empty(),
        "no page of the built book has a `pre.mermaid` diagram"
    );
    let mut problems = Vec::new();
    // The screenshots show a chapter's diagram (not the table page's, not print.html's copy).
    let shown = diagram_pages
        .iter()
        .find(|p| !["print.html", "at-a-glance.html"].contains(&p.as_str()))
        .unwrap_or(&diagram_pages[0]);
    for rel in &diagram_pages {
        let visit = browser.open(&browser.http(rel));
        problems.extend(visit.problems(rel));
        if let Err(e) = browser.set_theme("light") {
            problems.push(format!("{rel}: {e}"));
            continue;
        }
        problems.extend(check_diagrams(&browser, rel, Palette::Light));
        if rel == shown {
            browser.screenshot_at("pre.mermaid", "diagram-light.png");
        }

        if let Err(e) = browser.set_theme("navy") {
            problems.push(format!("{rel}: {e}"));
            continue;
        }
        problems.extend(check_diagrams(&browser, rel, Palette::Dark));
        if rel == shown {
            browser.screenshot_at("pre.mermaid", "diagram-dark.png");
        }
        // The next page starts in the default (light) theme again.
        browser.js("localStorage.removeItem('mdbook-theme')", vec![]);
        problems.extend(
            browser
                .console_errors()
                .into_iter()
                .map(|e| format!("{rel}: after switching themes: {e}")),
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn search_finds_the_chapters_that_explain_a_term() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let problems = check_search(&browser, &browser.http("index.html"), &browser.http(""));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_comparison_table_has_ten_rows_and_every_link_leads_to_a_page() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let visit = browser.open(&browser.http("at-a-glance.html"));
    let mut problems = visit.problems("at-a-glance.html");
    let table = browser.js(
        r#"
        const table = [...document.querySelectorAll('#mdbook-content table')]
            .find((t) => t.querySelector('th')?.textContent.trim() === 'Aspect');
        if (!table) return null;
        return {
            aspects: [...table.querySelectorAll('tbody tr')].map((tr) => tr.cells[0].textContent.trim()),
            links: [...table.querySelectorAll('a[href]')].map((a) => a.href),
        };
        "#,
        vec![],
    );
    assert!(
        !table.is_null(),
        "at-a-glance.html has no table headed `Aspect`"
    );
    let aspects: Vec<&str> = table["aspects"]
        .as_array()
        .expect("aspects")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if aspects != ASPECTS {
        problems.push(format!(
            "the table's rows are {aspects:?}, expected the ten aspects {ASPECTS:?}"
        ));
    }
    let links: BTreeSet<&str> = table["links"]
        .as_array()
        .expect("links")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if links.is_empty() {
        problems.push("the table links nowhere".to_owned());
    }
    // Fetch every linked page from the server and look for the fragment in it.
    let broken = browser.js_async(
        r#"
        const [links] = arguments;
        const pages = new Map();
        const broken = [];
        for (const link of links) {
            const url = new URL(link);
            const fragment = decodeURIComponent(url.hash.slice(1));
            url.hash = '';
            if (!pages.has(url.href)) {
                pages.set(url.href, await fetch(url.href).then(async (r) =>
                    r.ok ? new DOMParser().parseFromString(await r.text(), 'text/html') : `HTTP ${r.status}`,
                ).catch((e) => String(e)));
            }
            const page = pages.get(url.href);
            if (typeof page === 'string') broken.push(`${link}: ${page}`);
            else if (fragment && !page.getElementById(fragment)) broken.push(`${link}: no element with id "${fragment}"`);
        }
        done(broken);
        "#,
        vec![json!(links)],
    );
    for b in broken.as_array().expect("list") {
        problems.push(format!(
            "at-a-glance.html links to {}",
            b.as_str().unwrap_or("?")
        ));
    }
    browser.screenshot_of("#mdbook-content table", "comparison-table.png");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn run_it_commands_name_crates_of_the_workspace() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let crates = workspace_crates();
    let command =
        Regex::new(r"cargo (?:run|test|bench)(?: --release| -q| --quiet)* -p ([A-Za-z0-9_-]+)")
            .expect("regex");
    let mut problems = Vec::new();
    for page in pages() {
        let rel = page
            .rel
            .with_extension("html")
            .to_string_lossy()
            .replace('\\', "/");
        browser.goto(&browser.http(&rel));
        // What a reader sees under the `Run it` heading, up to the next heading of its level.
        let run_it = browser.js(
            r#"
            const h = [...document.querySelectorAll('#mdbook-content h2')].find((h) => h.textContent.trim() === 'Run it');
            if (!h) return null;
            let text = '';
            for (let n = h.nextElementSibling; n && !/^H[12]$/.test(n.tagName); n = n.nextElementSibling) {
                for (const code of n.matches('pre') ? [n] : n.querySelectorAll('pre')) text += code.innerText + '\n';
            }
            return text;
            "#,
            vec![],
        );
        let Some(text) = run_it.as_str() else {
            problems.push(format!("{rel}: no `Run it` section"));
            continue;
        };
        if !text.contains("cargo ") {
            problems.push(format!("{rel}: `Run it` shows no cargo command"));
        }
        for c in command.captures_iter(text) {
            if !crates.contains(&c[1]) {
                problems.push(format!(
                    "{rel}: `Run it` says `{}`, but no crate {:?} is in the workspace",
                    &c[0], &c[1]
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_site_works_offline_from_file_urls() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let mut problems = Vec::new();
    let index = browser.file_url("index.html");
    let visit = browser.open(&index);
    problems.extend(visit.problems("file: index.html"));
    problems.extend(check_search(&browser, &index, &browser.file_url("")));
    for rel in diagram_pages(&browser.dir)
        .iter()
        .filter(|p| *p != "print.html")
        .take(1)
    {
        let visit = browser.open(&browser.file_url(rel));
        problems.extend(visit.problems(&format!("file: {rel}")));
        problems.extend(check_diagrams(
            &browser,
            &format!("file: {rel}"),
            Palette::Light,
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// What the tests check on a page

#[derive(Clone, Copy, PartialEq, Debug)]
enum Palette {
    Light,
    Dark,
}

/// Every `pre.mermaid` of the open page is an SVG diagram (not mermaid's error picture) drawn in
/// `palette`, and all its text contrasts with what is behind it.
fn check_diagrams(browser: &Browser, rel: &str, palette: Palette) -> Vec<String> {
    let report = browser.js(DIAGRAM_REPORT_JS, vec![]);
    let mut problems = Vec::new();
    let expected_theme = match palette {
        Palette::Light => "default",
        Palette::Dark => "dark",
    };
    let theme = report["mermaidTheme"].as_str().unwrap_or("(not set)");
    if theme != expected_theme {
        problems.push(format!(
            "{rel}: diagrams rendered with mermaid theme {theme:?}, expected {expected_theme:?}"
        ));
    }
    let diagrams = report["diagrams"].as_array().expect("diagrams");
    let ratios = diagrams
        .iter()
        .flat_map(|d| d["labels"].as_array().into_iter().flatten());
    let lowest = ratios
        .filter_map(|l| l["ratio"].as_f64())
        .fold(f64::INFINITY, f64::min);
    println!(
        "{rel} ({palette:?}): {} diagrams, lowest text contrast {lowest:.2}",
        diagrams.len()
    );
    for (i, d) in diagrams.iter().enumerate() {
        let n = i + 1;
        if !d["svg"].as_bool().unwrap_or(false) {
            problems.push(format!(
                "{rel}: diagram {n} did not become an SVG: {:?}",
                d["text"].as_str().unwrap_or("")
            ));
            continue;
        }
        if d["error"].as_bool().unwrap_or(false) {
            problems.push(format!(
                "{rel}: diagram {n} is mermaid's error picture: {:?}",
                d["text"].as_str().unwrap_or("")
            ));
            continue;
        }
        let labels = d["labels"].as_array().expect("labels");
        if labels.is_empty() {
            problems.push(format!("{rel}: diagram {n} has no visible text"));
        }
        for label in labels {
            let text = label["text"].as_str().unwrap_or("");
            let ratio = label["ratio"].as_f64().unwrap_or(0.0);
            let (fg, bg) = (
                label["fg"].as_str().unwrap_or("?"),
                label["bg"].as_str().unwrap_or("?"),
            );
            if ratio < MIN_CONTRAST {
                problems.push(format!(
                    "{rel} ({palette:?}): diagram {n}: {text:?} is hard to read: {fg} on {bg}, contrast {ratio:.2} < {MIN_CONTRAST}"
                ));
            }
            let lighter = label["lighterThanBackground"].as_bool().unwrap_or(false);
            if lighter != (palette == Palette::Dark) {
                problems.push(format!(
                    "{rel}: diagram {n}: {text:?} is {fg} on {bg}, not the {palette:?} palette (the page is in a {palette:?} theme)"
                ));
            }
        }
    }
    problems
}

/// Runs in the page. For each `pre.mermaid`: whether it holds an SVG, whether that is mermaid's
/// error picture, and for each visible piece of text its colour, the colour behind it (the
/// shape's fill or label background it sits on, or the page) and their WCAG contrast ratio.
const DIAGRAM_REPORT_JS: &str = r#"
const parse = (c) => {
    const m = /rgba?\(([^)]*)\)/.exec(c || '');
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(parseFloat);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
};
const over = (top, below) => ({
    r: top.r * top.a + below.r * (1 - top.a),
    g: top.g * top.a + below.g * (1 - top.a),
    b: top.b * top.a + below.b * (1 - top.a),
    a: 1,
});
const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
};
const css = (c) => `rgb(${Math.round(c.r)}, ${Math.round(c.g)}, ${Math.round(c.b)})`;
const white = { r: 255, g: 255, b: 255, a: 1 };
const opaque = (c) => c && c.a > 0.02 ? c : null;
const pageBackground = (el) => {
    const layers = [];
    for (let n = el; n; n = n.parentElement) {
        const c = opaque(parse(getComputedStyle(n).backgroundColor));
        if (c) { layers.push(c); if (c.a >= 1) break; }
    }
    return layers.reverse().reduce((bg, c) => over(c, bg), white);
};
const fillOf = (shape) => {
    const s = getComputedStyle(shape);
    const c = parse(s.fill);
    if (!c) return null;
    c.a *= parseFloat(s.fillOpacity || '1') * parseFloat(s.opacity || '1');
    return opaque(c);
};
const SHAPES = 'rect, polygon, circle, ellipse, path';
// The fill of the shape drawn under `el` in group `g`: a shape child before the branch holding `el`.
const shapeUnder = (g, el) => {
    for (const child of g.children) {
        if (child.contains(el)) break;
        if (child.matches(SHAPES)) { const c = fillOf(child); if (c) return c; }
        if (child.tagName === 'g' && /label-container|basic|outer-path/.test(child.getAttribute('class') || '')) {
            for (const s of child.querySelectorAll(SHAPES)) { const c = fillOf(s); if (c) return c; }
        }
    }
    return null;
};
const backgroundOf = (el, svg, page) => {
    const layers = [];
    for (let n = el; n; n = n.parentElement) {
        const c = n.tagName === 'g'
            ? shapeUnder(n, el)
            : opaque(parse(getComputedStyle(n).backgroundColor));
        if (c) { layers.push(c); if (c.a >= 1) break; }
        if (n === svg) break;
    }
    return layers.reverse().reduce((bg, c) => over(c, bg), page);
};
const SKIP = new Set(['style', 'title', 'desc', 'script', 'defs', 'marker']);
const visible = (n) => {
    const r = n.getBoundingClientRect();
    const s = getComputedStyle(n);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none' && parseFloat(s.opacity) > 0;
};
const diagrams = [...document.querySelectorAll('pre.mermaid')].map((pre) => {
    const svg = pre.querySelector('svg');
    if (!svg) return { svg: false, text: pre.textContent.slice(0, 120) };
    const error = svg.getAttribute('aria-roledescription') === 'error'
        || /Syntax error in text/.test(svg.textContent);
    const page = pageBackground(pre);
    const labels = [];
    for (const n of svg.querySelectorAll('*')) {
        if (SKIP.has(n.tagName.toLowerCase()) || n.closest('defs, style, marker')) continue;
        const own = [...n.childNodes].filter((c) => c.nodeType === 3).map((c) => c.textContent).join('').trim();
        if (!own || !visible(n)) continue;
        const s = getComputedStyle(n);
        const svgText = n instanceof SVGElement;
        const fg = parse(svgText ? s.fill : s.color);
        if (!fg) continue;
        if (svgText) fg.a *= parseFloat(s.fillOpacity || '1');
        const bg = backgroundOf(n, svg, page);
        const fgSolid = over(fg, bg);
        const [hi, lo] = [lum(fgSolid), lum(bg)].sort((a, b) => b - a);
        labels.push({
            text: own.slice(0, 60),
            fg: css(fgSolid),
            bg: css(bg),
            ratio: (hi + 0.05) / (lo + 0.05),
            lighterThanBackground: lum(fgSolid) > lum(bg),
        });
    }
    return { svg: true, error, text: svg.textContent.slice(0, 120), labels };
});
return { mermaidTheme: document.documentElement.dataset.mermaidTheme || null, diagrams };
"#;

/// Types each search term into the search box of `page` and checks that the results link to the
/// chapters that explain it. `base` is the book's root URL, to name result pages relative to it.
fn check_search(browser: &Browser, page: &str, base: &str) -> Vec<String> {
    let mut problems = Vec::new();
    browser.open(page);
    browser.click("#mdbook-search-toggle");
    if let Err(e) = browser.wait_js(
        "the search box to open",
        "const s = document.getElementById('mdbook-searchbar'); return !!s && s.offsetParent !== null",
    ) {
        return vec![format!("{page}: {e}")];
    }
    for (term, expected) in SEARCHES {
        let searchbar = browser.find("#mdbook-searchbar");
        browser.run("clear the search box", searchbar.clear());
        browser.run("type into the search box", searchbar.send_keys(term));
        // mdBook writes e.g. `12 search results for 'fork':` once it has searched for the term.
        let header = format!("'{term}'");
        if let Err(e) = browser.wait_js(
            &format!("search results for {term:?}"),
            &format!(
                "return (document.getElementById('mdbook-searchresults-header')?.innerText || '').includes({})",
                json!(header)
            ),
        ) {
            problems.push(format!("{page}: searching {term:?}: {e}"));
            continue;
        }
        let hrefs = browser.js(
            "return [...document.querySelectorAll('#mdbook-searchresults a')].map((a) => a.href)",
            vec![],
        );
        let found: Vec<String> = hrefs
            .as_array()
            .expect("list")
            .iter()
            .filter_map(Value::as_str)
            .map(|h| {
                let h = h.strip_prefix(base).unwrap_or(h);
                h.split(['#', '?']).next().unwrap_or(h).to_owned()
            })
            .collect();
        if !expected.iter().any(|e| found.iter().any(|f| f == e)) {
            problems.push(format!(
                "{page}: searching {term:?} lists {found:?}, none of the chapters that explain it: {expected:?}"
            ));
        }
    }
    problems.extend(
        browser
            .console_errors()
            .into_iter()
            .map(|e| format!("{page}: while searching: {e}")),
    );
    problems
}

// ---------------------------------------------------------------------------------------------
// The book under test

/// The built book: the one this binary builds, or `BROWSER_TESTS_BOOK`. (mdBook's warnings are
/// the book test's business; here only what a reader meets counts.)
fn book_dir() -> PathBuf {
    match std::env::var_os("BROWSER_TESTS_BOOK") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let dest = Path::new(concat!(env!("CARGO_TARGET_TMPDIR"), "/browser-book"));
            built(dest).dir.clone()
        }
    }
}

/// Every HTML file of the built book, relative to it, with `/` separators, sorted.
fn html_pages(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d)
            .expect("reading the built book")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "html") {
                let rel = path.strip_prefix(dir).expect("under the book");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

/// Pages whose built HTML has a `pre.mermaid` block.
fn diagram_pages(dir: &Path) -> Vec<String> {
    let mermaid = Selector::parse("pre.mermaid").expect("selector");
    html_pages(dir)
        .into_iter()
        .filter(|rel| {
            let text = std::fs::read_to_string(dir.join(rel)).expect("reading a page");
            Html::parse_document(&text)
                .select(&mermaid)
                .next()
                .is_some()
        })
        .collect()
}

/// Crates a chapter may name: the folders under `examples/` with a Cargo.toml, and every
/// workspace member.
fn workspace_crates() -> BTreeSet<String> {
    let mut names: BTreeSet<String> = workspace()
        .packages
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    for entry in std::fs::read_dir(root().join("examples"))
        .expect("examples/")
        .flatten()
    {
        if entry.path().join("Cargo.toml").is_file() {
            names.insert(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names
}

// ---------------------------------------------------------------------------------------------
// One page load, as the browser recorded it

/// What happened while one page loaded: console errors and every network request.
struct Visit {
    console: Vec<String>,
    requests: Vec<Request>,
    unsettled: Option<String>,
}

#[derive(Default, Debug)]
struct Request {
    url: String,
    status: Option<u64>,
    failed: Option<String>,
    bytes: f64,
}

impl Visit {
    /// Console errors, failed requests, requests that leave loopback, a page that never settled.
    fn problems(&self, rel: &str) -> Vec<String> {
        let mut problems: Vec<String> = self
            .console
            .iter()
            .map(|e| format!("{rel}: console error: {e}"))
            .collect();
        problems.extend(self.unsettled.iter().map(|e| format!("{rel}: {e}")));
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

    fn fetched(&self, path_end: &str) -> bool {
        self.requests.iter().any(|r| {
            r.url
                .split(['?', '#'])
                .next()
                .is_some_and(|u| u.ends_with(path_end))
        })
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

/// Builds the requests of one page load from Chromium's performance log (DevTools `Network.*`
/// events, as chromedriver records them with `goog:loggingPrefs`).
fn requests_from(perf_log: &[Value]) -> Vec<Request> {
    let mut by_id: BTreeMap<String, Request> = BTreeMap::new();
    for entry in perf_log {
        let Some(message) = entry["message"].as_str() else {
            continue;
        };
        let Ok(message) = serde_json::from_str::<Value>(message) else {
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

// ---------------------------------------------------------------------------------------------
// Chromium, chromedriver and the server

/// One chromedriver, its Chromium session and the book served on loopback. Dropping it ends the
/// session, kills and reaps chromedriver and removes Chromium's profile.
struct Browser {
    client: Option<Client>,
    /// The book's root URL on the loopback server, ending in `/`.
    base: String,
    /// The built book.
    dir: PathBuf,
    /// Runs the WebDriver client and the server; dropping it stops the server.
    rt: tokio::runtime::Runtime,
    _driver: Driver,
    _one_at_a_time: MutexGuard<'static, ()>,
}

impl Browser {
    /// Starts everything, or returns `None` (after saying so) when Chromium is not installed.
    fn start() -> Option<Browser> {
        let (chromium, chromedriver) = find_browser()?;
        static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
        let guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let dir = book_dir();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("starting the async runtime");
        let base = serve(&rt, &dir);
        let driver = Driver::start(&chromedriver);
        let caps = capabilities(&chromium, &driver.profile);
        let mut builder =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(caps);
        let client = match rt.block_on(async {
            tokio::time::timeout(COMMAND_TIMEOUT, builder.connect(&driver.url)).await
        }) {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => panic!("chromedriver could not start {}: {e}", chromium.display()),
            Err(_) => panic!(
                "chromedriver did not start {} within {COMMAND_TIMEOUT:?}",
                chromium.display()
            ),
        };
        let browser = Browser {
            client: Some(client),
            base,
            dir,
            rt,
            _driver: driver,
            _one_at_a_time: guard,
        };
        // Every page load downloads everything, as on a reader's first visit.
        browser.cdp("Network.setCacheDisabled", json!({ "cacheDisabled": true }));
        Some(browser)
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("a session")
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

    /// Runs one WebDriver command, failing the test with `what` if it errs or hangs.
    fn run<T, E: std::fmt::Display>(
        &self,
        what: &str,
        command: impl Future<Output = Result<T, E>>,
    ) -> T {
        match self
            .rt
            .block_on(async { tokio::time::timeout(COMMAND_TIMEOUT, command).await })
        {
            Ok(Ok(value)) => value,
            Ok(Err(e)) => panic!("{what}: {e}"),
            Err(_) => panic!("{what}: no answer from the browser within {COMMAND_TIMEOUT:?}"),
        }
    }

    fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.run(
            "running a script in the page",
            self.client().execute(script, args),
        )
    }

    /// Runs `script` as the body of an async function whose last argument is the callback that
    /// returns its result. A script that throws fails the test with the error.
    fn js_async(&self, script: &str, args: Vec<Value>) -> Value {
        let script = format!(
            "const done = arguments[arguments.length - 1]; \
             (async () => {{ {script} }})().catch((e) => done({{ scriptError: String(e) }}));"
        );
        let value = self.run(
            "running a script in the page",
            self.client().execute_async(&script, args),
        );
        if let Some(error) = value.get("scriptError") {
            panic!("a script in the page failed: {error}");
        }
        value
    }

    /// Polls `condition` (a script body returning a boolean) until it holds.
    fn wait_js(&self, what: &str, condition: &str) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if self.js(condition, vec![]).as_bool() == Some(true) {
                return Ok(());
            }
            if start.elapsed() > SETTLE_TIMEOUT {
                return Err(format!(
                    "gave up waiting for {what} after {SETTLE_TIMEOUT:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.run(
            &format!("finding {css}"),
            self.client().find(Locator::Css(css)),
        )
    }

    fn click(&self, css: &str) {
        let element = self.find(css);
        self.run(&format!("clicking {css}"), element.click());
    }

    /// Opens `url`, waiting for its `load` event only.
    fn goto(&self, url: &str) {
        self.run(&format!("opening {url}"), self.client().goto(url));
    }

    /// Opens `url` and waits until it has settled: loaded, fonts ready and, where there are
    /// diagrams, mermaid done. Returns what the browser logged meanwhile.
    fn open(&self, url: &str) -> Visit {
        self.logs("browser");
        self.logs("performance");
        self.goto(url);
        let fonts = self.js_async("await document.fonts.ready; done(true);", vec![]);
        assert_eq!(fonts, json!(true), "{url}: fonts never became ready");
        let unsettled = self
            .wait_js(
                "the diagrams to render",
                "return document.querySelectorAll('pre.mermaid').length === 0 \
                 || !!document.documentElement.dataset.mermaidTheme",
            )
            .err();
        let console = self.console_errors();
        let requests = requests_from(&self.logs("performance"));
        Visit {
            console,
            requests,
            unsettled,
        }
    }

    /// SEVERE entries of the console log since the last call: errors, uncaught exceptions,
    /// resources that failed to load.
    fn console_errors(&self) -> Vec<String> {
        self.logs("browser")
            .into_iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    /// Chooses `theme` with the theme menu, as a reader does, closes the menu, and waits until
    /// the diagrams (if any) are rendered for it.
    fn set_theme(&self, theme: &str) -> Result<(), String> {
        const MENU_OPEN: &str = "return document.getElementById('mdbook-theme-toggle') \
                                 .getAttribute('aria-expanded') === 'true'";
        self.click("#mdbook-theme-toggle");
        self.wait_js("the theme menu to open", MENU_OPEN)?;
        self.click(&format!("#mdbook-theme-{theme}"));
        // Choosing leaves the menu open; the toggle closes it.
        self.click("#mdbook-theme-toggle");
        self.wait_js(
            "the theme menu to close",
            &format!("return !(() => {{ {MENU_OPEN} }})()"),
        )?;
        let mermaid = if ["coal", "navy", "ayu"].contains(&theme) {
            "dark"
        } else {
            "default"
        };
        self.wait_js(
            &format!("the {theme} theme with diagrams in mermaid's {mermaid:?} theme"),
            &format!(
                "const html = document.documentElement; \
                 return html.classList.contains({theme:?}) && \
                 (document.querySelectorAll('pre.mermaid').length === 0 || html.dataset.mermaidTheme === {mermaid:?})"
            ),
        )
    }

    /// Scrolls the first `css` element to the top of the window (below mdBook's menu bar) and
    /// saves a screenshot of the window as `target/browser-screenshots/{name}`.
    fn screenshot_at(&self, css: &str, name: &str) -> PathBuf {
        self.js(
            "document.querySelector(arguments[0]).scrollIntoView(); window.scrollBy(0, -90);",
            vec![json!(css)],
        );
        let png = self.run("taking a screenshot", self.client().screenshot());
        save_screenshot(name, &png)
    }

    /// Saves a screenshot of the whole first `css` element, however tall (WebDriver's element
    /// screenshot stops at the window's edge; DevTools' does not).
    fn screenshot_of(&self, css: &str, name: &str) -> PathBuf {
        let clip = self.js(
            "const r = document.querySelector(arguments[0]).getBoundingClientRect(); \
             return { x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height, scale: 1 };",
            vec![json!(css)],
        );
        let shot = self.cdp(
            "Page.captureScreenshot",
            json!({ "format": "png", "captureBeyondViewport": true, "clip": clip }),
        );
        let data = shot["data"].as_str().expect("a base64 PNG");
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("base64");
        save_screenshot(name, &png)
    }

    /// Chromium's log of `kind` (`browser`: the console; `performance`: DevTools events) since
    /// the last call.
    fn logs(&self, kind: &str) -> Vec<Value> {
        let command = SessionCommand::new("se/log", json!({ "type": kind }));
        match self.run(
            &format!("reading the {kind} log"),
            self.client().issue_cmd(command),
        ) {
            Value::Array(entries) => entries,
            other => panic!("chromedriver answered {other} for the {kind} log"),
        }
    }

    /// A Chrome DevTools Protocol command, through chromedriver.
    fn cdp(&self, cmd: &str, params: Value) -> Value {
        let command =
            SessionCommand::new("goog/cdp/execute", json!({ "cmd": cmd, "params": params }));
        self.run(
            &format!("DevTools command {cmd}"),
            self.client().issue_cmd(command),
        )
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session makes chromedriver quit Chromium and reap it; `Driver` then stops
        // chromedriver itself. Give up after a few seconds: killing chromedriver must still run.
        if let Some(client) = self.client.take() {
            let _ = self.rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(10), client.close()).await
            });
        }
    }
}

fn save_screenshot(name: &str, png: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/")
        .join("browser-screenshots");
    std::fs::create_dir_all(&dir).expect("creating target/browser-screenshots");
    let path = dir.join(name);
    std::fs::write(&path, png).expect("writing a screenshot");
    println!("Screenshot: {}", path.display());
    path
}

/// `POST /session/{id}/{path}` with a JSON body: chromedriver's own commands that fantoccini has
/// no method for (the logs, DevTools commands).
#[derive(Debug)]
struct SessionCommand {
    path: &'static str,
    body: Value,
}

impl SessionCommand {
    fn new(path: &'static str, body: Value) -> SessionCommand {
        SessionCommand { path, body }
    }
}

impl WebDriverCompatibleCommand for SessionCommand {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/{}",
            session.unwrap_or("none"),
            self.path
        ))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// The WebDriver capabilities: which Chromium, its flags and profile, and what to log.
fn capabilities(chromium: &Path, profile: &Path) -> Capabilities {
    let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
    args.push(format!(
        "--user-data-dir={}",
        profile.join("chromium").display()
    ));
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": args,
            "perfLoggingPrefs": { "enableNetwork": true, "enablePage": false },
        },
        "goog:loggingPrefs": { "browser": "ALL", "performance": "ALL" },
        "timeouts": { "pageLoad": 30_000, "script": 30_000, "implicit": 0 },
    });
    match caps {
        Value::Object(map) => map,
        _ => unreachable!("an object"),
    }
}

/// Chromium and chromedriver from `PATH`, or `None` after saying loudly that the test is
/// skipped. Under CI (`CI` set and not `false`/`0`) a missing browser fails the test instead.
fn find_browser() -> Option<(PathBuf, PathBuf)> {
    let chromium = ["chromium", "chromium-browser"]
        .iter()
        .find_map(|name| on_path(name));
    let chromedriver = on_path("chromedriver");
    if let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) {
        return Some((chromium, chromedriver));
    }
    // The test harness names each test's thread after the test.
    let current = std::thread::current();
    let test = current.name().unwrap_or("a browser test");
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    let message = format!(
        "{test}: skipped: no chromium (the browser tests need `chromium` and `chromedriver` on PATH; \
         on Debian: apt-get install chromium chromium-driver)"
    );
    assert!(!ci, "CI is set, so the browser tests must run: {message}");
    // Written straight to stderr, past the test harness's capture: a skip must be seen in a
    // plain `cargo test` run, not only with --nocapture.
    let _ = writeln!(std::io::stderr(), "\n*** {message}\n");
    None
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
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

/// A chromedriver process on a free loopback port, and the temporary folder that holds
/// Chromium's profile and home. Dropping it kills and reaps chromedriver, then removes the folder.
struct Driver {
    child: Child,
    url: String,
    profile: PathBuf,
}

impl Driver {
    fn start(chromedriver: &Path) -> Driver {
        let profile = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "chromium-{}-{}",
            std::process::id(),
            unique()
        ));
        let tmp = profile.join("tmp");
        std::fs::create_dir_all(&tmp).expect("creating Chromium's profile folder");
        let port = free_port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            // Chromium keeps crash reports and its certificate store under $HOME: keep them in
            // the temporary folder too, so a run leaves nothing in the user's home.
            .env("HOME", &profile)
            .env("XDG_CONFIG_HOME", profile.join(".config"))
            .env("XDG_CACHE_HOME", profile.join(".cache"))
            // Chromium's scoped temporary folders, too.
            .env("TMPDIR", &tmp)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", chromedriver.display()));
        let mut driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            profile,
        };
        let start = Instant::now();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("chromedriver exited at start ({status})");
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "chromedriver did not listen on port {port} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Chromium may still be flushing its profile for a moment after chromedriver is gone.
        for _ in 0..20 {
            if std::fs::remove_dir_all(&self.profile).is_ok() || !self.profile.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("finding a free loopback port")
}

fn unique() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
