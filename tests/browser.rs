//! The built book as a reader meets it: every page opened in Debian's headless Chromium, driven
//! over WebDriver (chromedriver) by `fantoccini`, served from this test on a loopback port, and
//! once more straight from disk (`file://`).
//!
//! One Chromium serves the whole binary: the single test below starts it once and runs every
//! check in turn (a check that fails or panics does not stop the others; the test fails at the
//! end with every check's problems). Starting Chromium is the slowest step, so one start instead
//! of one per check. The pages of the longest check are opened in two tabs at once.
//! `BROWSER_CHECKS=name,name` runs only the checks whose names contain one of those words.
//!
//! Where Chromium or chromedriver is not installed, the test says `skipped: no chromium` on the
//! terminal and passes, except under CI (`CI` set), where a missing browser is a failure.
//!
//! `BROWSER_TESTS_BOOK=DIR` tests an already built book in `DIR` instead of building one (used to
//! show that a broken diagram or a remote script makes these tests fail).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use book_checks::{ASPECTS, built, pages, root, workspace};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use regex::Regex;
use scraper::{Html, Selector};
use serde_json::{Value, json};
use xtask::chromium::{self, Driver, SessionCommand};

/// How long one WebDriver command may take before the test gives up on the browser.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a page may take to settle: fonts loaded and every diagram rendered.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(15);
/// The least contrast between a diagram's text and what is behind it, in every theme: WCAG AA's
/// 4.5:1 for body text (theme/mermaid-loader.js sets mermaid's colours to reach it).
const MIN_CONTRAST: f64 = 4.5;

/// Search terms and the chapters a reader expects among the results.
const SEARCHES: [(&str, &[&str]); 3] = [
    ("fork", &["creating-and-ending.html", "memory.html"]),
    ("zombie", &["creating-and-ending.html"]),
    (
        "mutex",
        &["synchronization.html", "synchronization/sync.html"],
    ),
];

/// The axe-core engine, vendored with its license (tests/vendor/axe-core/).
const AXE: &str = include_str!("vendor/axe-core/axe.min.js");
/// The version of [`AXE`], checked against the file's banner.
const AXE_VERSION: &str = "4.14.1";

/// A check: a name, and the function that returns its problems (none: it passed).
type Check = (&'static str, fn(&Browser) -> Vec<String>);

/// Every check, in the order they run.
const CHECKS: [Check; 7] = [
    // Each page is opened once for several checks: loads cleanly from loopback only, Rust
    // listings fit, axe finds nothing serious, a chapter's `Run it` names workspace crates,
    // diagrams render readably in the light and the dark theme.
    (
        "every page",
        every_page_loads_with_no_error_and_nothing_from_outside_loopback,
    ),
    (
        "axe in every theme",
        axe_finds_no_serious_violation_in_any_theme,
    ),
    ("search", search_finds_the_chapters_that_explain_a_term),
    (
        "table",
        the_comparison_table_has_ten_rows_and_every_link_leads_to_a_page,
    ),
    ("offline", the_site_works_offline_from_file_urls),
    (
        "keyboard",
        search_theme_menu_and_chapters_work_from_the_keyboard,
    ),
    (
        "pdf",
        the_pdf_has_bookmarks_every_title_and_diagram_and_no_clipped_code,
    ),
];

// ---------------------------------------------------------------------------------------------
// The test

#[test]
fn the_built_book_in_chromium() {
    let only: Vec<String> = std::env::var("BROWSER_CHECKS")
        .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect())
        .unwrap_or_default();
    let Some(browser) = Browser::start() else {
        return;
    };
    let mut failures = Vec::new();
    let mut times = Vec::new();
    for (name, check) in CHECKS {
        if !only.is_empty() && !only.iter().any(|o| name.contains(o.as_str())) {
            continue;
        }
        browser.reset();
        let start = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| check(&browser)));
        times.push(format!("{name}: {:.1} s", start.elapsed().as_secs_f64()));
        match result {
            Ok(problems) if problems.is_empty() => {}
            Ok(problems) => failures.push(format!(
                "--- {name}: {} problems\n{}",
                problems.len(),
                problems.join("\n")
            )),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "a panic".to_owned());
                failures.push(format!("--- {name}: stopped: {message}"));
            }
        }
    }
    println!("Time per check: {}", times.join(", "));
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

