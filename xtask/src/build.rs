//! One build of the book, with every WARN/ERROR event mdBook logs collected so that callers (the
//! tests) can treat them as failures. mdbook-driver logs through `tracing` and says nothing
//! without a subscriber: a broken link would otherwise pass silently. An include whose file or
//! anchor is missing mdBook does not even log (it includes nothing), so the build checks every
//! include itself. Each problem is one line that names the file to fix.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use mdbook_driver::MDBook;
use mdbook_driver::config::Config;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};

/// What a build produced.
#[derive(Debug)]
pub struct Built {
    /// The rendered HTML book.
    pub dir: PathBuf,
    /// Every WARN or ERROR event logged during the build, formatted as one line each.
    pub warnings: Vec<String>,
}

impl Built {
    /// An error listing every warning, one a line, if there were any.
    pub fn fail_on_warnings(&self) -> Result<()> {
        match self.warnings.is_empty() {
            true => Ok(()),
            false => anyhow::bail!("{}", self.warnings.join("\n")),
        }
    }
}

/// Builds the book at `root` into `dest`. Log events at INFO and above are printed to stderr
/// when `verbose`; WARN and ERROR events are always collected into [`Built::warnings`].
pub fn build(root: &Path, dest: &Path, verbose: bool) -> Result<Built> {
    let collector = Collector::default();
    // INFO only: the warnings are the caller's to print, once.
    let printer = verbose.then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(false)
            .without_time()
            .with_filter(tracing_subscriber::filter::filter_fn(|m| {
                *m.level() == Level::INFO
            }))
    });
    let subscriber = tracing_subscriber::registry()
        .with(collector.clone())
        .with(printer);
    tracing::subscriber::with_default(subscriber, || -> Result<()> {
        let mut config = Config::from_disk(root.join("book.toml")).context("reading book.toml")?;
        config.set("build.build-dir", dest)?;
        if let Some(url) = repository_url()? {
            config.set("output.html.git-repository-url", &url)?;
            config.set(
                "output.html.edit-url-template",
                format!("{url}/edit/main/{{path}}"),
            )?;
        }
        let mut book = MDBook::load_with_config(root, config).context("loading the book")?;
        // Replace the `[preprocessor.diagrams]` and `[preprocessor.questions]` commands of
        // book.toml with the same code, in-process.
        book.with_preprocessor(crate::diagrams::Diagrams);
        book.with_preprocessor(crate::questions::Questions);
        // And `[preprocessor.examples]`: the examples page, from the crates.
        book.with_preprocessor(crate::examples::Examples);
        // mdBook empties the build folder first: keep the downloads made from an earlier build.
        let kept: Vec<(PathBuf, Vec<u8>)> = DOWNLOADS
            .iter()
            .map(|name| dest.join(name))
            .filter_map(|path| std::fs::read(&path).ok().map(|bytes| (path, bytes)))
            .collect();
        let built = book
            .build()
            .context("building the book")
            .and_then(|()| print_answers_at_chapter_ends(dest));
        for (path, bytes) in kept {
            std::fs::write(&path, bytes)
                .with_context(|| format!("putting back {}", path.display()))?;
        }
        built
    })?;
    let mut warnings = include_problems(root)?;
    warnings.extend(collector.0.lock().expect("collector lock").iter().cloned());
    Ok(Built {
        dir: dest.to_owned(),
        warnings,
    })
}

/// The files `cargo xtask pdf`, `tarball` and `epub` add to the built book, which a rebuild keeps.
pub const DOWNLOADS: [&str; 3] = [
    crate::pdf::FILE_NAME,
    crate::tarball::FILE_NAME,
    crate::epub::FILE_NAME,
];

/// The variable naming the book's GitHub repository as `owner/name`: the Pages workflow has it.
pub const REPOSITORY_VARIABLE: &str = "GITHUB_REPOSITORY";

/// `https://github.com/owner/name` from [`REPOSITORY_VARIABLE`], or `None` when it is unset or
/// empty (the book then links to no repository).
pub fn repository_url() -> Result<Option<String>> {
    let Some(value) = std::env::var_os(REPOSITORY_VARIABLE).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let value = value.to_string_lossy();
    let valid = value.split_once('/').is_some_and(|(owner, name)| {
        [owner, name].iter().all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
    });
    if !valid {
        anyhow::bail!("{REPOSITORY_VARIABLE} is {value:?}; expected owner/name, as on GitHub");
    }
    Ok(Some(format!("https://github.com/{value}")))
}

/// Rewrites the built `print.html` (every chapter on one page, the source of the PDF) with every
/// answer open: paper cannot open a `<details>`. The answers already stand at their chapter's end.
fn print_answers_at_chapter_ends(dest: &Path) -> Result<()> {
    let path = dest.join("print.html");
    let html =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    std::fs::write(&path, open_answers(&html))
        .with_context(|| format!("writing {}", path.display()))
}

