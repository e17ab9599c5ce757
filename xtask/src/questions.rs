//! "Predict, then check": the questions of `questions.toml`, and the preprocessor that asks them.
//! Each answer is computed from its file at build time (a capture of `find`, or a count of
//! matching lines) and shown with the lines it came from; nothing states an answer by hand. A
//! question with an `id` is asked at its marker `<!-- question: ID -->`, before the output that
//! answers it; all answers go, closed, in a section just before `## Run it`. The build fails (one
//! line each, saying what to do) on an answer that cannot be computed or differs from `reviewed`,
//! has more than two significant figures, or is shown above its question; on a marker missing or
//! left over; and on a chapter that shows examples with fewer than two questions.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use anyhow::{Context, Result, bail};
use mdbook_preprocessor::book::{Book, BookItem};
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};
use regex::{Regex, RegexBuilder};
use serde::Deserialize;

/// Where the questions are, relative to the repository root.
pub const FILE: &str = "questions.toml";

/// Pages that show examples but ask nothing: the list of examples, the test and method appendices.
const NO_QUESTIONS: [&str; 3] = ["examples.md", "verification.md", "cost-method.md"];

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
    /// Relative to `src/`.
    pub chapter: PathBuf,
    /// Its marker's name; without one, the question is asked at the end of the chapter.
    #[serde(default)]
    pub id: Option<String>,
    /// In Markdown.
    pub ask: String,
    /// The file the answer is computed from, relative to the repository root.
    pub from: PathBuf,
    /// A multi-line regular expression whose first group is the answer, unless `count`.
    pub find: String,
    /// The answer is the number of lines `find` matches.
    #[serde(default)]
    pub count: bool,
    /// A sentence with `{}` where the answer goes; default: the answer alone.
    #[serde(default)]
    pub say: Option<String>,
    /// The answer a person last checked the question against.
    pub reviewed: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub value: String,
    /// The whole lines of the source the answer was read from.
    pub evidence: Vec<String>,
}

pub fn load(root: &Path) -> Result<Vec<Question>> {
    let path = root.join(FILE);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let file: File =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(file.question)
}

