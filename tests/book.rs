//! Book-wide checks. Each reads the Markdown sources or the one HTML build this binary makes
//! (under `target/tmp/`), and names every offending file, and what to do, in its failure message.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use book_checks::{Built, built, files_with_extension, pages, root};
use regex::Regex;
use scraper::{Html, Selector};
use xtask::build::DOWNLOADS;

fn book() -> &'static Built {
    built(Path::new(concat!(env!("CARGO_TARGET_TMPDIR"), "/book")))
}

fn read(path: impl AsRef<Path>) -> String {
    let path = root().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid regex")
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
        let drawn = read(format!("src/{page}")).matches("\n```mermaid").count();
        let promised = DIAGRAMS.iter().filter(|(p, _)| p == page).count();
        let wanted = format!("{page} should have {promised} diagrams, the {what} among them");
        (drawn < promised).then_some(wanted)
    }));
}

/// The ten aspects of the comparison table in the source texts, in the table's order.
const ASPECTS: &str = "Definition, Memory space, Resource sharing, Creation time, Context switching, \
                       Communication, Overhead, Crash impact, Synchronization, Use cases";

/// A row per aspect, in the source texts' order: its name links to the one chapter that explains
/// it, and the process's and the thread's cells are verdicts of at most 14 words, without links.
#[test]
fn the_comparison_table_gives_each_aspect_a_short_verdict_and_one_link() {
    let text = read("src/at-a-glance.md");
    let row = re(r"(?m)^\| \[\*\*([^*]+)\*\*\]\(([^)#]+)[^)]*\) \| (.+) \| (.+) \|$");
    let rows: Vec<_> = row.captures_iter(&text).collect();
    let aspects: Vec<&str> = rows.iter().map(|r| r.get(1).expect("a name").as_str()).collect();
    let aspects = aspects.join(", ");
    let mut problems = Vec::new();
    if !text.contains("\n| Aspect | Process | Thread |\n") || aspects != ASPECTS {
        let form = "| Aspect | Process | Thread |, then `| [**ASPECT**](CHAPTER) | … | … |`";
        problems.push(format!("the rows are {aspects}; expected {ASPECTS} in the form {form}"));
    }
    for r in &rows {
        if !root().join("src").join(&r[2]).is_file() {
            problems.push(format!("{}: links to {}, not a chapter", &r[1], &r[2]));
        }
        for cell in [&r[3], &r[4]] {
            if cell.split_whitespace().count() > 14 || cell.contains("](") {
                problems.push(format!("{}: not a verdict of 14 words: {cell:?}", &r[1]));
            }
        }
    }
    assert_none(problems);
}

