//! "Predict, then check": the questions of `questions.toml`, and the preprocessor that asks each at
//! its marker `<!-- question: ID -->`, before the output that answers it, and puts every answer,
//! closed, in a section just before `## Run it`. An answer is computed from its file at each
//! build (a capture of `find`, or a count of matching lines) and shown with the lines it came
//! from; nothing states one by hand. The build fails, one line each saying what to do, on an
//! answer that cannot be computed, differs from `reviewed`, has more than two significant figures
//! or is shown above its question; on a marker missing or left over; and on a chapter that shows
//! examples with fewer than two questions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use anyhow::{Context, Result, bail};
use mdbook_preprocessor::book::{Book, BookItem};
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};
use regex::{Regex, RegexBuilder};
use serde::Deserialize;

const FILE: &str = "questions.toml";

/// Pages that show examples but ask nothing: the list of examples, the test and method appendices.
const NO_QUESTIONS: [&str; 3] = ["examples.md", "verification.md", "cost-method.md"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    question: Vec<Question>,
}

/// A `[[question]]` of questions.toml, whose header explains the fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Question {
    chapter: PathBuf,
    id: String,
    ask: String,
    from: PathBuf,
    find: String,
    #[serde(default)]
    count: bool,
    say: Option<String>,
    reviewed: String,
}

struct Answer {
    value: String,
    /// The whole lines of the source the answer was read from.
    evidence: Vec<String>,
}

fn load(root: &Path) -> Result<Vec<Question>> {
    let text = std::fs::read_to_string(root.join(FILE)).context("reading questions.toml")?;
    Ok(toml::from_str::<File>(&text).context("parsing questions.toml")?.question)
}

impl Question {
    fn answer(&self, root: &Path) -> Result<Answer> {
        let (from, find, ask) = (self.from.display(), &self.find, &self.ask);
        let text = std::fs::read_to_string(root.join(&self.from)).with_context(|| {
            format!("the answer to {ask:?} comes from {from}, which cannot be read")
        })?;
        let re = RegexBuilder::new(find).multi_line(true).build();
        let re = re.with_context(|| format!("the `find` of {ask:?}"))?;
        if self.count {
            let lines = text.lines().filter(|l| re.is_match(l));
            let evidence: Vec<String> = lines.map(str::to_owned).collect();
            if evidence.is_empty() {
                bail!("no line of {from} matches {find:?} (the answer to {ask:?}): fix `find`");
            }
            let value = evidence.len().to_string();
            return Ok(Answer { value, evidence });
        }
        let Some(caps) = re.captures(&text) else {
            bail!(
                "{from} no longer contains {find:?}, where the answer to {ask:?} was: fix `find`"
            );
        };
        let (Some(all), Some(value)) = (caps.get(0), caps.get(1)) else {
            bail!("the pattern {find:?} has no capture group");
        };
        let start = text[..all.start()].rfind('\n').map_or(0, |i| i + 1);
        let end = text[all.end()..].find('\n').map_or(text.len(), |i| all.end() + i);
        let evidence = text[start..end].lines().map(str::to_owned).collect();
        let value = value.as_str().trim().to_owned();
        Ok(Answer { value, evidence })
    }

    /// What a question's answer must be, given the chapter `above` the question.
    fn problems(&self, answer: &Answer, above: &str) -> Vec<String> {
        static NUMBER: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"\b\d+(?:\.\d+)?\b").expect("a valid regex"));
        let (ask, value, mut problems) = (&self.ask, &answer.value, Vec::new());
        if *value != self.reviewed {
            problems.push(format!(
                "{} now answers {ask:?} with {value:?}, but it was reviewed with {:?}: reread the \
                 question and the chapter, then update `reviewed` (the answer's lines: {:?})",
                self.from.display(),
                self.reviewed,
                answer.evidence
            ));
        }
        // Trailing zeros of a whole number do not count.
        let figures = |n: &str| match n.split_once('.') {
            Some((whole, part)) => (whole.to_owned() + part).trim_start_matches('0').len(),
            None => n.trim_matches('0').len(),
        };
        for n in NUMBER.find_iter(value).filter(|n| figures(n.as_str()) > 2) {
            problems.push(format!(
                "{ask:?} is answered with {}: a reader predicts a size, not digits, so ask for a \
                 comparison or an order of magnitude (two significant figures at most)",
                n.as_str()
            ));
        }
        let mut evidence = answer.evidence.iter().map(|l| l.trim());
        if let Some(line) = evidence.find(|l| !l.is_empty() && above.contains(l)) {
            problems.push(format!(
                "{ask:?} is asked after its answer is shown ({line:?}): a reader who has seen it \
                 cannot predict it, so move the marker before the output that answers it"
            ));
        }
        problems
    }
}

fn marker(id: &str) -> String {
    format!("<!-- question: {id} -->")
}

