//! "Predict, then check": the questions of each chapter, and the mdBook preprocessor that puts
//! them there.
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
//! A question with an `id` is asked where the chapter has the marker `<!-- question: ID -->`,
//! before the output or listing that answers it, so that the reader predicts, reads on and
//! checks; one without is asked in the section `Predict, then check` before `## Run it`. That
//! section holds every answer, each in a closed `<details id="answer-N">`, so the answers come
//! after all the questions, on screen and on paper.
//!
//! The in-process build (`xtask::build`) registers [`Questions`] directly; the stock
//! `mdbook build` runs the same code through `cargo xtask preprocessor questions`
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

/// The heading of the answers (and of the questions asked at the end), just before `## Run it`.
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
    /// Where the chapter asks it: the marker `<!-- question: ID -->`. Without one, the question
    /// is asked at the end of the chapter.
    #[serde(default)]
    pub id: Option<String>,
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

/// The marker in a chapter where the question `id` is asked.
pub fn marker(id: &str) -> String {
    format!("<!-- question: {id} -->")
}

/// The chapter with its questions: each question with a marker in `content` replaces it, the
/// others and every answer go into a section before the last `## Run it` (or at the end).
/// Questions are numbered in the order the page asks them. Also returns the problems found: an
/// answer that cannot be computed, a marker missing or left over.
pub fn place(root: &Path, content: &str, questions: &[&Question]) -> (String, Vec<String>) {
    let mut problems = Vec::new();
    let ordered = in_page_order(content, questions);
    let mut content = content.to_owned();
    let mut at_end = String::new();
    let mut answers = String::new();
    for (n, question) in ordered.iter().enumerate() {
        let n = n + 1;
        let ask = format!("**Question {n}.** {}", question.ask.trim());
        match question.id.as_deref() {
            Some(id) if content.contains(&marker(id)) => {
                let asked = format!(
                    "<div class=\"question\" id=\"question-{n}\">\n\n{ask} \
                     [Answer {n}](#answer-{n})\n\n</div>"
                );
                content = content.replacen(&marker(id), &asked, 1);
            }
            other => {
                if let Some(id) = other {
                    problems.push(format!("the chapter has no marker {}", marker(id)));
                }
                let _ = writeln!(at_end, "<p id=\"question-{n}\"></p>\n\n{ask}\n");
            }
        }
        let _ = write!(
            answers,
            "<details class=\"answer\" id=\"answer-{n}\">\n<summary>Answer {n}</summary>\n\n"
        );
        match question.answer(root) {
            Ok(answer) => {
                let _ = writeln!(
                    answers,
                    "{} ([question {n}](#question-{n}))\n",
                    question.sentence(&answer)
                );
                let _ = writeln!(
                    answers,
                    "From `{}`:\n\n```text\n{}\n```\n",
                    question.from.display(),
                    answer.evidence.join("\n")
                );
            }
            Err(e) => {
                let _ = writeln!(answers, "(This answer could not be computed: {e:#}.)\n");
                problems.push(format!("{e:#}"));
            }
        }
        answers.push_str("</details>\n\n");
    }
    if let Some(left) = content.find("<!-- question: ") {
        let line = content[left..].lines().next().unwrap_or_default();
        problems.push(format!(
            "{line} names no question of this chapter in {FILE}"
        ));
    }
    let section = format!(
        "## {HEADING}\n\n{}{at_end}{answers}",
        if at_end.is_empty() {
            "The answers to the questions asked along the chapter. Decide on yours before you \
             open one: each is read from the example's real output or the compiler's message \
             when the book is built.\n\n"
        } else {
            "Decide on an answer before you open it; each answer is read from the example's real \
             output or the compiler's message when the book is built.\n\n"
        }
    );
    (insert(&content, &section), problems)
}

/// A chapter's questions in the order its page asks them (question N is the Nth): those with a
/// marker in `content` in the markers' order, then the others in `questions.toml`'s order.
pub fn in_page_order<'q>(content: &str, questions: &[&'q Question]) -> Vec<&'q Question> {
    let mut ordered = questions.to_vec();
    ordered.sort_by_key(|q| {
        q.id.as_deref()
            .and_then(|id| content.find(&marker(id)))
            .unwrap_or(usize::MAX)
    });
    ordered
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

/// The preprocessor: asks each chapter's questions at their markers, and puts the answers before
/// its `## Run it`.
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
            let (content, problems) = place(root, &chapter.content, qs);
            for p in problems {
                tracing::warn!("questions.toml, a question of {}: {p}", path.display());
            }
            chapter.content = content;
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