/// What chapters other than Cost say about the reference run (examples/costs/reference/), one
/// claim a line: the page | its words | a row's median / another's | the range the words allow
/// (an empty end is open). The range is what the words say, exactly: "3–8×" is 3..8. A range
/// that leaves out 1 claims a difference, which the trials must also show, by the rule the Cost
/// pages' words follow (`costs::claims::differ`). A claim repeated on several lines must hold
/// for each.
const REFERENCE_CLAIMS: &str = "
at-a-glance.md | `fork`: 3–8× a thread's | creation-fork-wait-unpinned / creation-thread-spawn-unpinned | 3..8
at-a-glance.md | `fork`: 3–8× a thread's | creation-fork-wait-pinned / creation-thread-spawn-pinned | 3..8
at-a-glance.md | starting a program 16–51× | creation-posix-spawn-unpinned / creation-thread-spawn-unpinned | 16..51
at-a-glance.md | starting a program 16–51× | creation-posix-spawn-pinned / creation-thread-spawn-pinned | 16..51
at-a-glance.md | starting a program 16–51× | creation-fork-exec-unpinned / creation-thread-spawn-unpinned | 16..51
at-a-glance.md | starting a program 16–51× | creation-fork-exec-pinned / creation-thread-spawn-pinned | 16..51
at-a-glance.md | Within 30 % of a thread's | switch-pipe-processes-pinned / switch-pipe-threads-pinned | 0.7..1.3
at-a-glance.md | Within 30 % of a thread's | switch-pipe-processes-unpinned / switch-pipe-threads-unpinned | 0.7..1.3
at-a-glance.md | adds 2.8–5.5× a thread's memory | memory-process-private / memory-thread | 2.8..5.5
at-a-glance.md | adds 2.8–5.5× a thread's memory | scaling-processes-1 / scaling-threads-1 | 2.8..5.5
at-a-glance.md | adds 2.8–5.5× a thread's memory | scaling-processes-10 / scaling-threads-10 | 2.8..5.5
at-a-glance.md | adds 2.8–5.5× a thread's memory | scaling-processes-100 / scaling-threads-100 | 2.8..5.5
at-a-glance.md | adds 2.8–5.5× a thread's memory | scaling-processes-1000 / scaling-threads-1000 | 2.8..5.5
communication.md | more than ten times as fast | latency-pipe-processes / latency-shm-processes | 10..
communication.md | more than ten times as fast | throughput-shm-processes / throughput-pipe-processes | 10..
communication.md | took longer than a pipe round trip | switch-condvar-threads-pinned / switch-pipe-processes-pinned | 1..
communication/shared-memory.md | more than ten times as many bytes | throughput-shm-processes / throughput-pipe-processes | 10..
communication/message-queues.md | between half and twice a pipe's | latency-mq-processes / latency-pipe-processes | 0.5..2
communication/message-queues.md | more bytes per second than a pipe | throughput-mq-processes / throughput-pipe-processes | 1..
";

#[test]
fn what_the_chapters_say_about_the_reference_run_holds() {
    let json = read("examples/costs/reference/reference.json");
    let report = costs::Report::from_json(&json).expect("reference.json parses");
    let claim = re(r"(?m)^(\S+) \| (.+) \| (\S+) / (\S+) \| ([\d.]+)\.\.([\d.]*)$");
    let claims: Vec<_> = claim.captures_iter(REFERENCE_CLAIMS).collect();
    assert_eq!(claims.len(), REFERENCE_CLAIMS.trim().lines().count(), "a claim not in the form");
    let mut problems = Vec::new();
    for c in claims {
        let (page, words, top, bottom) = (&c[1], &c[2], &c[3], &c[4]);
        let (low, high) = (c[5].parse().expect("a number"), c[6].parse().unwrap_or(f64::INFINITY));
        let text = read(format!("src/{page}")).split_whitespace().collect::<Vec<_>>().join(" ");
        if !text.contains(words) {
            problems.push(format!("{page} no longer says {words:?}: remove its line here"));
        }
        let Some((a, b)) = report.row(top).zip(report.row(bottom)) else {
            problems.push(format!("{page}: reference.json has no row {top} or {bottom}"));
            continue;
        };
        let ratio = a.median / b.median;
        if !(low..=high).contains(&ratio) {
            problems.push(format!(
                "{page} says {words:?}, but {top} / {bottom} = {ratio:.2} is outside \
                 {low}..{high}: reword the chapter"
            ));
        } else if (low >= 1.0 || high <= 1.0) && !costs::differ(a, b) {
            problems.push(format!(
                "{page} says {words:?}, a difference, but the trials of {top} and {bottom} \
                 overlap: reword the chapter"
            ));
        }
    }
    assert_none(problems);
}