/// The chapter with each question at its marker, numbered in page order, and the answers' section
/// before the last `## Run it`; and the problems found.
fn place(root: &Path, content: &str, questions: &[&Question]) -> (String, Vec<String>) {
    static RUN_IT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?m)^## Run it\s*$").expect("a valid regex"));
    static SPECIAL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"[\\`*_\[\]<>#|]").expect("a valid regex"));
    let run_it = RUN_IT.find_iter(content).last().map_or(content.len(), |m| m.start());
    let mut ordered = questions.to_vec();
    ordered.sort_by_key(|q| content.find(&marker(&q.id)).unwrap_or(run_it));
    let (mut asked, mut answers, mut problems) = (content.to_owned(), String::new(), Vec::new());
    for (n, q) in (1..).zip(ordered) {
        let at = content.find(&marker(&q.id)).unwrap_or(run_it);
        let ask = q.ask.trim();
        let div = format!(
            "<div class=\"question\" id=\"question-{n}\">\n\n**Question {n}.** {ask} \
             [Answer {n}](#answer-{n})\n\n</div>"
        );
        if !asked.contains(&marker(&q.id)) {
            problems.push(format!("the chapter has no marker {}", marker(&q.id)));
        }
        asked = asked.replacen(&marker(&q.id), &div, 1);
        answers += &format!(
            "<details class=\"answer\" id=\"answer-{n}\">\n<summary>Answer {n}</summary>\n\n"
        );
        answers += &match q.answer(root) {
            Ok(answer) => {
                problems.extend(q.problems(&answer, &content[..at]));
                let value = format!("**{}**", SPECIAL.replace_all(&answer.value, r"\$0"));
                let say = q.say.as_deref().unwrap_or("{}.").replacen("{}", &value, 1);
                let (from, lines) = (q.from.display(), answer.evidence.join("\n"));
                format!(
                    "{say} ([question {n}](#question-{n}))\n\nFrom `{from}`:\n\n```text\n{lines}\n\
                     ```\n\n"
                )
            }
            Err(e) => {
                problems.push(format!("{e:#}"));
                format!("(This answer could not be computed: {e:#}.)\n\n")
            }
        };
        answers += "</details>\n\n";
    }
    if let Some(left) = asked.find("<!-- question: ") {
        let line = asked[left..].lines().next().unwrap_or_default();
        problems.push(format!("{line} names no question of this chapter in {FILE}"));
    }
    let section = format!(
        "## Predict, then check\n\nThe answers to the questions asked along the chapter. Decide \
         on yours before you open one: each is read from the example's real output or the \
         compiler's message when the book is built.\n\n{answers}"
    );
    let run_it = RUN_IT.find_iter(&asked).last().map_or(asked.len(), |m| m.start());
    asked.insert_str(run_it, &section);
    (asked, problems)
}

/// The preprocessor: asks each chapter's questions, and fails the build on what it finds wrong.
pub struct Questions;

impl Preprocessor for Questions {
    fn name(&self) -> &str {
        "questions"
    }

    fn run(&self, ctx: &PreprocessorContext, mut book: Book) -> anyhow::Result<Book> {
        let (root, questions) = (&ctx.root, load(&ctx.root)?);
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
            let (page, qs) = (root.join("src").join(path), by_chapter.remove(path));
            let qs = qs.unwrap_or_default();
            // The source as written: mdBook has already replaced the includes in the content.
            let source = std::fs::read_to_string(&page).unwrap_or_default();
            let includes = crate::includes(&page, &source);
            let shows = includes.iter().any(|i| i.file.starts_with(root.join("examples")));
            if shows && qs.len() < 2 && !NO_QUESTIONS.iter().any(|p| Path::new(p) == path) {
                problems.push(format!(
                    "src/{} shows examples but has {} questions in {FILE}: give it at least two, \
                     so that a reader predicts before reading the output",
                    path.display(),
                    qs.len()
                ));
            }
            if !qs.is_empty() {
                let (content, found) = place(root, &chapter.content, &qs);
                let at = |p| format!("{FILE}, src/{}: {p}", path.display());
                problems.extend(found.into_iter().map(at));
                chapter.content = content;
            }
        });
        for chapter in by_chapter.keys() {
            let chapter = chapter.display();
            problems.push(format!("{FILE} has questions for {chapter}, not a chapter of the book"));
        }
        for problem in problems {
            tracing::warn!("{problem}");
        }
        Ok(book)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_question_is_asked_at_its_marker_and_each_broken_answer_is_a_problem() {
        let root = std::env::temp_dir().join(format!("xtask-questions-{}", std::process::id()));
        std::fs::create_dir_all(&root).expect("a scratch folder");
        std::fs::write(root.join("output.txt"), "counter = 2, lost 0\n").expect("writing");
        let question = |id: &str, from: &str, find: &str| -> super::Question {
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
        let (page, problems) = super::place(&root, content, &qs.iter().collect::<Vec<_>>());
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
            assert!(problems.contains(expected), "{expected:?} not in\n{problems}");
        }
    }
}