impl Question {
    /// Computes the answer from its file under `root`.
    pub fn answer(&self, root: &Path) -> Result<Answer> {
        let (from, find, ask) = (self.from.display(), &self.find, &self.ask);
        let text = std::fs::read_to_string(root.join(&self.from)).with_context(|| {
            format!("the answer to {ask:?} comes from {from}, which cannot be read")
        })?;
        let re = RegexBuilder::new(find)
            .multi_line(true)
            .build()
            .with_context(|| format!("the pattern {find:?} is not a regular expression"))?;
        if self.count {
            let lines: Vec<String> = text
                .lines()
                .filter(|l| re.is_match(l))
                .map(str::to_owned)
                .collect();
            if lines.is_empty() {
                bail!("no line of {from} matches {find:?} (the answer to {ask:?}): fix `find`");
            }
            let value = lines.len().to_string();
            return Ok(Answer {
                value,
                evidence: lines,
            });
        }
        let Some(caps) = re.captures(&text) else {
            bail!(
                "{from} no longer contains {find:?}, where the answer to {ask:?} was: fix `find` \
                 and reread the question"
            );
        };
        let (Some(whole), Some(value)) = (caps.get(0), caps.get(1)) else {
            bail!("the pattern {find:?} has no capture group");
        };
        let start = text[..whole.start()].rfind('\n').map_or(0, |i| i + 1);
        let end = text[whole.end()..]
            .find('\n')
            .map_or(text.len(), |i| whole.end() + i);
        let evidence = text[start..end].lines().map(str::to_owned).collect();
        Ok(Answer {
            value: value.as_str().trim().to_owned(),
            evidence,
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

/// The chapter with its questions asked (question N is the Nth the page asks: at markers first,
/// in their order) and its answers' section before the last `## Run it`; and the problems found.
pub fn place(root: &Path, content: &str, questions: &[&Question]) -> (String, Vec<String>) {
    static RUN_IT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?m)^## Run it\s*$").expect("a valid regex"));
    let run_it = RUN_IT
        .find_iter(content)
        .last()
        .map_or(content.len(), |m| m.start());
    let at = |q: &Question| q.id.as_deref().and_then(|id| content.find(&marker(id)));
    let mut ordered = questions.to_vec();
    ordered.sort_by_key(|q| at(q).unwrap_or(usize::MAX));
    let (mut problems, mut asked) = (Vec::new(), content.to_owned());
    let (mut at_end, mut answers) = (String::new(), String::new());
    for (n, question) in ordered.iter().enumerate() {
        let n = n + 1;
        let ask = format!("**Question {n}.** {}", question.ask.trim());
        match question.id.as_deref() {
            Some(id) if asked.contains(&marker(id)) => {
                let div = format!(
                    "<div class=\"question\" id=\"question-{n}\">\n\n{ask} \
                     [Answer {n}](#answer-{n})\n\n</div>"
                );
                asked = asked.replacen(&marker(id), &div, 1);
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
                let (from, lines) = (question.from.display(), answer.evidence.join("\n"));
                let sentence = question.sentence(&answer);
                let _ = writeln!(answers, "{sentence} ([question {n}](#question-{n}))\n");
                let _ = writeln!(answers, "From `{from}`:\n\n```text\n{lines}\n```\n");
                problems.extend(check(
                    question,
                    &answer,
                    &content[..at(question).unwrap_or(run_it)],
                ));
            }
            Err(e) => {
                let _ = writeln!(answers, "(This answer could not be computed: {e:#}.)\n");
                problems.push(format!("{e:#}"));
            }
        }
        answers.push_str("</details>\n\n");
    }
    if let Some(left) = asked.find("<!-- question: ") {
        let line = asked[left..].lines().next().unwrap_or_default();
        problems.push(format!(
            "{line} names no question of this chapter in {FILE}"
        ));
    }
    let intro = match at_end.is_empty() {
        true => {
            "The answers to the questions asked along the chapter. Decide on yours before you \
                 open one: each is read from the example's real output or the compiler's message \
                 when the book is built."
        }
        false => {
            "Decide on an answer before you open it; each answer is read from the example's \
                  real output or the compiler's message when the book is built."
        }
    };
    let section = format!("## Predict, then check\n\n{intro}\n\n{at_end}{answers}");
    let asked = match RUN_IT.find_iter(&asked).last() {
        Some(m) => format!("{}{section}{}", &asked[..m.start()], &asked[m.start()..]),
        None => format!("{}\n\n{section}", asked.trim_end()),
    };
    (asked, problems)
}

/// What a question's answer must be, given the chapter `above` the question.
fn check(q: &Question, answer: &Answer, above: &str) -> Vec<String> {
    static NUMBER: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\b\d+(?:\.\d+)?\b").expect("a valid regex"));
    let mut problems = Vec::new();
    let (ask, from) = (&q.ask, q.from.display());
    if answer.value != q.reviewed {
        problems.push(format!(
            "{from} now answers {ask:?} with {:?}, but it was reviewed with {:?}: reread the \
             question and the chapter, then update `reviewed` (the answer's lines: {:?})",
            answer.value, q.reviewed, answer.evidence
        ));
    }
    // Trailing zeros of a whole number do not count.
    let figures = |n: &str| match n.contains('.') {
        true => n.replace('.', "").trim_start_matches('0').len(),
        false => n.trim_end_matches('0').trim_start_matches('0').len(),
    };
    for number in NUMBER
        .find_iter(&answer.value)
        .map(|m| m.as_str())
        .filter(|n| figures(n) > 2)
    {
        problems.push(format!(
            "{ask:?} is answered with {number}: a reader predicts a size, not digits, so ask for \
             a comparison or an order of magnitude (two significant figures at most)"
        ));
    }
    let evidence = answer
        .evidence
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty());
    if let Some(line) = evidence.into_iter().find(|l| above.contains(l)) {
        problems.push(format!(
            "{ask:?} is asked after its answer is shown ({line:?}): a reader who has seen it \
             cannot predict it, so move the marker before the output that answers it"
        ));
    }
    problems
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
        let mut problems = Vec::new();
        book.for_each_mut(|item| {
            let BookItem::Chapter(chapter) = item else {
                return;
            };
            let Some(path) = chapter.source_path.as_deref() else {
                return;
            };
            let qs = by_chapter.remove(path).unwrap_or_default();
            let page = format!("src/{}", path.display());
            // The source as written: mdBook has already replaced the includes here.
            let source = std::fs::read_to_string(root.join("src").join(path)).unwrap_or_default();
            let examples = root.join("examples");
            let shows = crate::includes(&root.join(&page), &source)
                .iter()
                .any(|i| i.file.starts_with(&examples));
            if shows && qs.len() < 2 && !NO_QUESTIONS.iter().any(|p| Path::new(p) == path) {
                problems.push(format!(
                    "{page} shows examples but has {} questions in {FILE}: give it at least two, \
                     so that a reader predicts before reading the output",
                    qs.len()
                ));
            }
            if !qs.is_empty() {
                let (content, found) = place(root, &chapter.content, &qs);
                problems.extend(found.into_iter().map(|p| format!("{FILE}, {page}: {p}")));
                chapter.content = content;
            }
        });
        for chapter in by_chapter.keys() {
            problems.push(format!(
                "{FILE} has questions for {}, which is not a chapter of src/SUMMARY.md",
                chapter.display()
            ));
        }
        for problem in problems {
            tracing::warn!("{problem}");
        }
        Ok(book)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_question_is_asked_at_its_marker_and_each_broken_answer_is_a_problem() {
        let root = std::env::temp_dir().join(format!("xtask-questions-{}", std::process::id()));
        std::fs::create_dir_all(&root).expect("a scratch folder");
        std::fs::write(root.join("output.txt"), "counter = 2, lost 0\n").expect("writing");
        let question = |id: &str, from: &str, find: &str| -> Question {
            let q = format!("chapter = 'x.md'\nid = '{id}'\nask = '{id}?'\nfrom = '{from}'\n");
            toml::from_str(&(q + &format!("find = '{find}'\nreviewed = '2'\n"))).expect("toml")
        };
        let qs = [
            question("counter", "output.txt", r"counter = (\d+)"),
            question("lost", "output.txt", r"lost (\d+)"),
            question("gone", "gone.txt", r"(\d+)"),
            question("total", "output.txt", r"total = (\d+)"),
        ];
        let content = "<!-- question: counter -->\n```text\ncounter = 2, lost 0\n```\n\
                       <!-- question: lost -->\n<!-- question: gone -->\n\n## Run it\n";
        let (page, problems) = place(&root, content, &qs.iter().collect::<Vec<_>>());
        std::fs::remove_dir_all(&root).expect("removing the scratch folder");
        assert!(page.starts_with("<div class=\"question\" id=\"question-1\">\n\n**Question 1.**"));
        let answers = page.find("## Predict, then check").expect("the answers");
        assert!(page[answers..].contains("<details class=\"answer\" id=\"answer-4\">"));
        assert!(page.ends_with("</details>\n\n## Run it\n"), "{page}");
        let problems = problems.join("\n");
        for expected in [
            r#"output.txt now answers "lost?" with "0", but it was reviewed with "2""#,
            r#""lost?" is asked after its answer is shown ("counter = 2, lost 0")"#,
            r#"the answer to "gone?" comes from gone.txt, which cannot be read"#,
            "the chapter has no marker <!-- question: total -->",
            r#"output.txt no longer contains "total = (\\d+)""#,
        ] {
            assert!(
                problems.contains(expected),
                "{expected:?} not in\n{problems}"
            );
        }
    }
}