/// Every internal link and `#fragment` resolves; nothing is fetched from another host, in HTML or
/// CSS (the book works offline, `file://` included); no page loads mermaid or shows an undrawn
/// diagram (they are drawn at build time); repository links go only to `GITHUB_REPOSITORY`.
#[test]
fn the_built_pages_link_within_the_book_and_fetch_nothing_from_elsewhere() {
    let dir = book().dir.canonicalize().expect("the built book");
    let parse = |path: PathBuf| {
        let html = Html::parse_document(&std::fs::read_to_string(&path).expect("a page"));
        (path.canonicalize().expect("a page"), html)
    };
    let pages: BTreeMap<PathBuf, Html> =
        files_with_extension(&dir, "html").into_iter().map(parse).collect();
    let select = |css| Selector::parse(css).expect("a selector");
    let (with_id, urls) = (select("[id], a[name]"), select("[href], [src], [data]"));
    let undrawn = select("code.language-mermaid, pre.mermaid");
    let repository = xtask::build::repository_url().expect("a valid GITHUB_REPOSITORY");
    let remote = re(r"^(?i)\s*(https?:|//)");
    let mut problems = BTreeSet::new();
    for (path, html) in &pages {
        let here = path.strip_prefix(&dir).expect("in the book").to_string_lossy();
        if html.select(&undrawn).next().is_some() {
            problems.insert(format!("{here}: a mermaid block left undrawn"));
        }
        for e in html.select(&urls).map(|e| e.value()) {
            let url = e.attr("href").or(e.attr("src")).or(e.attr("data"));
            let (url, name) = (url.unwrap_or_default(), e.name());
            let ours = repository.as_ref().is_some_and(|r| url.starts_with(r));
            if name == "script" && url.contains("mermaid") {
                problems.insert(format!("{here}: loads {url}: diagrams are drawn at build time"));
            } else if remote.is_match(url) && name != "a" && e.attr("rel") != Some("canonical") {
                problems.insert(format!("{here}: <{name} {url:?}> is fetched from the network"));
            } else if !ours
                && (url.contains("github.com") && url.contains("/edit/")
                    || e.attr("title") == Some("Git repository"))
            {
                problems.insert(format!("{here}: links to {url}, not GITHUB_REPOSITORY"));
            }
            // 404.html is served from any depth and links from the site's root; the PDF, EPUB
            // and tarball are added after the build, and their own tests check them.
            let elsewhere = remote.is_match(url) || url.starts_with("mailto:");
            if url.is_empty() || elsewhere || here == "404.html" || DOWNLOADS.contains(&url) {
                continue;
            }
            let (file, fragment) = url.split_once('#').unwrap_or((url, ""));
            let file = match file.split('?').next().unwrap_or_default() {
                "" => path.clone(),
                file => path.parent().expect("a folder").join(file),
            };
            let file = if file.is_dir() { file.join("index.html") } else { file };
            let Ok(target) = file.canonicalize() else {
                problems.insert(format!("{here}: link to missing {url}"));
                continue;
            };
            let ids = pages.get(&target).map(|html| {
                let ids = html.select(&with_id).map(|e| e.value());
                ids.filter_map(|e| e.attr("id").or(e.attr("name"))).any(|id| id == fragment)
            });
            if !fragment.is_empty() && ids != Some(true) {
                problems.insert(format!("{here}: link to {url}: no id {fragment:?} there"));
            }
        }
    }
    let css_url = re(r#"(?i)(?:url\(\s*['"]?|@import\s+['"])(https?:|//)"#);
    for path in files_with_extension(&dir, "css") {
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
    let readme = read("README.md");
    let command = re(r"(?m)^\$?\s*(cargo (?:xtask )?test[^\n`]*)$").captures(&readme);
    let command = command.expect("README.md gives its test command on a line of its own");
    let command = command[1].trim();
    let mut problems = Vec::new();
    if !read(".ci/run").lines().any(|l| l.trim() == command) {
        problems
            .push(format!(".ci/run does not run the README's `{command}` on a line of its own"));
    }
    let xtask = read("xtask/src/test.rs");
    let parts = [r#"["fmt", "--all", "--check"]"#, "rustc-workspace-wrapper", "clippy-driver"];
    for part in parts.into_iter().chain(["-Dwarnings"]).filter(|p| !xtask.contains(p)) {
        problems.push(format!("xtask/src/test.rs lost `{part}`: formatting or lints unchecked"));
    }
    let fence = re(r"^\s*//[/!]\s*```(\w*)");
    for dir in ["crates", "examples", "exercises", "xtask", "tests"] {
        for path in files_with_extension(&root().join(dir), "rs") {
            let text = read(&path);
            let fences =
                text.lines().enumerate().filter_map(|(n, l)| Some((n, fence.captures(l)?)));
            // Opening fences are the even ones; one with no language is Rust to rustdoc.
            for (n, _) in fences.step_by(2).filter(|(_, c)| !["text", "console"].contains(&&c[1])) {
                let at = format!("{}:{}", path.display(), n + 1);
                problems.push(format!("{at}: code in a doc comment, which nothing compiles"));
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
        let turn_on = "turn them on in xtask/Cargo.toml too, or `cargo book` after a test run \
                       compiles them again";
        (!extra.is_empty()).then(|| format!("{package}: the workspace adds {extra:?}: {turn_on}"))
    }));
}

const OS_NOT_TESTS: &str = "chapters talk about the operating system, and point once to \
                            verification.md for how the book is tested";
const ONE_REBUTTAL: &str =
    "a chapter corrects the usual summary once, where it opens, then explains";

/// The rules of the prose outside code blocks; each failure says why.
#[test]
fn the_prose_keeps_the_book_rules() {
    let tools = re(r"(?i)\b(setpriv|prlimit|nobody|trybuild|snapbox)\b");
    let test_talk = re(r"(?i)\b(the|its|a|this|each|our) (integration )?tests?\b|\btest suite\b");
    let device = re(r"(?i)\busual (textbook )?(summary|table|comparison)|\bmore precisely\b");
    let path = re(r"`((?:examples|crates|tests|xtask|theme)/[^`\s]*)`");
    let span = re(r"`([^`]+)`");
    let examples = root().join("examples");
    let snapshots =
        [files_with_extension(&examples, "txt"), files_with_extension(&examples, "stderr")];
    let outputs: String = snapshots.concat().into_iter().map(read).collect();
    let mut problems = Vec::new();
    for page in pages() {
        let rel = page.rel.to_string_lossy();
        // The test appendix and the list of examples are where the book talks about its tests.
        let machinery = ["verification.md", "examples.md"].contains(&&*rel);
        let (mut code, mut opening, mut pointers, mut prose) =
            (false, true, Vec::new(), Vec::new());
        for (n, line) in (1..).zip(page.text.lines()) {
            let fence = line.trim_start().starts_with("```");
            code ^= fence;
            if code || fence {
                continue;
            }
            prose.push(line.trim());
            opening &= !line.starts_with("## ");
            if let Some(m) = tools.find(line).filter(|_| !machinery) {
                let tool = m.as_str();
                problems.push(format!("{rel}:{n}: names the test tool {tool:?}: {OS_NOT_TESTS}"));
            }
            if test_talk.is_match(line) && !machinery {
                pointers.push(n);
            }
            if let Some(m) = device.find(line).filter(|_| !opening && rel != "at-a-glance.md") {
                let device = m.as_str();
                problems.push(format!("{rel}:{n}: {device:?} past the opening: {ONE_REBUTTAL}"));
            }
            for c in path.captures_iter(line).filter(|c| !root().join(&c[1]).exists()) {
                problems.push(format!("{rel}:{n}: names `{}`, which does not exist", &c[1]));
            }
        }
        if pointers.len() > 1 {
            problems.push(format!("{rel}: tests named on lines {pointers:?}: {OS_NOT_TESTS}"));
        }
        // Output quoted in the prose, a code span with ": " (`…` marks an omission), is real.
        for c in span.captures_iter(&prose.join(" ")).filter(|c| c[1].contains(": ")) {
            if c[1].split('…').map(str::trim).any(|p| !p.is_empty() && !outputs.contains(p)) {
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
    let placeholder = re(r"\[[A-Z]+\]");
    let snapshots = files_with_extension(&root().join("examples"), "txt");
    let outputs: String = snapshots.into_iter().map(read).collect();
    let used: BTreeSet<&str> = placeholder.find_iter(&outputs).map(|m| m.as_str()).collect();
    let page = read("src/verification.md");
    let cells = page.lines().filter(|l| l.starts_with("| `[")).filter_map(|l| l.split('|').nth(1));
    let listed: BTreeSet<&str> =
        cells.flat_map(|c| placeholder.find_iter(c)).map(|m| m.as_str()).collect();
    let (unlisted, unused) = (used.difference(&listed), listed.difference(&used));
    let (unlisted, unused): (Vec<_>, Vec<_>) = (unlisted.collect(), unused.collect());
    assert!(
        unlisted.is_empty() && unused.is_empty(),
        "verification.md's table of placeholders: the outputs use {unlisted:?}, which it does not \
         explain; it lists {unused:?}, which no output uses"
    );
}

/// Every exercise of `exercises::EXERCISES` is a crate under `exercises/` with its one-line test,
/// a section on the exercises page that links to the section it practises, a solution on the last
/// page, and a link back from the section it practises; the page starts by unpacking the tarball.
#[test]
fn every_exercise_links_to_its_section_and_back() {
    // The Markdown of the section that starts with `heading`, up to the next of its level.
    let section = |text: &str, heading: &str| -> Option<String> {
        let start = text.lines().position(|l| l == heading)?;
        let body = text.lines().skip(start + 1).take_while(|l| !l.starts_with("## "));
        Some(body.collect::<Vec<_>>().join("\n"))
    };
    let (page, solutions) = (read("src/exercises.md"), read("src/solutions.md"));
    let mut problems = Vec::new();
    let folders = std::fs::read_dir(root().join("exercises")).expect("exercises/").flatten();
    let folders =
        folders.filter(|e| e.path().join("Cargo.toml").is_file() && e.file_name() != "check");
    let crates: BTreeSet<String> =
        folders.map(|e| e.file_name().to_string_lossy().into()).collect();
    let table: BTreeSet<String> = exercises::EXERCISES.iter().map(|e| e.name.into()).collect();
    if crates != table {
        problems.push(format!("exercises/ holds {crates:?}, EXERCISES lists {table:?}"));
    }
    for e in &exercises::EXERCISES {
        let name = e.name;
        if !read(format!("exercises/{name}/tests/check.rs"))
            .contains(&format!("verify!(\"{name}\", "))
        {
            problems.push(format!("exercises/{name}/tests/check.rs does not verify!({name:?})"));
        }
        let body = section(&page, &format!("## {name}")).unwrap_or_default();
        if !body.contains(&format!("]({})", e.practises)) {
            problems.push(format!(
                "exercises.md has no section `## {name}` linking to {}",
                e.practises
            ));
        }
        if section(&solutions, &format!("## {name}")).is_none() {
            problems.push(format!("solutions.md has no section `## {name}`"));
        }
        // The practised section in the built page, from its heading to the next.
        let (chapter, fragment) = e.practises.split_once('#').expect("FILE#FRAGMENT");
        let html = std::fs::read_to_string(book().dir.join(chapter).with_extension("html"));
        let html = html.unwrap_or_default();
        let mut sections = html.split("<h2");
        let practised = sections.find(|s| s.starts_with(&format!(" id=\"{fragment}\"")));
        if !practised.is_some_and(|s| s.contains(&format!("exercises.html#{name}\""))) {
            problems.push(format!("{} does not link back to exercises.md#{name}", e.practises));
        }
    }
    let (file, folder) = (xtask::tarball::FILE_NAME, xtask::tarball::FOLDER);
    let unpack = format!("$ tar -xzf {file}\n$ cd {folder}\n$ cargo exercises\n");
    if !page.contains(&unpack) {
        problems.push(format!("exercises.md does not start with\n{unpack}"));
    }
    assert_none(problems);
}
