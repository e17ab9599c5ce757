//! The "Predict, then check" questions (questions.toml, xtask/src/questions.rs): every answer is
//! recomputed from its source (an output snapshot, a compiler message, a program) and must still
//! be the answer the question was reviewed against; every chapter with examples has questions;
//! the built book asks each question before the output that answers it, with no number to more
//! than two significant figures, and shows each computed answer, hidden in a `<details>`,
//! before `## Run it`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use book_checks::{built, includes, pages, root};
use scraper::{Html, Selector};
use xtask::questions::{self, Question};

/// Chapters with examples that need no questions: the appendices that list every example.
const NO_QUESTIONS: [&str; 3] = ["examples.md", "verification.md", "cost-method.md"];

fn all_questions() -> Vec<Question> {
    questions::load(&root()).expect("questions.toml loads")
}

#[test]
fn every_answer_is_computed_from_its_source_and_is_the_reviewed_one() {
    let root = root();
    let mut problems = Vec::new();
    let all = all_questions();
    for q in &all {
        let at = format!("{} ({})", q.chapter.display(), q.ask);
        match q.answer(&root) {
            Err(e) => problems.push(format!("{at}: {e:#}")),
            Ok(answer) if answer.value != q.reviewed => problems.push(format!(
                "{at}: {} now gives the answer {:?}, but the question was reviewed with {:?}: \
                 reread the question and the chapter, then update `reviewed` in questions.toml \
                 (the lines the answer now comes from: {:?})",
                q.from.display(),
                answer.value,
                q.reviewed,
                answer.evidence
            )),
            Ok(_) => {}
        }
    }
    println!("{} questions recomputed", all.len());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_chapter_with_examples_has_questions() {
    let mut counts: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for q in all_questions() {
        *counts.entry(q.chapter).or_default() += 1;
    }
    let examples = root().join("examples");
    let mut problems = Vec::new();
    let chapters: Vec<PathBuf> = pages().iter().map(|p| p.rel.clone()).collect();
    for page in pages() {
        let rel = page.rel.to_string_lossy().replace('\\', "/");
        if NO_QUESTIONS.contains(&rel.as_str()) {
            continue;
        }
        let shows_examples = includes(&page)
            .iter()
            .any(|i| normalize(&i.file).starts_with(&examples));
        let n = counts.get(&page.rel).copied().unwrap_or(0);
        if shows_examples && n < 2 {
            problems.push(format!(
                "{rel} shows examples but has {n} questions in questions.toml (at least 2)"
            ));
        }
    }
    for chapter in counts.keys() {
        if !chapters.contains(chapter) {
            problems.push(format!(
                "questions.toml has questions for {}, which is not a chapter under src/",
                chapter.display()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The chapters in the book, each with its questions in the order the page asks them.
fn chapters_in_the_book() -> Vec<(PathBuf, Vec<Question>)> {
    let root = root();
    let summary = std::fs::read_to_string(root.join("src/SUMMARY.md")).expect("SUMMARY.md");
    let mut by_chapter: BTreeMap<PathBuf, Vec<Question>> = BTreeMap::new();
    for q in all_questions() {
        by_chapter.entry(q.chapter.clone()).or_default().push(q);
    }
    by_chapter
        .into_iter()
        .filter(|(chapter, _)| summary.contains(&format!("]({})", chapter.to_string_lossy())))
        .map(|(chapter, qs)| {
            let source = std::fs::read_to_string(root.join("src").join(&chapter)).expect("chapter");
            let refs: Vec<&Question> = qs.iter().collect();
            let ordered = questions::in_page_order(&source, &refs)
                .into_iter()
                .cloned()
                .collect();
            (chapter, ordered)
        })
        .collect()
}

fn book() -> &'static book_checks::Built {
    let built = built(Path::new(concat!(
        env!("CARGO_TARGET_TMPDIR"),
        "/questions-book"
    )));
    let warnings: Vec<&String> = built
        .warnings
        .iter()
        .filter(|w| w.contains("question"))
        .collect();
    assert!(
        warnings.is_empty(),
        "the questions preprocessor warned:\n{warnings:#?}"
    );
    built
}

/// Checks each chapter in the book with `check`, except those in `exempt`, which must still fail.
fn each_chapter(mut check: impl FnMut(&Path, &[Question]) -> Vec<String>) -> Vec<String> {
    chapters_in_the_book()
        .into_iter()
        .flat_map(|(chapter, qs)| check(&chapter, &qs))
        .collect()
}

#[test]
fn the_built_book_asks_each_question_and_hides_each_answer_before_run_it() {
    let built = book();
    let h2 = Selector::parse("#mdbook-content h2").expect("selector");
    let details = Selector::parse("details.answer").expect("selector");
    let summary_tag = Selector::parse("summary").expect("selector");
    let problems = each_chapter(|chapter, qs| {
        let mut problems = Vec::new();
        let Ok(text) = std::fs::read_to_string(built.dir.join(chapter.with_extension("html")))
        else {
            return vec![format!("{}: not in the built book", chapter.display())];
        };
        let html = Html::parse_document(&text);
        let headings: Vec<String> = html
            .select(&h2)
            .map(|h| h.text().collect::<String>().trim().to_owned())
            .collect();
        let at = headings.iter().position(|h| h == questions::HEADING);
        let run_it = headings.iter().rposition(|h| h == "Run it");
        if !matches!((at, run_it), (Some(q), Some(r)) if q + 1 == r) {
            problems.push(format!(
                "{}: expected `{}` just before `Run it`, the h2 headings are {headings:?}",
                chapter.display(),
                questions::HEADING
            ));
        }
        let answers: Vec<_> = html.select(&details).collect();
        if answers.len() != qs.len() {
            problems.push(format!(
                "{}: {} answers in the page, {} questions in questions.toml",
                chapter.display(),
                answers.len(),
                qs.len()
            ));
        }
        let section = text.find("id=\"predict-then-check\"").unwrap_or(text.len());
        for (n, (q, element)) in qs.iter().zip(&answers).enumerate() {
            let asked = text.find(&format!("id=\"question-{}\"", n + 1));
            let inline = q.id.is_some();
            if asked.is_none_or(|at| (at < section) != inline) {
                problems.push(format!(
                    "{}: question {} is not asked {}",
                    chapter.display(),
                    n + 1,
                    if inline {
                        "at its marker"
                    } else {
                        "at the end"
                    }
                ));
            }
            if element.value().attr("open").is_some()
                || element.select(&summary_tag).next().is_none()
            {
                problems.push(format!(
                    "{}: answer {} is open or has no <summary>",
                    chapter.display(),
                    n + 1
                ));
            }
            let shown: String = element.text().collect();
            match q.answer(&root()) {
                Ok(answer) if shown.contains(&answer.value) => {}
                Ok(answer) => problems.push(format!(
                    "{}: the answer {:?} to {:?} is not in the page: {shown:?}",
                    chapter.display(),
                    answer.value,
                    q.ask
                )),
                Err(e) => problems.push(format!("{}: {e:#}", chapter.display())),
            }
        }
        problems
    });
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A question comes before the output, compiler message or table that answers it: none of the
/// lines its answer is read from appears on the page above it.
#[test]
fn no_question_is_asked_after_its_answer_is_shown() {
    let built = book();
    let tag = regex::Regex::new(r"<[^>]*>").expect("regex");
    let problems = each_chapter(|chapter, qs| {
        let text = std::fs::read_to_string(built.dir.join(chapter.with_extension("html")))
            .unwrap_or_default();
        let mut problems = Vec::new();
        for (n, q) in qs.iter().enumerate() {
            let Some(at) = text.find(&format!("id=\"question-{}\"", n + 1)) else {
                continue; // reported by the test above
            };
            let above = tag
                .replace_all(&text[..at], "")
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&#39;", "'")
                .replace("&amp;", "&");
            let Ok(answer) = q.answer(&root()) else {
                continue;
            };
            for line in answer
                .evidence
                .iter()
                .map(|l| l.trim())
                .filter(|l| !l.is_empty())
            {
                if above.contains(line) {
                    problems.push(format!(
                        "{}: question {} ({:?}) comes after its answer, {line:?}: move its marker \
                         before the output that answers it",
                        chapter.display(),
                        n + 1,
                        q.ask
                    ));
                }
            }
        }
        problems
    });
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Numbers are asked for as comparisons or orders of magnitude: no answer has a number with more
/// than two significant figures (trailing zeros of a whole number do not count).
#[test]
fn no_answer_has_more_than_two_significant_figures() {
    let number = regex::Regex::new(r"\b\d+(?:\.\d+)?\b").expect("regex");
    let figures = |n: &str| {
        let digits = if n.contains('.') {
            n.replace('.', "")
        } else {
            n.trim_end_matches('0').to_owned()
        };
        digits.trim_start_matches('0').len()
    };
    let problems = each_chapter(|chapter, qs| {
        let mut problems = Vec::new();
        for q in qs {
            let Ok(answer) = q.answer(&root()) else {
                continue;
            };
            for n in number.find_iter(&answer.value).map(|m| m.as_str()) {
                if figures(n) > 2 {
                    problems.push(format!(
                        "{}: {:?} is answered with {n}: ask for a comparison or an order of \
                         magnitude instead",
                        chapter.display(),
                        q.ask
                    ));
                }
            }
        }
        problems
    });
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check itself: a changed snapshot, a missing file or a pattern that no longer matches is a
/// failure that says what to do.
#[test]
fn a_changed_or_missing_source_is_reported_clearly() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("questions-self-check");
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    std::fs::write(dir.join("output.txt"), "counter = 2, should be 2: lost 0\n").expect("write");
    let question = |from: &str, find: &str| -> Question {
        toml::from_str(&format!(
            "chapter = 'x.md'\nask = 'What is the counter?'\nfrom = {from:?}\nfind = {find:?}\nreviewed = '1'\n"
        ))
        .expect("a question")
    };
    let changed = question("output.txt", r"counter = (\d+)");
    let answer = changed.answer(&dir).expect("computed");
    assert_eq!(answer.value, "2");
    assert_ne!(answer.value, changed.reviewed);
    assert_eq!(answer.evidence, ["counter = 2, should be 2: lost 0"]);

    let missing = question("gone.txt", r"counter = (\d+)");
    let error = format!("{:#}", missing.answer(&dir).expect_err("a missing file"));
    assert!(error.contains("gone.txt, which cannot be read"), "{error}");

    let unmatched = question("output.txt", r"total = (\d+)");
    let error = format!("{:#}", unmatched.answer(&dir).expect_err("no match"));
    assert!(error.contains("no longer contains"), "{error}");
}

/// `a/b/../c` as `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
