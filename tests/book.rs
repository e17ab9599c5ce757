//! Book-wide checks. Each reads the Markdown sources or the one HTML build this binary makes
//! (under `target/tmp/`), and names every offending file, and what to do, in its failure message.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use book_checks::{Built, built, files_with_extension, pages, root};
use regex::Regex;
use scraper::{Html, Selector};

fn book() -> &'static Built {
    built(Path::new(concat!(env!("CARGO_TARGET_TMPDIR"), "/book")))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn assert_none(problems: impl IntoIterator<Item = String>) {
    let problems: Vec<String> = problems.into_iter().collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The build itself checks what mdBook lets pass (`xtask::build`: every page in SUMMARY.md, every
/// include resolves to text, Rust only by include), the examples (`xtask::examples`: each include
/// of Rust compiled by the workspace, chapters end with `## Run it` naming real programs, every
/// program run from a chapter and unique, every crate tested and shown) and the questions
/// (`xtask::questions`): any of those, or any mdBook warning, fails here.
#[test]
fn the_book_builds_without_errors_or_warnings() {
    assert_none(book().warnings.iter().cloned());
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

#[test]
fn the_promised_diagrams_are_there() {
    assert_none(DIAGRAMS.iter().filter_map(|(page, what)| {
        let drawn = read(&format!("src/{page}")).matches("\n```mermaid").count();
        let promised = DIAGRAMS.iter().filter(|(p, _)| p == page).count();
        (drawn < promised).then(|| {
            format!("{page} should have {promised} mermaid diagrams, the {what} among them")
        })
    }));
}

/// The ten aspects of the comparison table in the source texts, in the table's order.
const ASPECTS: [&str; 10] = [
    "Definition",
    "Memory space",
    "Resource sharing",
    "Creation time",
    "Context switching",
    "Communication",
    "Overhead",
    "Crash impact",
    "Synchronization",
    "Use cases",
];

/// One row per aspect, whose name links to the one chapter that explains it, and a verdict of at
/// most about a dozen words for the process and for the thread.
#[test]
fn the_comparison_table_gives_each_aspect_a_short_verdict_and_one_link() {
    let text = read("src/at-a-glance.md");
    let link = Regex::new(r"\]\(([^)#]*)(#[^)]*)?\)").expect("regex");
    let rows: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---"))
        .map(|l| l.trim_matches('|').split('|').map(str::trim).collect())
        .collect();
    let mut problems = Vec::new();
    if rows.first().map(Vec::as_slice) != Some(&["Aspect", "Process", "Thread"][..]) {
        problems.push(format!(
            "the header is not Aspect | Process | Thread: {:?}",
            rows.first()
        ));
    }
    let name = |r: &Vec<&str>| {
        link.replace_all(r[0], "]")
            .trim_matches(['[', ']', '*'])
            .to_owned()
    };
    let aspects: Vec<String> = rows.iter().skip(1).map(name).collect();
    if aspects != ASPECTS {
        problems.push(format!("the rows are {aspects:?}, expected {ASPECTS:?}"));
    }
    for row in rows.iter().skip(1) {
        let links: Vec<&str> = row
            .iter()
            .flat_map(|c| link.captures_iter(c))
            .map(|c| c.get(1).expect("target").as_str())
            .collect();
        if !matches!(links[..], [l] if l.ends_with(".md") && root().join("src").join(l).is_file()) {
            problems.push(format!("{}: links {links:?}, not one chapter", row[0]));
        }
        for cell in row[1..]
            .iter()
            .filter(|c| c.split_whitespace().count() > 14)
        {
            problems.push(format!(
                "{}: more than a verdict of 14 words: {cell:?}",
                row[0]
            ));
        }
    }
    assert_none(problems);
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
    let json: serde_json::Value =
        serde_json::from_str(&read("examples/costs/reference/reference.json")).expect("JSON");
    let rows = json["rows"].as_array().expect("rows");
    let median = |id: &str| rows.iter().find(|r| r["id"] == id)?["median"].as_f64();
    let mut problems = Vec::new();
    for claim in REFERENCE_CLAIMS.lines().filter(|l| !l.is_empty()) {
        let [page, words, ratio, range] = claim.split(" | ").collect::<Vec<_>>()[..] else {
            panic!("not page | words | ratio | range: {claim}")
        };
        let (top, bottom) = ratio.split_once(" / ").expect("row / row");
        let (low, high) = range.split_once("..").expect("low..high");
        let (low, high) = (
            low.parse().expect("a number"),
            high.parse().unwrap_or(f64::INFINITY),
        );
        let text = read(&format!("src/{page}"));
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
    assert_none(problems);
}

fn is_remote(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("http:") || lower.starts_with("https:") || lower.starts_with("//")
}

/// Every internal link and `#fragment` resolves; nothing is fetched from another host, in HTML or
/// CSS (the book works offline, `file://` included); no page loads mermaid or shows an undrawn
/// diagram (they are drawn at build time); repository links go only to `GITHUB_REPOSITORY`.
#[test]
fn the_built_pages_link_within_the_book_and_fetch_nothing_from_elsewhere() {
    let dir = &book().dir;
    let canonical = |p: &Path| p.canonicalize().ok();
    let files: Vec<(PathBuf, Html)> = files_with_extension(dir, "html")
        .into_iter()
        .map(|path| {
            (
                path.canonicalize().expect("a built page"),
                Html::parse_document(&std::fs::read_to_string(&path).expect("html")),
            )
        })
        .collect();
    let with_id = Selector::parse("[id], a[name]").expect("selector");
    let ids: BTreeMap<&PathBuf, BTreeSet<&str>> = files
        .iter()
        .map(|(path, html)| {
            let id = html.select(&with_id);
            let id = id.filter_map(|e| e.value().attr("id").or(e.value().attr("name")));
            (path, id.collect())
        })
        .collect();
    let repository = xtask::build::repository_url().expect("a valid GITHUB_REPOSITORY");
    let urls = Selector::parse("[href], [src], object[data]").expect("selector");
    let undrawn = Selector::parse("code.language-mermaid, pre.mermaid").expect("selector");
    let mut problems = BTreeSet::new();
    for (path, html) in &files {
        let here = path
            .strip_prefix(dir.canonicalize().expect("the book"))
            .expect("in the book")
            .display();
        if html.select(&undrawn).next().is_some() {
            problems.insert(format!("{here}: a mermaid block left undrawn"));
        }
        for element in html.select(&urls) {
            let e = element.value();
            let url = e
                .attr("href")
                .or(e.attr("src"))
                .or(e.attr("data"))
                .unwrap_or_default();
            if e.name() == "script" && url.contains("mermaid") {
                problems.insert(format!(
                    "{here}: loads {url}: diagrams are drawn at build time"
                ));
            }
            if is_remote(url) {
                let ours = repository.as_deref().is_some_and(|r| url.starts_with(r));
                if e.name() != "a" && e.attr("rel") != Some("canonical") {
                    problems.insert(format!(
                        "{here}: <{} {url:?}> is fetched from the network",
                        e.name()
                    ));
                } else if !ours
                    && (url.contains("github.com") && url.contains("/edit/")
                        || e.attr("title") == Some("Git repository"))
                {
                    problems.insert(format!(
                        "{here}: links to {url}, not to GITHUB_REPOSITORY ({repository:?})"
                    ));
                }
                continue;
            }
            // 404.html is served from any depth and links from the site's root; the PDF, EPUB and
            // tarball are added after the build, and their own tests check them.
            if url.is_empty()
                || url.starts_with("mailto:")
                || url.starts_with("javascript:")
                || here.to_string() == "404.html"
                || xtask::build::DOWNLOADS.contains(&url)
            {
                continue;
            }
            let (file, fragment) = url.split_once('#').unwrap_or((url, ""));
            let file = file.split('?').next().unwrap_or_default();
            let target = match file {
                "" => Some(path.clone()),
                file => {
                    let joined = path.parent().expect("a folder").join(file);
                    canonical(&if joined.is_dir() {
                        joined.join("index.html")
                    } else {
                        joined
                    })
                }
            };
            match target {
                None => _ = problems.insert(format!("{here}: link to missing {url}")),
                Some(t)
                    if !fragment.is_empty()
                        && !ids.get(&t).is_some_and(|s| s.contains(fragment)) =>
                {
                    _ = problems.insert(format!("{here}: link to {url}: no id {fragment:?} there"))
                }
                Some(_) => {}
            }
        }
    }
    let css_url = Regex::new(r#"(?i)(?:url\(\s*['"]?|@import\s+['"])(https?:|//)"#).expect("regex");
    for path in files_with_extension(dir, "css") {
        if css_url.is_match(&std::fs::read_to_string(&path).expect("css")) {
            problems.insert(format!("{}: fetches a remote url", path.display()));
        }
    }
    assert_none(problems);
}

/// House rule 1: CI runs the README's test command, which checks formatting and lints; it runs no
/// doctests (`--all-targets`), so a code example in a doc comment would be compiled by nothing.
#[test]
fn ci_runs_exactly_the_readme_test_command() {
    let command = Regex::new(r"(?m)^\$?\s*(cargo (?:xtask )?test[^\n`]*)$")
        .expect("regex")
        .captures(&read("README.md"))
        .map(|c| c[1].trim().to_owned())
        .expect("README.md gives a `cargo xtask test` command on a line of its own");
    let mut problems = Vec::new();
    if !read(".ci/run").lines().any(|l| l.trim() == command) {
        problems.push(format!(
            ".ci/run does not run the README's `{command}` on a line of its own"
        ));
    }
    let xtask = read("xtask/src/test.rs");
    for part in [
        r#"["fmt", "--all", "--check"]"#,
        "build.rustc-workspace-wrapper",
        "clippy-driver",
        "-Dwarnings",
    ] {
        if !xtask.contains(part) {
            problems.push(format!(
                "xtask/src/test.rs lost `{part}`: formatting or lints unchecked"
            ));
        }
    }
    let fence = Regex::new(r"^\s*//[/!]\s*```(\w*)").expect("regex");
    for dir in ["crates", "examples", "exercises", "xtask", "tests"] {
        for path in files_with_extension(&root().join(dir), "rs") {
            let text = std::fs::read_to_string(&path).expect("a source file");
            let fences = text
                .lines()
                .enumerate()
                .filter_map(|(n, l)| Some((n, fence.captures(l)?)));
            // Opening fences are the even ones; one with no language is Rust to rustdoc.
            for (n, _) in fences
                .step_by(2)
                .filter(|(_, c)| !["text", "console"].contains(&&c[1]))
            {
                problems.push(format!(
                    "{}:{}: code in a doc comment, which nothing compiles",
                    path.display(),
                    n + 1
                ));
            }
        }
    }
    assert_none(problems);
}

/// `cargo book` and `cargo xtask build` build xtask alone (`cargo run -p xtask`), the test command
/// the whole workspace; a dependency of xtask that the workspace builds with more features is
/// compiled twice, and with it everything above it (libc lies under tokio and mdBook).
#[test]
fn every_dependency_of_xtask_is_built_once() {
    let features = |args: &[&str]| -> BTreeMap<String, BTreeSet<String>> {
        let tree = ["tree", "-f", "{p}|{f}", "--prefix", "none", "--offline"];
        let mut cargo = test_support::command(env!("CARGO"), &tree);
        cargo.args(args).current_dir(root());
        let out = test_support::run_command(cargo);
        out.assert_success();
        let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let stdout = out.stdout.replace(" (*)", "");
        for (package, list) in stdout.lines().filter_map(|l| l.split_once('|')) {
            let features = list.split(',').filter(|f| !f.is_empty()).map(str::to_owned);
            map.entry(package.to_owned()).or_default().extend(features);
        }
        map
    };
    let workspace = features(&["--workspace", "-e", "normal,build,dev"]);
    let alone = features(&["-p", "xtask", "-e", "normal,build"]);
    assert_none(alone.into_iter().filter_map(|(package, mine)| {
        let extra: Vec<&String> = workspace.get(&package)?.difference(&mine).collect();
        (!extra.is_empty()).then(|| {
            format!(
                "{package}: the workspace adds {extra:?}: turn them on in xtask/Cargo.toml too, \
                 or `cargo book` after a test run compiles them again"
            )
        })
    }));
}

/// The appendix about the test machinery, and the list of example crates: the only pages that
/// may talk about how the book is tested.
const MACHINERY_PAGES: [&str; 2] = ["verification.md", "examples.md"];

/// Prose outside code blocks, line by line, with the line's number.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut in_code = false;
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        in_code ^= line.trim_start().starts_with("```");
        if !in_code && !line.trim_start().starts_with("```") {
            lines.push((i + 1, line));
        }
    }
    lines
}

/// The rules of the prose; each failure says why.
#[test]
fn the_prose_keeps_the_book_rules() {
    let tools = Regex::new(r"(?i)\b(setpriv|prlimit|nobody|trybuild|snapbox)\b").expect("regex");
    let test_talk = r"(?i)\b(the|its|a|this|each|our) (integration )?tests?\b|\btest suite\b";
    let test_talk = Regex::new(test_talk).expect("regex");
    let device = r"(?i)\busual (textbook )?(summary|table|comparison)|\bmore precisely\b";
    let device = Regex::new(device).expect("regex");
    let path = Regex::new(r"`((?:examples|crates|tests|xtask|theme)/[^`\s]*)`").expect("regex");
    let span = Regex::new(r"`([^`]+)`").expect("regex");
    let examples = root().join("examples");
    let snapshots = [
        files_with_extension(&examples, "txt"),
        files_with_extension(&examples, "stderr"),
    ];
    let outputs: String = snapshots
        .concat()
        .iter()
        .map(|f| std::fs::read_to_string(f).expect("a snapshot"))
        .collect();
    let mut problems = Vec::new();
    for page in pages() {
        let rel = page.rel.to_string_lossy();
        let machinery = MACHINERY_PAGES.contains(&&*rel);
        let (prose, mut pointers, mut opening) = (prose_lines(&page.text), Vec::new(), true);
        for &(n, line) in &prose {
            opening &= !line.starts_with("## ");
            if let Some(m) = tools.find(line).filter(|_| !machinery) {
                problems.push(format!("{rel}:{n}: names the test tool {:?}: chapters talk about the operating system, and verification.md about the tests", m.as_str()));
            }
            if test_talk.is_match(line) && !machinery {
                pointers.push(n);
            }
            if let Some(m) = device
                .find(line)
                .filter(|_| !opening && rel != "at-a-glance.md")
            {
                problems.push(format!("{rel}:{n}: {:?} outside the chapter's opening: a chapter corrects the usual summary once, where it starts, then explains", m.as_str()));
            }
            for c in path
                .captures_iter(line)
                .filter(|c| !root().join(&c[1]).exists())
            {
                problems.push(format!(
                    "{rel}:{n}: names `{}`, which does not exist",
                    &c[1]
                ));
            }
        }
        if pointers.len() > 1 {
            problems.push(format!("{rel}: talks about the tests on lines {pointers:?}: keep one pointer to verification.md, where the method is explained"));
        }
        // Output quoted in the prose, a code span with ": " (`…` marks an omission), is real.
        let prose: Vec<&str> = prose.iter().map(|(_, l)| l.trim()).collect();
        for c in span
            .captures_iter(&prose.join(" "))
            .filter(|c| c[1].contains(": "))
        {
            if c[1]
                .split('…')
                .map(str::trim)
                .any(|p| !p.is_empty() && !outputs.contains(p))
            {
                problems.push(format!(
                    "{rel}: `{}` is in no output snapshot: quote the real output",
                    &c[1]
                ));
            }
        }
    }
    assert_none(problems);
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
    let listed: BTreeSet<String> = read("src/verification.md")
        .lines()
        .filter(|l| l.starts_with("| `["))
        .flat_map(|l| {
            let cell = l.split('|').nth(1).unwrap_or_default();
            cell.split(',')
                .map(|p| p.trim().trim_matches('`').to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    let unlisted: Vec<_> = used.difference(&listed).collect();
    let unused: Vec<_> = listed.difference(&used).collect();
    assert!(
        unlisted.is_empty() && unused.is_empty(),
        "verification.md's placeholder table: outputs use {unlisted:?} that it does not list; it \
         lists {unused:?} that no output uses"
    );
}

/// Every exercise of `exercises::EXERCISES` is a crate under `exercises/` with its one-line
/// test, a section on the exercises page that links to the section it practises, a solution on
/// the last page, and a link back from the section it practises; the page starts by unpacking
/// the examples tarball.
#[test]
fn every_exercise_links_to_its_section_and_back() {
    // The text of the section that starts with `heading`, up to the next of its level.
    let section = |text: &str, heading: &str| -> Option<String> {
        let start = text.lines().position(|l| l == heading)?;
        let body: Vec<&str> = text
            .lines()
            .skip(start + 1)
            .take_while(|l| !l.starts_with("## "))
            .collect();
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
    let (file, folder) = (xtask::tarball::FILE_NAME, xtask::tarball::FOLDER);
    let unpack = format!("$ tar -xzf {file}\n$ cd {folder}\n$ cargo exercises\n");
    if !page.contains(&unpack) {
        problems.push(format!("exercises.md does not start with\n{unpack}"));
    }
    assert_none(problems);
}
