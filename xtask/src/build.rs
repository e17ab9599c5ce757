//! One build of the book, in-process, returning every WARN/ERROR event mdBook and the
//! preprocessors log (mdbook-driver logs through `tracing` and is silent without a subscriber) and
//! the problems of the chapters' sources that mdBook lets pass, one line each naming what to fix.

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use anyhow::{Context, Result};
use mdbook_driver::MDBook;
use mdbook_driver::config::Config;
use mdbook_preprocessor::book::BookItem;
use regex::Regex;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};

#[derive(Debug)]
pub struct Built {
    /// The rendered HTML book.
    pub dir: PathBuf,
    /// Every problem, WARN and ERROR events and then the chapters' sources.
    pub warnings: Vec<String>,
}

impl Built {
    pub fn fail_on_warnings(&self) -> Result<()> {
        match self.warnings.is_empty() {
            true => Ok(()),
            false => anyhow::bail!("{}", self.warnings.join("\n")),
        }
    }
}

/// Builds the book at `root` into `dest`, printing INFO events to stderr when `verbose`.
pub fn build(root: &Path, dest: &Path, verbose: bool) -> Result<Built> {
    let collector = Collector::default();
    // INFO only: the warnings are the caller's to print, once.
    let printer = tracing_subscriber::fmt::layer().without_time().with_target(false);
    let printer = printer.with_writer(std::io::stderr).with_filter(
        tracing_subscriber::filter::filter_fn(move |m| verbose && *m.level() == Level::INFO),
    );
    let subscriber = tracing_subscriber::registry().with(collector.clone()).with(printer);
    let listed = tracing::subscriber::with_default(subscriber, || -> Result<Vec<PathBuf>> {
        let mut config = Config::from_disk(root.join("book.toml")).context("reading book.toml")?;
        config.set("build.build-dir", dest)?;
        if let Some(url) = repository_url()? {
            config.set("output.html.git-repository-url", &url)?;
            config.set("output.html.edit-url-template", format!("{url}/edit/main/{{path}}"))?;
        }
        let mut book = MDBook::load_with_config(root, config).context("loading the book")?;
        let listed = book.book.iter().filter_map(|item| match item {
            BookItem::Chapter(c) => c.source_path.clone(),
            _ => None,
        });
        let listed = listed.collect();
        // The preprocessors book.toml runs as `cargo xtask preprocessor NAME`, in-process.
        book.with_preprocessor(crate::diagrams::Diagrams);
        book.with_preprocessor(crate::questions::Questions);
        book.with_preprocessor(crate::examples::Examples);
        // mdBook empties the build folder first: keep the downloads made from an earlier build.
        let kept: Vec<(PathBuf, Vec<u8>)> = DOWNLOADS
            .iter()
            .map(|name| dest.join(name))
            .filter_map(|path| std::fs::read(&path).ok().map(|bytes| (path, bytes)))
            .collect();
        let built = book.build().context("building the book");
        let built = built.and_then(|()| open_answers_in_print_html(dest));
        for (path, bytes) in kept {
            std::fs::write(&path, bytes)
                .with_context(|| format!("putting back {}", path.display()))?;
        }
        built.map(|()| listed)
    })?;
    let mut warnings = collector.0.lock().expect("the warnings").clone();
    warnings.extend(chapter_problems(root, &listed)?);
    Ok(Built { dir: dest.to_owned(), warnings })
}

/// The files `cargo xtask pdf`, `tarball` and `epub` add to the built book, which a rebuild keeps.
pub const DOWNLOADS: [&str; 3] =
    [crate::pdf::FILE_NAME, crate::tarball::FILE_NAME, crate::epub::FILE_NAME];