// ---------------------------------------------------------------------------------------------
// The checks

fn every_page_loads_with_no_error_and_nothing_from_outside_loopback(
    browser: &Browser,
) -> Vec<String> {
    // The chapters (each has a `Run it` section), as built pages.
    let chapters: BTreeSet<String> = pages()
        .iter()
        .map(|p| {
            p.rel
                .with_extension("html")
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    let crates = workspace_crates();
    let diagram_pages = diagram_pages(&browser.dir);
    assert!(
        !diagram_pages.is_empty(),
        "no page of the built book has a `pre.mermaid` diagram"
    );
    // The screenshots show a chapter's diagram (not the table page's, not print.html's copy).
    let shown = diagram_pages
        .iter()
        .find(|p| !["print.html", "at-a-glance.html"].contains(&p.as_str()))
        .unwrap_or(&diagram_pages[0])
        .clone();
    // toc.html is the sidebar for readers without JavaScript, shown in an <iframe> of each
    // page; opened on its own it is no page (it has no icon, so Chromium asks for /favicon.ico).
    // The pages are shared out between this browser and a second one (two Chromiums, the
    // longest page, print.html, first): each takes the next page when it is done with one.
    let mut queue: std::collections::VecDeque<String> = html_pages(&browser.dir)
        .into_iter()
        .filter(|p| p != "toc.html")
        .collect();
    if let Some(at) = queue.iter().position(|p| p == "print.html") {
        let print = queue.remove(at).expect("found");
        queue.push_front(print);
    }
    let queue = std::sync::Mutex::new(queue);
    let one_browser = |browser: &Browser| {
        let mut problems = Vec::new();
        let mut weights = Vec::new();
        // Every page load downloads everything, as on a reader's first visit.
        browser.cdp("Network.setCacheDisabled", json!({ "cacheDisabled": true }));
        loop {
            // Taken in a statement of its own, so the queue is unlocked while the page is read.
            let next = queue.lock().expect("the page queue").pop_front();
            let Some(rel) = next else { break };
            let t0 = Instant::now();
            let visit = browser.open(&browser.http(&rel));
            let t_open = t0.elapsed();
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
            // axe-core, the accessibility engine: no serious or critical violation.
            let t1 = Instant::now();
            problems.extend(axe_problems(browser, &rel));
            let t_axe = t1.elapsed();
            let t2 = Instant::now();
            if chapters.contains(&rel) {
                problems.extend(run_it_commands_name_crates_of_the_workspace(
                    browser, &rel, &crates,
                ));
            }
            if has_diagrams {
                problems.extend(diagrams_render_as_svg_and_follow_the_dark_theme_readably(
                    browser,
                    &rel,
                    rel == shown,
                ));
            }
            println!(
                "  {rel}: opened in {:.1} s, axe {:.1} s, the rest {:.1} s",
                t_open.as_secs_f64(),
                t_axe.as_secs_f64(),
                t2.elapsed().as_secs_f64()
            );
            weights.push((visit.bytes(), rel, has_diagrams));
        }
        browser.cdp(
            "Network.setCacheDisabled",
            json!({ "cacheDisabled": false }),
        );
        (problems, weights)
    };
    let ((mut problems, mut weights), second) = std::thread::scope(|s| {
        let second = s.spawn(|| Browser::start().map(|b| one_browser(&b)));
        let first = one_browser(browser);
        (first, second.join())
    });
    match second {
        Ok(Some((p, w))) => {
            problems.extend(p);
            weights.extend(w);
        }
        Ok(None) => problems.push("the second browser did not start".to_owned()),
        Err(_) => problems.push("the second browser's pages stopped on a panic (above)".to_owned()),
    }

    browser.cdp(
        "Network.setCacheDisabled",
        json!({ "cacheDisabled": false }),
    );
    for chapter in &chapters {
        if !weights.iter().any(|w| &w.1 == chapter) {
            problems.push(format!(
                "{chapter}: a chapter under src/ that the built book lacks"
            ));
        }
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
    problems
}

/// The diagrams of the open page (loaded in the default theme): chosen with the theme menu, the
/// light theme shows them in mermaid's light palette, navy in its dark one, every label readable
/// (contrast at least [`MIN_CONTRAST`]); `shown` saves screenshots of the first.
fn diagrams_render_as_svg_and_follow_the_dark_theme_readably(
    browser: &Browser,
    rel: &str,
    shown: bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(e) = browser.set_theme("light") {
        return vec![format!("{rel}: {e}")];
    }
    problems.extend(check_diagrams(browser, rel, Palette::Light));
    if shown {
        browser.screenshot_at("pre.mermaid", "diagram-light.png");
    }
    if let Err(e) = browser.set_theme("navy") {
        problems.push(format!("{rel}: {e}"));
        return problems;
    }
    problems.extend(check_diagrams(browser, rel, Palette::Dark));
    if shown {
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
    problems
}

fn search_finds_the_chapters_that_explain_a_term(browser: &Browser) -> Vec<String> {
    check_search(browser, &browser.http("index.html"), &browser.http(""))
}

fn the_comparison_table_has_ten_rows_and_every_link_leads_to_a_page(
    browser: &Browser,
) -> Vec<String> {
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
    problems
}

/// The open page is a chapter: its `Run it` section shows cargo commands, and every crate they
/// name is in the workspace.
fn run_it_commands_name_crates_of_the_workspace(
    browser: &Browser,
    rel: &str,
    crates: &BTreeSet<String>,
) -> Vec<String> {
    let command =
        Regex::new(r"cargo (?:run|test|bench)(?: --release| -q| --quiet)* -p ([A-Za-z0-9_-]+)")
            .expect("regex");
    let mut problems = Vec::new();
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
        return vec![format!("{rel}: no `Run it` section")];
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
    problems
}

fn the_site_works_offline_from_file_urls(browser: &Browser) -> Vec<String> {
    let mut problems = Vec::new();
    let index = browser.file_url("index.html");
    let visit = browser.open(&index);
    problems.extend(visit.problems("file: index.html"));
    problems.extend(check_search(browser, &index, &browser.file_url("")));
    for rel in diagram_pages(&browser.dir)
        .iter()
        .filter(|p| *p != "print.html")
        .take(1)
    {
        let visit = browser.open(&browser.file_url(rel));
        problems.extend(visit.problems(&format!("file: {rel}")));
        problems.extend(check_diagrams(
            browser,
            &format!("file: {rel}"),
            Palette::Light,
        ));
    }
    problems
}

/// axe-core on the open page: every violation of impact "serious" or "critical".
fn axe_problems(browser: &Browser, rel: &str) -> Vec<String> {
    if rel == "print.html" {
        // Every chapter again, on one page: colour contrast, axe's slowest rule by far, gives the
        // chapters' answers again (same text, same styles), so it is left to the chapters here.
        return axe_run(
            browser,
            rel,
            "{ resultTypes: ['violations'], rules: { 'color-contrast': { enabled: false } } }",
        );
    }
    axe_run(browser, rel, "{ resultTypes: ['violations'] }")
}

/// axe-core with `options` (a JavaScript object literal).
fn axe_run(browser: &Browser, rel: &str, options: &str) -> Vec<String> {
    let loaded = browser.js(
        &format!("{AXE}\n;return typeof axe === 'object' ? axe.version : null;"),
        vec![],
    );
    if loaded.as_str() != Some(AXE_VERSION) {
        return vec![format!(
            "{rel}: axe-core {AXE_VERSION} did not load (got {loaded})"
        )];
    }
    let report = browser.js_async(
        &format!(
            "const r = await axe.run(document, {options}); {}",
            "done(r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, \
             nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')), \
             why: v.nodes[0]?.any[0]?.message || v.nodes[0]?.failureSummary || '' })));"
        ),
        vec![],
    );
    let mut problems = Vec::new();
    for v in report.as_array().into_iter().flatten() {
        let impact = v["impact"].as_str().unwrap_or("");
        if ["serious", "critical"].contains(&impact) {
            problems.push(format!(
                "{rel}: axe: {impact} {}: {} (e.g. {}: {})",
                v["id"].as_str().unwrap_or("?"),
                v["help"].as_str().unwrap_or(""),
                v["nodes"],
                v["why"].as_str().unwrap_or("")
            ));
        }
    }
    problems
}

/// axe-core on one chapter in each theme but the default (every page is checked in the default
/// theme by the first check): the colours of the dark themes must pass too.
fn axe_finds_no_serious_violation_in_any_theme(browser: &Browser) -> Vec<String> {
    let rel = "memory.html";
    let mut problems = browser.open(&browser.http(rel)).problems(rel);
    for theme in ["rust", "coal", "navy", "ayu"] {
        if let Err(e) = browser.set_theme(theme) {
            problems.push(format!("{rel}: {e}"));
            continue;
        }
        // Only colours change with the theme.
        problems.extend(axe_run(
            browser,
            &format!("{rel} ({theme})"),
            "{ resultTypes: ['violations'], runOnly: { type: 'rule', \
               values: ['color-contrast', 'link-in-text-block'] } }",
        ));
    }
    browser.js("localStorage.removeItem('mdbook-theme')", vec![]);
    problems
}

/// Keyboard only: the search opens with `s`, takes a term and Enter opens a result; the theme
/// menu is reached with Tab, opened with Enter, walked with the arrow keys, a theme chosen with
/// Enter and the menu closed with Escape; the arrow keys turn the pages and the next-chapter link
/// follows Enter.
fn search_theme_menu_and_chapters_work_from_the_keyboard(browser: &Browser) -> Vec<String> {
    let rel = "memory.html";
    let url = browser.http(rel);
    let mut problems = Vec::new();
    let mut step = |what: &str, result: Result<(), String>| {
        if let Err(e) = result {
            problems.push(format!("{rel}: keyboard: {what}: {e}"));
        }
    };

    // Search.
    browser.open(&url);
    browser.keys(&['s']);
    step(
        "`s` focuses the search box",
        browser.wait_js(
            "the search box to have the focus",
            "return document.activeElement?.id === 'mdbook-searchbar'",
        ),
    );
    browser.keys(&"zombie".chars().collect::<Vec<_>>());
    step(
        "typing searches",
        browser.wait_js(
            "results for 'zombie'",
            "return (document.getElementById('mdbook-searchresults-header')?.innerText || '') \
             .includes(\"'zombie'\")",
        ),
    );
    browser.keys(&[Key::Enter.into()]);
    step(
        "Enter opens the first result",
        browser.wait_js(
            "a page about zombies",
            &format!(
                "return location.href !== {} && document.readyState === 'complete' && \
                 /zombie/i.test(document.getElementById('mdbook-content')?.innerText || '')",
                json!(url)
            ),
        ),
    );

    // The theme menu.
    browser.open(&url);
    let mut reached = false;
    for _ in 0..40 {
        browser.keys(&[Key::Tab.into()]);
        if browser.js("return document.activeElement?.id", vec![]) == json!("mdbook-theme-toggle") {
            reached = true;
            break;
        }
    }
    if reached {
        browser.keys(&[Key::Enter.into()]);
        step(
            "Enter opens the theme menu and focuses a theme",
            browser.wait_js(
                "the theme menu to open with the focus in it",
                "return document.getElementById('mdbook-theme-toggle') \
                 .getAttribute('aria-expanded') === 'true' && \
                 !!document.activeElement?.closest('#mdbook-theme-list')",
            ),
        );
        browser.keys(&[Key::Home.into()]);
        let mut on_navy = false;
        for _ in 0..6 {
            if browser.js("return document.activeElement?.id", vec![]) == json!("mdbook-theme-navy")
            {
                on_navy = true;
                break;
            }
            browser.keys(&[Key::Down.into()]);
        }
        if on_navy {
            browser.keys(&[Key::Enter.into()]);
            step(
                "Enter chooses a theme",
                browser.wait_js(
                    "the navy theme",
                    "return document.documentElement.classList.contains('navy')",
                ),
            );
        } else {
            step(
                "the arrow keys reach the navy theme",
                Err("they did not".into()),
            );
        }
        browser.keys(&[Key::Escape.into()]);
        step(
            "Escape closes the theme menu",
            browser.wait_js(
                "the theme menu to close",
                "return document.getElementById('mdbook-theme-toggle') \
                 .getAttribute('aria-expanded') !== 'true'",
            ),
        );
        browser.js("localStorage.removeItem('mdbook-theme')", vec![]);
    } else {
        step(
            "Tab reaches the theme button",
            Err("not in 40 presses".into()),
        );
    }

    // Chapter navigation.
    browser.open(&url);
    let next = browser.js(
        "const a = [...document.querySelectorAll('a.nav-chapters.next, a.mobile-nav-chapters.next')] \
           .find((a) => a.getClientRects().length > 0 && getComputedStyle(a).visibility !== 'hidden'); \
         if (!a || a.tabIndex < 0) return null; \
         a.dataset.keyboardCheck = 'next'; return a.href;",
        vec![],
    );
    let Some(next) = next.as_str().map(str::to_owned) else {
        step("a visible, focusable next-chapter link", Err("none".into()));
        return problems;
    };
    browser.keys(&[Key::Right.into()]);
    step(
        "→ opens the next chapter",
        browser.wait_js(
            "the next chapter",
            &format!("return location.href === {}", json!(next)),
        ),
    );
    browser.keys(&[Key::Left.into()]);
    step(
        "← opens the previous chapter",
        browser.wait_js(
            "the chapter again",
            &format!("return location.href === {}", json!(url)),
        ),
    );
    browser.js(
        "[...document.querySelectorAll('a.nav-chapters.next, a.mobile-nav-chapters.next')] \
           .find((a) => a.getClientRects().length > 0).focus()",
        vec![],
    );
    browser.keys(&[Key::Enter.into()]);
    step(
        "Enter on the focused next-chapter link follows it",
        browser.wait_js(
            "the next chapter",
            &format!("return location.href === {}", json!(next)),
        ),
    );
    problems
}

/// `cargo xtask pdf`'s printing, on this browser: the PDF of print.html opens, has a bookmark
/// for every chapter, holds every chapter title and every diagram label as text, and no line of
/// code is cut at the page edge. Needs poppler-utils (`pdfinfo`, `pdftotext`, `pdftohtml`).
fn the_pdf_has_bookmarks_every_title_and_diagram_and_no_clipped_code(
    browser: &Browser,
) -> Vec<String> {
    let tools = ["pdfinfo", "pdftotext", "pdftohtml"];
    if let Some(missing) = tools.iter().find(|t| chromium::on_path(t).is_none()) {
        let message = format!(
            "pdf: skipped: no {missing} (the PDF check needs poppler-utils; on Debian: \
             apt-get install poppler-utils)"
        );
        test_support::skipped(&message);
        return Vec::new();
    }
    let url = browser.file_url("print.html");
    let pdf = browser.rt.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(180),
            xtask::pdf::print(browser.client(), &url),
        )
        .await
    });
    let pdf = match pdf {
        Ok(Ok(pdf)) => pdf,
        Ok(Err(e)) => return vec![format!("printing print.html: {e:#}")],
        Err(_) => return vec!["printing print.html took over 180 s".to_owned()],
    };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/")
        .join("browser-pdf");
    std::fs::create_dir_all(&dir).expect("creating target/browser-pdf");
    let path = dir.join(xtask::pdf::FILE_NAME);
    std::fs::write(&path, &pdf).expect("writing the PDF");
    println!("PDF: {} ({} kB)", path.display(), pdf.len() / 1000);

    // What the print page holds, as the browser rendered it (the PDF was printed from it).
    let page = browser.js(
        "const text = (n) => n.textContent.replace(/\\s+/g, ' ').trim();
         return {
           titles: [...document.querySelectorAll('#mdbook-content h1')].map(text),
           labels: [...document.querySelectorAll('pre.mermaid svg')].flatMap((svg) =>
             [...svg.querySelectorAll('text, foreignObject > div')].map((n) =>
               n instanceof HTMLElement ? n.innerText.replace(/\\s+/g, ' ').trim() : text(n))
             .filter((t) => t)),
           code: [...document.querySelectorAll('#mdbook-content pre > code')].flatMap((c) =>
             c.innerText.split('\\n')).filter((l) => l.trim()),
         };",
        vec![],
    );
    let strings = |key: &str| -> Vec<String> {
        page[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    let (titles, labels, code) = (strings("titles"), strings("labels"), strings("code"));
    let mut problems = Vec::new();
    if titles.len() < 10 || labels.is_empty() || code.is_empty() {
        problems.push(format!(
            "print.html: {} titles, {} diagram labels, {} code lines: too few to check",
            titles.len(),
            labels.len(),
            code.len()
        ));
    }

    let tool = |name: &str, args: &[&str]| -> String {
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
    };
    let p = path.to_str().expect("a UTF-8 path");
    let info = tool("pdfinfo", &[p]);
    let pages: usize = Regex::new(r"(?m)^Pages:\s+(\d+)")
        .expect("regex")
        .captures(&info)
        .and_then(|c| c[1].parse().ok())
        .unwrap_or(0);
    if pages < 10 {
        problems.push(format!("the PDF has {pages} pages:\n{info}"));
    }

    // Bookmarks: pdftohtml's XML output lists the outline. A title wrapped on the page loses
    // its space in the outline, so titles are compared without whitespace.
    let xml = tool("pdftohtml", &["-xml", "-i", "-q", "-stdout", p]);
    let outline: Vec<String> = Regex::new(r"<item[^>]*>([^<]*)</item>")
        .expect("regex")
        .captures_iter(&xml)
        .map(|c| dense(&unescape(&c[1])))
        .collect();
    for title in &titles {
        if !outline.contains(&dense(title)) {
            problems.push(format!("the PDF has no bookmark {title:?}"));
        }
    }

    // Text, in the page's layout (a line of a table stays one line): every chapter title and
    // code line, compared without whitespace (a wrapped line is still all there).
    let layout = tool("pdftotext", &["-layout", "-enc", "UTF-8", p, "-"]);
    // Without the page footers ("12 / 248"), which would otherwise sit inside a code line that
    // a page break cuts in two.
    let footer = Regex::new(r"^\s*\d+ / \d+\s*$").expect("regex");
    let body: String = layout
        .lines()
        .map(|line| line.trim_start_matches('\u{c}'))
        .filter(|line| !footer.is_match(line))
        .collect::<Vec<_>>()
        .join("\n");
    let text = dense(&body);
    // Diagram labels wrap inside their shapes, next to other shapes' text: each label's words
    // must be words of the PDF (its text is text, not a picture).
    let words: BTreeSet<String> = layout.split_whitespace().map(dense).collect();
    for title in &titles {
        if !text.contains(&dense(title)) {
            problems.push(format!("the PDF's text lacks the chapter title {title:?}"));
        }
    }
    for label in &labels {
        let missing: Vec<&str> = label
            .split_whitespace()
            .filter(|w| {
                !dense(w).is_empty() && !words.contains(&dense(w)) && !text.contains(&dense(w))
            })
            .collect();
        if !missing.is_empty() {
            problems.push(format!(
                "the PDF's text lacks {missing:?} of the diagram label {label:?}"
            ));
        }
    }
    let mut missing_code = 0;
    for line in &code {
        if !text.contains(&dense(line)) {
            missing_code += 1;
            if missing_code <= 10 {
                problems.push(format!("the PDF's text lacks the code line {line:?}"));
            }
        }
    }
    if missing_code > 10 {
        problems.push(format!("… {missing_code} code lines missing in all"));
    }

    // Nothing printed past the right margin: with 0.6 in margins on A4 the text column ends at
    // 595 - 43 = 552 pt; a clipped line would run on beyond it.
    let bbox = tool("pdftotext", &["-bbox", p, "-"]);
    let page_width: f64 = Regex::new(r#"<page width="([\d.]+)""#)
        .expect("regex")
        .captures(&bbox)
        .and_then(|c| c[1].parse().ok())
        .unwrap_or(595.0);
    let right_edge = page_width - 0.6 * 72.0 + 2.0;
    let word = Regex::new(
        r#"<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>"#,
    )
    .expect("regex");
    let beyond: Vec<String> = word
        .captures_iter(&bbox)
        .filter(|c| c[1].parse::<f64>().unwrap_or(0.0) > right_edge)
        .map(|c| unescape(&c[2]))
        .take(10)
        .collect();
    if !beyond.is_empty() {
        problems.push(format!(
            "text runs past the right margin ({right_edge:.0} pt of {page_width:.0}): {beyond:?}"
        ));
    }
    println!(
        "PDF: {pages} pages, {} bookmarks; checked {} titles, {} diagram labels, {} code lines",
        outline.len(),
        titles.len(),
        labels.len(),
        code.len()
    );
    problems
}

/// `s` without whitespace and hyphens: pdftotext drops a hyphen where a line wraps, and those of
/// the monospace font.
fn dense(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !['-', '\u{ad}', '\u{2010}', '\u{2011}'].contains(c))
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
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
}

impl Browser {
    /// Starts everything, or returns `None` (after saying so) when Chromium is not installed.
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
        // Chromium's profile, home and TMPDIR go under target/tmp.
        let driver = Driver::start(&chromedriver, Path::new(env!("CARGO_TARGET_TMPDIR")))
            .expect("starting chromedriver");
        let client = rt
            .block_on(chromium::connect(&driver, &chromium, true))
            .unwrap_or_else(|e| panic!("{e:#}"));
        let browser = Browser {
            client: Some(client),
            base,
            dir,
            rt,
            _driver: driver,
        };
        Some(browser)
    }

    /// Before each check: the default theme, nothing logged.
    fn reset(&self) {
        self.js(
            "try { localStorage.clear(); } catch (e) {} return true;",
            vec![],
        );
        self.logs("browser");
        self.logs("performance");
    }

    /// Presses and releases each key in turn, as a keyboard does (WebDriver key actions).
    fn keys(&self, keys: &[char]) {
        let mut actions = KeyActions::new("keyboard".to_owned());
        for &key in keys {
            actions = actions
                .then(KeyAction::Down { value: key })
                .then(KeyAction::Up { value: key });
        }
        self.run("pressing keys", self.client().perform_actions(actions));
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
        let command = SessionCommand::cdp(cmd, params);
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
