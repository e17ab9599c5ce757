//! "Predict, then check": the questions at the end of each chapter, and the mdBook preprocessor
//! that puts them there.
//!
//! The questions live in `questions.toml` at the repository root, one `[[question]]` table each:
//! the chapter, the question, the file its answer comes from (an output snapshot, a trybuild
//! `.stderr`, a program's source with its own checks) and a regular expression whose first
//! capture group IS the answer. Nothing in the Markdown or in `questions.toml` states an answer:
//! the preprocessor computes each one from its file at build time, and shows the lines it came
//! from. `reviewed` records the answer a person last checked the question against; the test
//! `tests/questions.rs` recomputes every answer and fails when one differs from it (the
//! question may no longer make sense) or can no longer be computed at all.
//!
//! The in-process build (`xtask::build`) registers [`Questions`] directly; the stock
//! `mdbook build` runs the same code through `cargo xtask questions-preprocessor`
//! (`[preprocessor.questions]` in book.toml).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use mdbook_preprocessor::book::{Book, BookItem};
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};
use regex::{Regex, RegexBuilder};
use serde::Deserialize;

/// Where the questions are, relative to the repository root.
pub const FILE: &str = "questions.toml";

/// The heading the questions go under, just before `## Run it`.
pub const HEADING: &str = "Predict, then check";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    question: Vec<Question>,
}

/// One question, as written in `questions.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// The chapter, relative to `src/` (e.g. `memory.md`).
    pub chapter: PathBuf,
    /// The question, in Markdown.
    pub ask: String,
    /// The file the answer is computed from, relative to the repository root.
    pub from: PathBuf,
    /// A regular expression (multi-line mode: `^`/`$` match at line ends) searched in `from`. Its
    /// first capture group is the answer, unless `count` is set.
    pub find: String,
    /// If true, the answer is the number of lines `find` matches instead.
    #[serde(default)]
    pub count: bool,
    /// A sentence around the answer, with `{}` where the answer goes (e.g. "No: {}").
    /// Default: the answer alone.
    #[serde(default)]
    pub say: Option<String>,
    /// The answer this question was last reviewed against: the test fails when the computed
    /// answer differs, so that someone rereads the question.
    pub reviewed: String,
}

/// An answer computed from its source.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The answer itself (a capture, or a count of lines).
    pub value: String,
    /// The whole lines of the source the answer was read from.
    pub evidence: Vec<String>,
}

/// Reads `questions.toml` under `root`.
pub fn load(root: &Path) -> Result<Vec<Question>> {
    let path = root.join(FILE);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let file: File =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(file.question)
}

impl Question {
    /// Computes the answer from the source file under `root`.
    pub fn answer(&self, root: &Path) -> Result<Answer> {
        let path = root.join(&self.from);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "the answer to {:?} comes from {}, which cannot be read",
                self.ask,
                self.from.display()
            )
        })?;
        let re = RegexBuilder::new(&self.find)
            .multi_line(true)
            .build()
            .with_context(|| format!("the pattern {:?} is not a regular expression", self.find))?;
        if self.count {
            let lines: Vec<String> = text
                .lines()
                .filter(|l| re.is_match(l))
                .map(str::to_owned)
                .collect();
            if lines.is_empty() {
                bail!(
                    "no line of {} matches {:?} (the answer to {:?})",
                    self.from.display(),
                    self.find,
                    self.ask
                );
            }
            return Ok(Answer {
                value: lines.len().to_string(),
                evidence: lines,
            });
        }
        let Some(caps) = re.captures(&text) else {
            bail!(
                "{} no longer contains {:?}, where the answer to {:?} was",
                self.from.display(),
                self.find,
                self.ask
            );
        };
        let Some(value) = caps.get(1) else {
            bail!("the pattern {:?} has no capture group", self.find);
        };
        let whole = caps.get(0).expect("the whole match");
        let start = text[..whole.start()].rfind('\n').map_or(0, |i| i + 1);
        let end = text[whole.end()..]
            .find('\n')
            .map_or(text.len(), |i| whole.end() + i);
        Ok(Answer {
            value: value.as_str().trim().to_owned(),
            evidence: text[start..end].lines().map(str::to_owned).collect(),
        })
    }

    /// The answer as the reader sees it: `say` with the answer in place of `{}`.
    pub fn sentence(&self, answer: &Answer) -> String {
        let value = format!("**{}**", escape_markdown(&answer.value));
        match &self.say {
            Some(say) => say.replacen("{}", &value, 1),
            None => format!("{value}."),
        }
    }
}