/// `https://github.com/owner/name` from `GITHUB_REPOSITORY` (the Pages workflow has it), or `None`
/// when it is unset or empty: the book then links to no repository.
pub fn repository_url() -> Result<Option<String>> {
    let Some(value) = std::env::var_os("GITHUB_REPOSITORY").filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let value = value.to_string_lossy();
    let part = |p: &str| {
        !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    if !value.split_once('/').is_some_and(|(owner, name)| part(owner) && part(name)) {
        anyhow::bail!("GITHUB_REPOSITORY is {value:?}; expected owner/name, as on GitHub");
    }
    Ok(Some(format!("https://github.com/{value}")))
}

/// Opens every answer in `print.html`, the source of the PDF: paper cannot open a `<details>`.
fn open_answers_in_print_html(dest: &Path) -> Result<()> {
    let path = dest.join("print.html");
    let html =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    std::fs::write(&path, open_answers(&html))
        .with_context(|| format!("writing {}", path.display()))
}

/// Each closed `<details class="answer">` as a `<div class="answer">`, its summary in bold and its
/// id kept: for print.html and the EPUB, where nothing opens.
pub fn open_answers(html: &str) -> String {
    static DETAILS: LazyLock<Regex> = LazyLock::new(|| {
        let details =
            r#"(?s)<details class="answer"([^>]*)>\s*<summary>(.*?)</summary>(.*?)</details>"#;
        Regex::new(details).expect("a valid regex")
    });
    let div = r#"<div class="answer"$1><p><strong>$2</strong></p>$3</div>"#;
    DETAILS.replace_all(html, div).into_owned()
}

/// A `tracing` layer that keeps each WARN and ERROR event as one line (a regex error, say, spans
/// several).
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<String>>>);

impl<S: Subscriber> Layer<S> for Collector {
    fn on_event(&self, event: &Event<'_>, _: LayerContext<'_, S>) {
        struct Line(String);
        impl tracing::field::Visit for Line {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                self.0 += &match f.name() {
                    "message" => format!(" {v:?}"),
                    name => format!(" {name}={v:?}"),
                };
            }
        }
        if *event.metadata().level() <= Level::WARN {
            let mut line = Line(String::new());
            event.record(&mut line);
            let line = line.0.split_whitespace().collect::<Vec<_>>().join(" ");
            self.0.lock().expect("the warnings").push(line);
        }
    }
}

/// What mdBook lets pass in the chapters' sources, one line each naming the page: a page that
/// SUMMARY.md does not list (it is not in the book), an include that shows nothing, and Rust
/// written into a chapter instead of included from a compiled crate.
fn chapter_problems(root: &Path, listed: &[PathBuf]) -> Result<Vec<String>> {
    static RUST: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?ms)^```rust[^\n]*\n(.*?)^```").expect("a valid regex"));
    let (src, mut problems) = (root.join("src"), Vec::new());
    for path in crate::files_below(&src)? {
        let rel = path.strip_prefix(&src)?;
        if path.extension().is_none_or(|e| e != "md") || rel == Path::new("SUMMARY.md") {
            continue;
        }
        let page = format!("src/{}", rel.display());
        let text = std::fs::read_to_string(&path)?;
        if !listed.iter().any(|l| l == rel) {
            problems.push(format!("{page}: not in src/SUMMARY.md, so not in the book"));
        }
        for include in crate::includes(&path, &text) {
            let file = include.file.strip_prefix(root);
            let file = file.unwrap_or(&include.file).display();
            let problem = match (std::fs::read_to_string(&include.file), &include.selector) {
                (Err(e), _) => format!("cannot read {file}: {e}"),
                // A line range (`10:20`, `:20`, `10:`): mdBook selects it.
                (_, Some(s)) if s.chars().all(|c| c.is_ascii_digit() || c == ':') => continue,
                (Ok(text), Some(anchor)) => match anchor_text(&text, anchor) {
                    None => format!("no `ANCHOR: {anchor}` … `ANCHOR_END: {anchor}` in {file}"),
                    Some(t) if t.trim().is_empty() => "it selects nothing".to_owned(),
                    Some(t) => match listing_problem(&include.file, &t) {
                        Some(problem) => problem,
                        None => continue,
                    },
                },
                (Ok(text), None) if text.trim().is_empty() => format!("{file} is empty"),
                (Ok(text), None) => match listing_problem(&include.file, &text) {
                    Some(problem) => problem,
                    None => continue,
                },
            };
            problems.push(format!("{page}: {}: {problem}", include.directive));
        }
        for block in RUST.captures_iter(&text) {
            let above = &text[..block.get(0).expect("a match").start()];
            let line = 1 + above.lines().count();
            let mut body = block[1].lines().map(str::trim);
            if let Some(code) = body.find(|l| !l.is_empty() && !l.starts_with("{{#")) {
                problems.push(format!(
                    "{page}:{line}: Rust written into the chapter ({code:?}): include it by \
                     ANCHOR from an example crate instead, so that it is compiled and tested"
                ));
            }
        }
    }
    problems.sort();
    Ok(problems)
}

