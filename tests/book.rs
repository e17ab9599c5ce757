//! Book-wide checks. Each reads the Markdown sources or the one HTML build this binary makes
//! (under `target/tmp/`), and names every offending file in its failure message.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use book_checks::{
    ASPECTS, Built, built, code_blocks, files_with_extension, includes, pages, root, workspace,
};
use regex::Regex;
use scraper::{Html, Selector};
use xtask::examples::Program;

fn book() -> &'static Built {
    built(Path::new(concat!(env!("CARGO_TARGET_TMPDIR"), "/book")))
}

/// Diagrams the book promises, by page.
const DIAGRAMS: [(&str, &str); 6] = [
    ("definitions.md", "address-space layout"),
    ("memory.md", "descriptor tables after fork and in threads"),
    ("memory.md", "copy-on-write pages"),
    ("creating-and-ending.md", "fork timeline"),
    ("communication.md", "data flow through a pipe"),
    ("crashes.md", "blast radius of a crash"),
];

/// The build also fails on an include whose file or anchor is missing, or that selects nothing.
#[test]
fn the_book_builds_without_errors_or_warnings() {
    let built = book();
    assert!(
        built.warnings.is_empty(),
        "mdBook logged warnings or errors:\n{}",
        built.warnings.join("\n")
    );
    assert!(built.dir.join("index.html").is_file());
}