/// The Markdown inserted into a chapter for its questions: a heading, then each question
/// followed by its answer inside a `<details>` element (closed in the browser, opened for
/// print by theme/reader.js, readable without JavaScript).
pub fn render(root: &Path, questions: &[&Question]) -> (String, Vec<String>) {
    let mut out = format!("## {HEADING}\n\n");
    out.push_str(
        "Decide on an answer before you open it; each answer is read from the example's real \
         output or the compiler's message when the book is built.\n\n",
    );
    let mut problems = Vec::new();
    for (n, question) in questions.iter().enumerate() {
        let n = n + 1;
        let _ = writeln!(out, "**Question {n}.** {}\n", question.ask.trim());
        out.push_str("<details class=\"answer\">\n<summary>Answer ");
        let _ = write!(out, "{n}");
        out.push_str("</summary>\n\n");
        match question.answer(root) {
            Ok(answer) => {
                let _ = writeln!(out, "{}\n", question.sentence(&answer));
                let _ = writeln!(
                    out,
                    "From `{}`:\n\n```text\n{}\n```\n",
                    question.from.display(),
                    answer.evidence.join("\n")
                );
            }
            Err(e) => {
                let _ = writeln!(out, "(This answer could not be computed: {e:#}.)\n");
                problems.push(format!("{e:#}"));
            }
        }
        out.push_str("</details>\n\n");
    }
    (out, problems)
}

/// Inserts `section` before the chapter's last `## Run it` heading (or at its end).
pub fn insert(content: &str, section: &str) -> String {
    static RUN_IT: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let re = RUN_IT.get_or_init(|| Regex::new(r"(?m)^## Run it\s*$").expect("regex"));
    match re.find_iter(content).last() {
        Some(m) => format!(
            "{}{section}{}",
            &content[..m.start()],
            &content[m.start()..]
        ),
        None => format!("{}\n\n{section}", content.trim_end()),
    }
}

fn escape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\`*_[]<>#|".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The preprocessor: adds each chapter's questions before its `## Run it`.
pub struct Questions;

impl Preprocessor for Questions {
    fn name(&self) -> &str {
        "questions"
    }

    fn run(
        &self,
        ctx: &PreprocessorContext,
        mut book: Book,
    ) -> mdbook_preprocessor::errors::Result<Book> {
        let root = &ctx.root;
        let questions = load(root)?;
        let mut by_chapter: BTreeMap<&Path, Vec<&Question>> = BTreeMap::new();
        for q in &questions {
            by_chapter.entry(q.chapter.as_path()).or_default().push(q);
        }
        let mut placed = Vec::new();
        book.for_each_mut(|item| {
            let BookItem::Chapter(chapter) = item else {
                return;
            };
            let Some(path) = chapter.source_path.as_deref() else {
                return;
            };
            let Some(qs) = by_chapter.get(path) else {
                return;
            };
            let (section, problems) = render(root, qs);
            for p in problems {
                tracing::warn!("questions.toml, a question of {}: {p}", path.display());
            }
            chapter.content = insert(&chapter.content, &section);
            placed.push(path.to_owned());
        });
        // A chapter not (yet) in SUMMARY.md is no error here; tests/questions.rs checks that
        // every chapter named in questions.toml exists.
        for chapter in by_chapter.keys() {
            if !placed.iter().any(|p| p == chapter) {
                tracing::info!(
                    "{FILE} has questions for {}, which is not in SUMMARY.md",
                    chapter.display()
                );
            }
        }
        Ok(book)
    }
}

/// `cargo xtask questions-preprocessor [supports RENDERER]`: the same preprocessor for the stock
/// `mdbook` CLI, which sends the book as JSON on stdin and reads it back on stdout.
pub fn run_as_command(supports: Option<&str>) -> Result<()> {
    if supports.is_some() {
        // Every renderer: the inserted Markdown is plain.
        return Ok(());
    }
    let (ctx, book) =
        mdbook_preprocessor::parse_input(std::io::stdin()).map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let book = Questions
        .run(&ctx, book)
        .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    serde_json::to_writer(std::io::stdout(), &book).context("writing the book")?;
    Ok(())
}