/// A listing a reader takes in at once: at most this many lines of Rust in a row.
const LISTING_LINES: usize = 40;

/// What is wrong with `text`, included from `file`, as a listing: too long, if it is Rust.
fn listing_problem(file: &Path, text: &str) -> Option<String> {
    let lines = text.trim_end().lines().count();
    (file.extension().is_some_and(|e| e == "rs") && lines > LISTING_LINES).then(|| {
        format!(
            "a listing of {lines} lines: at most {LISTING_LINES}, so that it reads at once \
             (split it at an anchor, or move what is not the lesson into a function of its own)"
        )
    })
}

/// The lines an anchor selects in `source`, as mdBook includes them (lines naming an anchor left
/// out), or `None` without its `ANCHOR` and `ANCHOR_END`.
fn anchor_text(source: &str, anchor: &str) -> Option<String> {
    static NAME: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"ANCHOR(_END)?:\s*([\w-]+)").expect("a valid regex"));
    let is = |line: &str, end| {
        let found = NAME.captures(line);
        found.is_some_and(|c| c.get(1).is_some() == end && &c[2] == anchor)
    };
    let mut lines = source.lines();
    lines.by_ref().find(|l| is(l, false))?;
    let mut body = Vec::new();
    for line in lines {
        if is(line, true) {
            return Some(body.join("\n"));
        }
        body.extend((!NAME.is_match(line)).then_some(line));
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_chapter_problem_is_one_line_naming_its_page() {
        let root = std::env::temp_dir().join(format!("xtask-chapters-{}", std::process::id()));
        std::fs::create_dir_all(root.join("src")).expect("a scratch book");
        let long = "let x = 1;\n".repeat(41);
        let code = format!(
            "// ANCHOR: here\nfn f() {{}}\n// ANCHOR_END: here\n// ANCHOR: long\n{long}// ANCHOR_END: long\n"
        );
        std::fs::write(root.join("code.rs"), code).expect("writing");
        let page = "{{#include ../code.rs:here}}\n{{#include ../code.rs:gone}}\n\n```rust\n\
                    {{#include ../code.rs:here}}\nfn g() {}\n```\n{{#include ../code.rs:long}}\n";
        std::fs::write(root.join("src/page.md"), page).expect("writing");
        let problems = super::chapter_problems(&root, &[]);
        std::fs::remove_dir_all(&root).expect("removing the scratch book");
        assert_eq!(
            problems.expect("readable"),
            [
                "src/page.md: not in src/SUMMARY.md, so not in the book",
                "src/page.md: {{#include ../code.rs:gone}}: no `ANCHOR: gone` … `ANCHOR_END: \
                 gone` in code.rs",
                "src/page.md: {{#include ../code.rs:long}}: a listing of 41 lines: at most 40, \
                 so that it reads at once (split it at an anchor, or move what is not the lesson \
                 into a function of its own)",
                "src/page.md:4: Rust written into the chapter (\"fn g() {}\"): include it by \
                 ANCHOR from an example crate instead, so that it is compiled and tested",
            ]
        );
    }
}