#[test]
fn rust_in_the_book_comes_from_compiled_crates() {
    let ws = workspace();
    let root = root();
    let compiled = |file: &Path| -> bool {
        let Ok(file) = file.canonicalize() else {
            return false;
        };
        if ws
            .target_sources
            .iter()
            .any(|s| s.canonicalize().ok().as_ref() == Some(&file))
        {
            return true;
        }
        ws.packages.iter().any(|(_, dir)| {
            // Modules of a crate, and trybuild cases that a test of that crate compiles.
            file.starts_with(dir.join("src"))
                || (file.starts_with(dir.join("tests/compile-fail"))
                    && std::fs::read_dir(dir.join("tests")).is_ok_and(|entries| {
                        entries.flatten().any(|e| {
                            std::fs::read_to_string(e.path())
                                .is_ok_and(|t| t.contains("compile_fail(\"tests/compile-fail/"))
                        })
                    }))
        })
    };
    let mut problems = Vec::new();
    for page in pages() {
        let directives = includes(&page);
        for (info, body, line) in code_blocks(&page.text) {
            let lang = info.split([',', ' ']).next().unwrap_or("");
            if lang != "rust" {
                continue;
            }
            let where_ = format!("{}:{line}", page.rel.display());
            for code_line in body.lines().filter(|l| !l.trim().is_empty()) {
                if !code_line.trim_start().starts_with("{{#include")
                    && !code_line.trim_start().starts_with("{{#rustdoc_include")
                {
                    problems.push(format!(
                        "{where_}: Rust written in the prose: {code_line:?}"
                    ));
                }
            }
            for include in directives.iter().filter(|i| body.contains(&i.directive)) {
                if !compiled(&include.file) {
                    problems.push(format!(
                        "{where_}: {} is not compiled by the workspace",
                        include
                            .file
                            .strip_prefix(&root)
                            .unwrap_or(&include.file)
                            .display()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Chapter pages in the order SUMMARY.md lists them.
fn summary_pages() -> Vec<String> {
    let summary = std::fs::read_to_string(root().join("src/SUMMARY.md")).expect("SUMMARY.md");
    Regex::new(r"\]\(([^)]+\.md)\)")
        .expect("regex")
        .captures_iter(&summary)
        .map(|c| c[1].to_owned())
        .collect()
}

#[test]
fn summary_lists_every_page_and_only_existing_ones() {
    let listed: BTreeSet<String> = summary_pages().into_iter().collect();
    let present: BTreeSet<String> = pages()
        .iter()
        .map(|p| p.rel.to_string_lossy().into_owned())
        .collect();
    let missing: Vec<_> = present.difference(&listed).collect();
    let dangling: Vec<_> = listed.difference(&present).collect();
    assert!(missing.is_empty(), "pages not in SUMMARY.md: {missing:?}");
    assert!(
        dangling.is_empty(),
        "SUMMARY.md lists missing pages: {dangling:?}"
    );
}

/// `cargo run -p NAME`, `cargo run --release -p NAME --bin BIN`, `cargo test -p NAME`, …:
/// each command's crate, and its `--bin` when it names one.
fn commands_in(text: &str) -> Vec<(String, Option<String>)> {
    Regex::new(
        r"cargo (?:run|test|bench)(?: --release| -q| --quiet)* -p ([A-Za-z0-9_-]+)(?: --bin ([A-Za-z0-9_-]+))?",
    )
    .expect("regex")
    .captures_iter(text)
    .map(|c| (c[1].to_owned(), c.get(2).map(|b| b.as_str().to_owned())))
    .collect()
}

#[test]
fn every_chapter_ends_with_run_it_naming_real_crates() {
    let ws = workspace();
    let members: BTreeSet<&str> = ws.packages.iter().map(|(n, _)| n.as_str()).collect();
    let mut problems = Vec::new();
    for page in pages() {
        let where_ = page.rel.display();
        let headings: Vec<&str> = page.text.lines().filter(|l| l.starts_with("## ")).collect();
        if headings.last() != Some(&"## Run it") {
            problems.push(format!("{where_}: the last section is not `## Run it`"));
            continue;
        }
        let run_it = &page.text[page.text.rfind("## Run it").expect("found above")..];
        let named = commands_in(run_it);
        if named.is_empty()
            && !run_it.contains("cargo test")
            && !run_it.contains("cargo xtask test")
            && !run_it.contains("cargo book")
        {
            problems.push(format!("{where_}: `## Run it` names no command"));
        }
        for (name, bin) in named {
            if !members.contains(name.as_str()) {
                problems.push(format!(
                    "{where_}: `## Run it` names {name:?}, not a workspace crate"
                ));
            }
            if let Some(bin) = bin
                && !ws.bins.contains(&(name.clone(), bin.clone()))
            {
                problems.push(format!(
                    "{where_}: `## Run it` names `--bin {bin}`, not a binary of {name}"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_example_is_shown_and_run_from_a_chapter_and_has_a_test() {
    let pages = pages();
    let commands: Vec<(String, Option<String>)> =
        pages.iter().flat_map(|p| commands_in(&p.text)).collect();
    let mut problems = Vec::new();
    for krate in xtask::examples::crates(&root(), "examples").expect("the example crates") {
        let name = &krate.name;
        for Program { bin, command, .. } in &krate.programs {
            // `cargo run -p NAME` runs the package's default binary, the one named like it.
            let run = commands.iter().any(|(c, b)| {
                c == name && (b.as_ref() == Some(bin) || (b.is_none() && bin == name))
            });
            if !run {
                problems.push(format!("examples/{name}: no chapter runs `{command}`"));
            }
        }
        if krate.tests.is_empty() {
            problems.push(format!("examples/{name}: no integration test in tests/"));
        }
        if krate.chapters.is_empty() {
            problems.push(format!("examples/{name}: no chapter includes its files"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_promised_diagrams_are_there() {
    for (page, what) in DIAGRAMS {
        let text = std::fs::read_to_string(root().join("src").join(page)).expect("page");
        let promised = DIAGRAMS.iter().filter(|(p, _)| *p == page).count();
        let drawn = code_blocks(&text)
            .iter()
            .filter(|(info, _, _)| info == "mermaid")
            .count();
        assert!(
            drawn >= promised,
            "{page} should have {promised} mermaid diagrams, among them the {what}; it has {drawn}"
        );
    }
}

/// The comparison table: one row per aspect, whose name links to the one chapter that explains
/// it, and a verdict of at most about a dozen words for the process and for the thread.
#[test]
fn the_comparison_table_gives_each_aspect_a_short_verdict_and_one_link() {
    let text = std::fs::read_to_string(root().join("src/at-a-glance.md")).expect("at-a-glance.md");
    let link = Regex::new(r"\]\(([^)#]*)(#[^)]*)?\)").expect("regex");
    let rows: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---"))
        .map(|l| l.trim_matches('|').split('|').map(str::trim).collect())
        .collect();
    let mut problems = Vec::new();
    if rows.first().map(|r| r.as_slice()) != Some(&["Aspect", "Process", "Thread"][..]) {
        problems.push(format!(
            "the header is not Aspect | Process | Thread: {:?}",
            rows.first()
        ));
    }
    let aspects: Vec<String> = rows
        .iter()
        .skip(1)
        .map(|r| {
            link.replace_all(r[0], "]")
                .trim_matches(['[', ']', '*'])
                .to_owned()
        })
        .collect();
    if aspects != ASPECTS {
        problems.push(format!("the rows are {aspects:?}, expected {ASPECTS:?}"));
    }
    for row in rows.iter().skip(1) {
        let links: Vec<&str> = row
            .iter()
            .flat_map(|c| link.captures_iter(c))
            .map(|c| c.get(1).expect("target").as_str())
            .collect();
        if links.len() != 1
            || !links[0].ends_with(".md")
            || !root().join("src").join(links[0]).is_file()
        {
            problems.push(format!("{}: links {links:?}, not one chapter", row[0]));
        }
        for cell in &row[1..] {
            let words = cell.split_whitespace().count();
            if words > 14 {
                problems.push(format!(
                    "{}: {words} words, more than a verdict: {cell:?}",
                    row[0]
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What chapters other than Cost say about the reference run (examples/costs/reference/), one
/// claim a line: the page | its words | a row's median / another's | the range the words allow
/// (an empty end is open). A range of whole numbers such as "5–8×" covers the ratios that round
/// into it; a claim repeated on several lines must hold for each.
const REFERENCE_CLAIMS: &str = "
at-a-glance.md | `fork`: 5–8× a thread's | creation-fork-wait-unpinned / creation-thread-spawn-unpinned | 4.5..8.5
at-a-glance.md | `fork`: 5–8× a thread's | creation-fork-wait-pinned / creation-thread-spawn-pinned | 4.5..8.5
at-a-glance.md | starting a program 11–18× | creation-posix-spawn-unpinned / creation-thread-spawn-unpinned | 10.5..18.5
at-a-glance.md | starting a program 11–18× | creation-posix-spawn-pinned / creation-thread-spawn-pinned | 10.5..18.5
at-a-glance.md | starting a program 11–18× | creation-fork-exec-unpinned / creation-thread-spawn-unpinned | 10.5..18.5
at-a-glance.md | starting a program 11–18× | creation-fork-exec-pinned / creation-thread-spawn-pinned | 10.5..18.5
at-a-glance.md | Within 15 % of a thread's | switch-pipe-processes-pinned / switch-pipe-threads-pinned | 0.85..1.15
at-a-glance.md | Within 15 % of a thread's | switch-pipe-processes-unpinned / switch-pipe-threads-unpinned | 0.85..1.15
at-a-glance.md | adds 3–5× a thread's memory | memory-process-private / memory-thread | 2.5..5.5
at-a-glance.md | adds 3–5× a thread's memory | scaling-processes-1 / scaling-threads-1 | 2.5..5.5
at-a-glance.md | adds 3–5× a thread's memory | scaling-processes-10 / scaling-threads-10 | 2.5..5.5
at-a-glance.md | adds 3–5× a thread's memory | scaling-processes-100 / scaling-threads-100 | 2.5..5.5
at-a-glance.md | adds 3–5× a thread's memory | scaling-processes-1000 / scaling-threads-1000 | 2.5..5.5
communication.md | more than ten times as fast | latency-pipe-processes / latency-shm-processes | 10..
communication.md | more than ten times as fast | throughput-shm-processes / throughput-pipe-processes | 10..
communication.md | took longer than a pipe round trip | switch-condvar-threads-pinned / switch-pipe-processes-pinned | 1..
communication/shared-memory.md | more than ten times as many bytes | throughput-shm-processes / throughput-pipe-processes | 10..
communication/sockets.md | a small round trip took longer | latency-socketpair-processes / latency-pipe-processes | 1..
communication/sockets.md | bulk data moved faster | throughput-socketpair-processes / throughput-pipe-processes | 1..
communication/message-queues.md | took longer than through a pipe | latency-mq-processes / latency-pipe-processes | 1..
communication/message-queues.md | more bytes per second than a pipe | throughput-mq-processes / throughput-pipe-processes | 1..
";

#[test]
fn what_the_chapters_say_about_the_reference_run_holds() {
    let path = root().join("examples/costs/reference/reference.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("reference.json"))
            .expect("JSON");
    let median = |id: &str| {
        json["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r["id"] == id)
            .and_then(|r| r["median"].as_f64())
    };
    let mut problems = Vec::new();
    for claim in REFERENCE_CLAIMS.lines().filter(|l| !l.is_empty()) {
        let [page, words, ratio, range] = claim.split(" | ").collect::<Vec<_>>()[..] else {
            panic!("not page | words | ratio | range: {claim}")
        };
        let (top, bottom) = ratio.split_once(" / ").expect("row / row");
        let (low, high) = range.split_once("..").expect("low..high");
        let low: f64 = low.parse().expect("a number");
        let high: f64 = high.parse().unwrap_or(f64::INFINITY);
        let text = std::fs::read_to_string(root().join("src").join(page)).expect("a chapter");
        if !text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .contains(words)
        {
            problems.push(format!(
                "{page} no longer says {words:?}: remove its line here"
            ));
        }
        match (median(top), median(bottom)) {
            (Some(a), Some(b)) if (low..=high).contains(&(a / b)) => {}
            (Some(a), Some(b)) => problems.push(format!(
                "{page} says {words:?}, but {top} / {bottom} = {:.2} is outside {low}..{high}: \
                 reword the chapter",
                a / b
            )),
            _ => problems.push(format!(
                "{page}: reference.json has no row {top} or {bottom}"
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every HTML file of the build, parsed.
fn html_files(dir: &Path) -> Vec<(PathBuf, Html)> {
    files_with_extension(dir, "html")
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("html");
            (path, Html::parse_document(&text))
        })
        .collect()
}

fn is_remote(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("http:") || lower.starts_with("https:") || lower.starts_with("//")
}

/// Files the Pages workflow adds to the built book, which a plain build does not have.
const PUBLISHED_BESIDE: [&str; 3] = xtask::build::DOWNLOADS;

#[test]
fn every_internal_link_and_fragment_resolves() {
    let dir = &book().dir;
    let files = html_files(dir);
    let ids: BTreeMap<PathBuf, BTreeSet<String>> = files
        .iter()
        .map(|(path, html)| {
            let sel = Selector::parse("[id], a[name]").expect("selector");
            let ids = html
                .select(&sel)
                .filter_map(|e| e.value().attr("id").or_else(|| e.value().attr("name")))
                .map(str::to_owned)
                .collect();
            (path.clone(), ids)
        })
        .collect();
    let sel = Selector::parse("a[href], link[href], script[src], img[src], iframe[src]")
        .expect("selector");
    let mut problems = BTreeSet::new();
    for (path, html) in &files {
        let here = path
            .strip_prefix(dir)
            .expect("under build dir")
            .display()
            .to_string();
        for element in html.select(&sel) {
            let url = element
                .value()
                .attr("href")
                .or_else(|| element.value().attr("src"))
                .unwrap_or("");
            if url.is_empty()
                || is_remote(url)
                || url.starts_with("mailto:")
                || url.starts_with("javascript:")
            {
                continue;
            }
            // 404.html is served from any depth and uses absolute links from the site root.
            if here == "404.html" {
                continue;
            }
            // The PDF and the examples tarball are written into the built book by `cargo xtask
            // pdf` and `cargo xtask tarball`, after the build; their own tests check them.
            if PUBLISHED_BESIDE.contains(&url) {
                continue;
            }
            let (file_part, fragment) = match url.split_once('#') {
                Some((f, frag)) => (f, Some(frag)),
                None => (url, None),
            };
            let file_part = file_part.split('?').next().unwrap_or("");
            let target = if file_part.is_empty() {
                path.clone()
            } else {
                let joined = path.parent().expect("parent").join(file_part);
                let joined = if joined.is_dir() {
                    joined.join("index.html")
                } else {
                    joined
                };
                match joined.canonicalize() {
                    Ok(p) => p,
                    Err(_) => {
                        problems.insert(format!("{here}: link to missing {url}"));
                        continue;
                    }
                }
            };
            if let Some(fragment) = fragment.filter(|f| !f.is_empty()) {
                let canonical = ids
                    .keys()
                    .find(|k| k.canonicalize().ok().as_ref() == Some(&target));
                let known = canonical.and_then(|k| ids.get(k));
                if !known.is_some_and(|set| set.contains(fragment)) {
                    problems.insert(format!("{here}: link to {url}: no id {fragment:?} there"));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{}",
        problems.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_built_book_loads_nothing_from_the_network() {
    let dir = &book().dir;
    let sel = Selector::parse(
        "script[src], link[href], img[src], iframe[src], source[src], video[src], audio[src], embed[src], object[data]",
    )
    .expect("selector");
    let mut problems = Vec::new();
    for (path, html) in html_files(dir) {
        let here = path
            .strip_prefix(dir)
            .expect("under build dir")
            .display()
            .to_string();
        for element in html.select(&sel) {
            let v = element.value();
            // <link rel="canonical"> and the like are not fetched; stylesheets, icons, preloads are.
            if v.name() == "link" && v.attr("rel").is_some_and(|r| r == "canonical") {
                continue;
            }
            for attr in ["src", "href", "data"] {
                if let Some(url) = v.attr(attr).filter(|u| is_remote(u)) {
                    problems.push(format!("{here}: <{} {attr}={url:?}>", v.name()));
                }
            }
        }
    }
    let css_url = Regex::new(r#"(?i)(?:url\(\s*['"]?|@import\s+['"])(https?:|//)"#).expect("regex");
    for path in files_with_extension(dir, "css") {
        let text = std::fs::read_to_string(&path).expect("css");
        if css_url.is_match(&text) {
            problems.push(format!("{}: fetches a remote url", path.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn search_is_built_and_every_diagram_is_drawn_at_build_time() {
    let dir = &book().dir;
    assert!(
        std::fs::read_dir(dir)
            .expect("build dir")
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("searchindex")),
        "no search index: was mdbook-driver built without its `search` feature?"
    );
    // No page loads mermaid's JavaScript; no ```mermaid fence is left as code.
    let script = Selector::parse("script[src]").expect("selector");
    let code = Selector::parse("code.language-mermaid, pre.mermaid").expect("selector");
    for (path, html) in html_files(dir) {
        for s in html.select(&script) {
            let src = s.value().attr("src").unwrap_or_default();
            assert!(!src.contains("mermaid"), "{} loads {src}", path.display());
        }
        assert_eq!(
            html.select(&code).count(),
            0,
            "{}: undrawn mermaid block",
            path.display()
        );
    }
}

/// The repository links: present only when the build knows the repository (`GITHUB_REPOSITORY`),
/// never a placeholder.
#[test]
fn repository_links_come_from_the_environment() {
    let url = xtask::build::repository_url().expect("a valid GITHUB_REPOSITORY");
    let links = Selector::parse(r#"a[href*="github.com"]"#).expect("selector");
    for (path, html) in html_files(&book().dir) {
        for a in html.select(&links) {
            let href = a.value().attr("href").unwrap_or_default();
            let ours = url.as_deref().is_some_and(|u| href.starts_with(u));
            assert!(
                ours || !href.contains("/edit/")
                    && a.value().attr("title") != Some("Git repository"),
                "{} links to {href}, not to {}",
                path.display(),
                url.as_deref()
                    .unwrap_or("no repository (GITHUB_REPOSITORY is unset)")
            );
        }
    }
}

#[test]
fn ci_runs_exactly_the_readme_test_command() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let ci = std::fs::read_to_string(root().join(".ci/run")).expect(".ci/run");
    let command = Regex::new(r"(?m)^\$?\s*(cargo (?:xtask )?test[^\n`]*)$")
        .expect("regex")
        .captures(&readme)
        .map(|c| c[1].trim().to_owned())
        .expect("README.md gives a `cargo xtask test` command on a line of its own");
    assert!(
        ci.lines().any(|l| l.trim() == command),
        ".ci/run does not run the README's test command `{command}` on a line of its own"
    );
    // The test command itself checks formatting and lints every crate in its build.
    let xtask = std::fs::read_to_string(root().join("xtask/src/test.rs")).expect("test.rs");
    for part in [
        r#"["fmt", "--all", "--check"]"#,
        "build.rustc-workspace-wrapper",
        "clippy-driver",
        "-Dwarnings",
    ] {
        assert!(
            xtask.contains(part),
            "`cargo xtask test` (xtask/src/test.rs) lost `{part}`: formatting or lints unchecked"
        );
    }
    // It runs no doctests (`--all-targets`), so a code example in a doc comment would be
    // code that nothing compiles.
    let fence = Regex::new(r"^\s*//[/!]\s*```(\w*)").expect("regex");
    let mut untested = Vec::new();
    for dir in ["crates", "examples", "exercises", "xtask", "tests"] {
        for path in files_with_extension(&root().join(dir), "rs") {
            let text = std::fs::read_to_string(&path).expect("a source file");
            let mut inside = false;
            for (n, line) in text.lines().enumerate() {
                let Some(c) = fence.captures(line) else {
                    continue;
                };
                // An opening fence with no language is Rust to rustdoc.
                if !inside && !["text", "console"].contains(&&c[1]) {
                    untested.push(format!("{}:{}", path.display(), n + 1));
                }
                inside = !inside;
            }
        }
    }
    assert!(
        untested.is_empty(),
        "code examples in doc comments, which the test command does not compile: {}",
        untested.join(", ")
    );
}

/// `cargo book` and `cargo xtask build` build xtask alone (`cargo run -p xtask`), the test
/// command the whole workspace; a dependency of xtask that the workspace builds with more
/// features is compiled twice, and with it everything above it (libc lies under tokio and
/// mdBook). xtask's Cargo.toml turns those features on itself.
#[test]
fn every_dependency_of_xtask_is_built_once() {
    let features = |args: &[&str]| -> BTreeMap<String, BTreeSet<String>> {
        let mut all = vec!["tree", "-f", "{p}|{f}", "--prefix", "none", "--offline"];
        all.extend_from_slice(args);
        let mut cargo = test_support::command(env!("CARGO"), &all);
        cargo.current_dir(root());
        let out = test_support::run_command(cargo);
        out.assert_success();
        let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for line in out.stdout.lines() {
            let line = line.replace(" (*)", "");
            if let Some((package, list)) = line.split_once('|') {
                map.entry(package.trim().to_owned())
                    .or_default()
                    .extend(list.split(',').filter(|f| !f.is_empty()).map(str::to_owned));
            }
        }
        map
    };
    let alone = features(&["-p", "xtask", "-e", "normal,build"]);
    let workspace = features(&["--workspace", "-e", "normal,build,dev"]);
    let mut problems = Vec::new();
    for (package, mine) in &alone {
        if let Some(theirs) = workspace.get(package)
            && theirs != mine
        {
            let extra: Vec<&String> = theirs.difference(mine).collect();
            problems.push(format!("{package}: the workspace adds {extra:?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "turn these features on in xtask/Cargo.toml too, or `cargo book` after a test run \
         compiles them again:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_repository_path_the_prose_names_exists() {
    let path = Regex::new(r"`((?:examples|crates|tests|xtask|theme)/[^`\s]*)`").expect("regex");
    let mut problems = Vec::new();
    for page in pages() {
        for c in path.captures_iter(&page.text) {
            if !root().join(&c[1]).exists() {
                problems.push(format!(
                    "{}: names `{}`, which does not exist",
                    page.rel.display(),
                    &c[1]
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The appendix about the test machinery, and the list of example crates: the only pages that
/// may talk about how the book is tested.
const MACHINERY_PAGES: [&str; 2] = ["verification.md", "examples.md"];

/// Prose outside code blocks, line by line, with the line's number.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut in_code = false;
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            lines.push((i + 1, line));
        }
    }
    lines
}

#[test]
fn reader_chapters_leave_the_test_machinery_to_the_appendix() {
    let tools = Regex::new(r"(?i)\b(setpriv|prlimit|nobody|trybuild|snapbox)\b").expect("regex");
    let test_talk =
        Regex::new(r"(?i)\b(the|its|a|this|each|our) (integration )?tests?\b|\btest suite\b")
            .expect("regex");
    let mut problems = Vec::new();
    for page in pages() {
        let rel = page.rel.to_string_lossy().into_owned();
        if MACHINERY_PAGES.contains(&rel.as_str()) {
            continue;
        }
        let mut pointers = Vec::new();
        for (n, line) in prose_lines(&page.text) {
            if let Some(m) = tools.find(line) {
                problems.push(format!("{rel}:{n}: names the test tool {:?}", m.as_str()));
            }
            if test_talk.is_match(line) {
                pointers.push(n);
            }
        }
        if pointers.len() > 1 {
            problems.push(format!(
                "{rel}: talks about the tests on lines {pointers:?}; keep one pointer to \
                 verification.md"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_rebuttal_device_stays_on_the_comparison_page_and_in_chapter_openings() {
    let device =
        Regex::new(r"(?i)\busual (textbook )?(summary|table|comparison)|\bmore precisely\b")
            .expect("regex");
    let mut problems = Vec::new();
    for page in pages() {
        let rel = page.rel.to_string_lossy().into_owned();
        if rel == "at-a-glance.md" {
            continue;
        }
        let mut past_opening = false;
        for (n, line) in prose_lines(&page.text) {
            past_opening |= line.starts_with("## ");
            if past_opening && let Some(m) = device.find(line) {
                problems.push(format!(
                    "{rel}:{n}: {:?} outside the chapter's opening",
                    m.as_str()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Program output quoted in the prose, a code span with ": " in it (`…` marks an omission), is
/// real: each of its parts occurs in an output snapshot or a compiler error under `examples/`.
#[test]
fn every_output_quoted_in_the_prose_occurs_in_a_snapshot() {
    let mut outputs = String::new();
    let examples = root().join("examples");
    for file in [
        files_with_extension(&examples, "txt"),
        files_with_extension(&examples, "stderr"),
    ]
    .concat()
    {
        outputs.push_str(&std::fs::read_to_string(file).expect("a snapshot"));
    }
    let span = Regex::new(r"`([^`]+)`").expect("regex");
    let mut problems = Vec::new();
    for page in pages() {
        let prose: Vec<&str> = prose_lines(&page.text)
            .into_iter()
            .map(|(_, l)| l.trim())
            .collect();
        let prose = prose.join(" ");
        for quote in span.captures_iter(&prose).map(|c| c[1].to_owned()) {
            if !quote.contains(": ") {
                continue;
            }
            for part in quote.split('…').map(str::trim).filter(|p| !p.is_empty()) {
                if !outputs.contains(part) {
                    problems.push(format!(
                        "{}: `{quote}` is in no output snapshot",
                        page.rel.display()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The placeholders of verification.md's table are exactly those the output snapshots use.
#[test]
fn verification_lists_every_placeholder_the_outputs_use() {
    let placeholder = Regex::new(r"\[[A-Z]+\]").expect("regex");
    let mut used = BTreeSet::new();
    for file in files_with_extension(&root().join("examples"), "txt") {
        let text = std::fs::read_to_string(&file).expect("a snapshot");
        used.extend(placeholder.find_iter(&text).map(|m| m.as_str().to_owned()));
    }
    let page =
        std::fs::read_to_string(root().join("src/verification.md")).expect("verification.md");
    let listed: BTreeSet<String> = page
        .lines()
        .filter(|l| l.starts_with("| `["))
        .flat_map(|l| {
            l.split('|')
                .nth(1)
                .unwrap_or_default()
                .split(',')
                .map(|p| p.trim().trim_matches('`').to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    let unlisted: Vec<_> = used.difference(&listed).collect();
    let unused: Vec<_> = listed.difference(&used).collect();
    assert!(
        unlisted.is_empty() && unused.is_empty(),
        "verification.md's placeholder table: outputs use {unlisted:?} that it does not list; it lists {unused:?} that no output uses"
    );
}

/// Cargo writes every binary of the workspace to `target/<profile>/<name>`: two programs with
/// one name overwrite each other, and `cargo run -p A --bin NAME` could run B's.
#[test]
fn every_program_has_a_name_of_its_own() {
    let ws = workspace();
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    let mut problems = Vec::new();
    for (package, bin) in &ws.bins {
        if let Some(other) = seen.insert(bin, package) {
            problems.push(format!(
                "the binary name {bin:?} is used by {other} and by {package}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every exercise of `exercises::EXERCISES` is a crate under `exercises/` with its one-line
/// test, a section on the exercises page that links to the section it practises, a solution on
/// the last page, and a link back from the section it practises; the page starts by unpacking
/// the examples tarball.
#[test]
fn every_exercise_links_to_its_section_and_back() {
    let read = |rel: &str| std::fs::read_to_string(root().join(rel)).expect(rel);
    // The text of the section that starts with `heading`, up to the next of its level.
    let section = |text: &str, heading: &str| -> Option<String> {
        let start = text.lines().position(|l| l == heading)?;
        let lines = text.lines().skip(start + 1);
        let body: Vec<&str> = lines.take_while(|l| !l.starts_with("## ")).collect();
        Some(body.join("\n"))
    };
    // mdBook's id for a heading: lower case, spaces to `-`, punctuation dropped.
    let id = |heading: &str| -> String {
        let keep = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
        heading
            .chars()
            .filter_map(|c| match c {
                c if keep(c) => Some(c.to_ascii_lowercase()),
                c if c.is_whitespace() => Some('-'),
                _ => None,
            })
            .collect()
    };
    let (page, solutions) = (read("src/exercises.md"), read("src/solutions.md"));
    let mut problems = Vec::new();
    let crates: BTreeSet<String> = std::fs::read_dir(root().join("exercises"))
        .expect("exercises/")
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").is_file() && e.file_name() != "check")
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let table: BTreeSet<String> = exercises::EXERCISES.iter().map(|e| e.name.into()).collect();
    if crates != table {
        problems.push(format!(
            "exercises/ holds {crates:?}, EXERCISES lists {table:?}"
        ));
    }
    for e in &exercises::EXERCISES {
        let name = e.name;
        let test = std::fs::read_to_string(root().join(format!("exercises/{name}/tests/check.rs")));
        if !test.is_ok_and(|t| t.contains(&format!("verify!(\"{name}\", "))) {
            problems.push(format!(
                "exercises/{name}/tests/check.rs does not verify!({name:?})"
            ));
        }
        let Some(body) = section(&page, &format!("## {name}")) else {
            problems.push(format!("exercises.md has no section `## {name}`"));
            continue;
        };
        if !body.contains(&format!("]({})", e.practises)) {
            problems.push(format!(
                "exercises.md#{name} does not link to {}",
                e.practises
            ));
        }
        if section(&solutions, &format!("## {name}")).is_none() {
            problems.push(format!("solutions.md has no section `## {name}`"));
        }
        let (chapter, fragment) = e.practises.split_once('#').expect("FILE#FRAGMENT");
        let text = read(&format!("src/{chapter}"));
        let heading = text
            .lines()
            .find(|l| l.starts_with("## ") && id(&l[3..]) == fragment);
        let back = heading.and_then(|h| section(&text, h)).unwrap_or_default();
        let up = if chapter.contains('/') { "../" } else { "" };
        if !back.contains(&format!("]({up}exercises.md#{name})")) {
            problems.push(format!(
                "{} does not link back to exercises.md#{name}",
                e.practises
            ));
        }
    }
    let unpack = format!(
        "$ tar -xzf {}\n$ cd {}\n$ cargo exercises\n",
        xtask::tarball::FILE_NAME,
        xtask::tarball::FOLDER
    );
    if !page.contains(&unpack) {
        problems.push(format!("exercises.md does not start with\n{unpack}"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