/// `html` with each `<details class="answer">` (an answer, closed until the reader opens it)
/// made a `<div class="answer">` with its summary in bold and its id kept: for print.html and the
/// EPUB, where nothing opens.
pub fn open_answers(html: &str) -> String {
    static DETAILS: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let details = DETAILS.get_or_init(|| {
        regex::Regex::new(
            r#"(?s)<details class="answer"([^>]*)>\s*<summary>(.*?)</summary>(.*?)</details>"#,
        )
        .expect("a valid regex")
    });
    details
        .replace_all(
            html,
            r#"<div class="answer"$1><p><strong>$2</strong></p>$3</div>"#,
        )
        .into_owned()
}

/// A `tracing` layer that keeps the WARN and ERROR events.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<String>>>);

impl<S: Subscriber> Layer<S> for Collector {
    fn on_event(&self, event: &Event<'_>, _ctx: LayerContext<'_, S>) {
        let level = *event.metadata().level();
        if level > Level::WARN {
            return;
        }
        let mut line = String::new();
        event.record(&mut LineVisitor(&mut line));
        // One line: a regex error, say, spans several.
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        self.0.lock().expect("collector lock").push(line);
    }
}

struct LineVisitor<'a>(&'a mut String);

impl Visit for LineVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

/// `src/PAGE.md: {{#include FILE:ANCHOR}}: what is wrong`, for every include of a chapter whose
/// file is missing, whose anchor is missing, or that selects nothing.
fn include_problems(root: &Path) -> Result<Vec<String>> {
    let directive = regex::Regex::new(r"\{\{#(?:rustdoc_)?include\s+([^}\s]+)\s*\}\}")?;
    let mut problems = Vec::new();
    for path in crate::files_below(&root.join("src"))? {
        if path.extension().is_some_and(|e| e == "md") {
            let page = std::fs::read_to_string(&path)?;
            let shown = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .display()
                .to_string();
            for found in directive.captures_iter(&page) {
                let (file, selector) = match found[1].split_once(':') {
                    Some((file, selector)) => (file, Some(selector)),
                    None => (&found[1], None),
                };
                let target = path.parent().expect("a page has a folder").join(file);
                let problem = match std::fs::read_to_string(&target) {
                    Err(e) => Some(format!("cannot read {file}: {e}")),
                    Ok(text) => match selector {
                        // A line range (`10:20`, `:20`, `10:`): mdBook selects it.
                        Some(s) if s.chars().all(|c| c.is_ascii_digit() || c == ':') => None,
                        Some(anchor) => match anchor_text(&text, anchor) {
                            None => Some(format!(
                                "no ANCHOR: {anchor} … ANCHOR_END: {anchor} in {file}"
                            )),
                            Some(t) if t.trim().is_empty() => Some("it selects nothing".to_owned()),
                            Some(_) => None,
                        },
                        None if text.trim().is_empty() => Some(format!("{file} is empty")),
                        None => None,
                    },
                };
                if let Some(problem) = problem {
                    problems.push(format!("{shown}: {}: {problem}", &found[0]));
                }
            }
        }
    }
    problems.sort();
    Ok(problems)
}

/// The text an anchor selects in `source`, as mdBook includes it (anchor lines dropped), or
/// `None` when the anchor is missing.
pub fn anchor_text(source: &str, anchor: &str) -> Option<String> {
    let marker = |line: &str, kind: &str| {
        line.split(kind).nth(1).is_some_and(|rest| {
            rest.trim_start().strip_prefix(anchor).is_some_and(|after| {
                !after.starts_with(|c: char| c.is_alphanumeric() || c == '_' || c == '-')
            })
        })
    };
    let mut lines = source.lines();
    lines.by_ref().find(|l| marker(l, "ANCHOR:"))?;
    let mut body = Vec::new();
    for line in lines {
        if marker(line, "ANCHOR_END:") {
            return Some(body.join("\n"));
        }
        if !line.contains("ANCHOR:") && !line.contains("ANCHOR_END:") {
            body.push(line);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    /// A page whose include names an anchor the file lacks is one problem, naming the page.
    #[test]
    fn a_missing_anchor_is_a_problem_naming_its_page() {
        let root = std::env::temp_dir().join(format!("xtask-includes-{}", std::process::id()));
        std::fs::create_dir_all(root.join("src")).expect("a scratch book");
        let code = "// ANCHOR: here\nfn f() {}\n// ANCHOR_END: here\n";
        std::fs::write(root.join("code.rs"), code).expect("writing");
        let page = "{{#include ../code.rs:here}}\n{{#include ../code.rs:gone}}\n";
        std::fs::write(root.join("src/page.md"), page).expect("writing");
        let problems = super::include_problems(&root);
        std::fs::remove_dir_all(&root).expect("removing the scratch book");
        assert_eq!(
            problems.expect("readable"),
            [
                "src/page.md: {{#include ../code.rs:gone}}: no ANCHOR: gone … ANCHOR_END: gone in \
              ../code.rs"
            ]
        );
    }
}
