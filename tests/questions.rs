//! The "Predict, then check" questions (questions.toml, xtask/src/questions.rs): every answer is
//! recomputed from its source (an output snapshot, a compiler message, a program) and must still
//! be the answer the question was reviewed against; every chapter with examples has questions;
//! the built book shows each computed answer, hidden in a `<details>`, before `## Run it`.

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

#[test]
fn the_built_book_shows_each_computed_answer_hidden_before_run_it() {
    let dest = Path::new(concat!(env!("CARGO_TARGET_TMPDIR"), "/questions-book"));
    let built = built(dest);
    let question_warnings: Vec<&String> = built
        .warnings
        .iter()
        .filter(|w| w.contains("question"))
        .collect();
    assert!(
        question_warnings.is_empty(),
        "the questions preprocessor warned:\n{question_warnings:#?}"
    );
    let root = root();
    let mut by_chapter: BTreeMap<PathBuf, Vec<Question>> = BTreeMap::new();
    for q in all_questions() {
        by_chapter.entry(q.chapter.clone()).or_default().push(q);
    }
    let h2 = Selector::parse("#mdbook-content h2").expect("selector");
    let details = Selector::parse("details.answer").expect("selector");
    let summary_tag = Selector::parse("summary").expect("selector");
    let mut problems = Vec::new();
    let summary = std::fs::read_to_string(root.join("src/SUMMARY.md")).expect("SUMMARY.md");
    for (chapter, qs) in &by_chapter {
        let linked = format!("]({})", chapter.to_string_lossy());
        if !summary.contains(&linked) {
            println!(
                "{}: not in SUMMARY.md, so not in the book",
                chapter.display()
            );
            continue;
        }
        let html_path = built.dir.join(chapter.with_extension("html"));
        let Ok(text) = std::fs::read_to_string(&html_path) else {
            problems.push(format!("{}: not in the built book", html_path.display()));
            continue;
        };
        let html = Html::parse_document(&text);
        let headings: Vec<String> = html
            .select(&h2)
            .map(|h| h.text().collect::<String>().trim().to_owned())
            .collect();
        let at = headings.iter().position(|h| h == questions::HEADING);
        let run_it = headings.iter().rposition(|h| h == "Run it");
        match (at, run_it) {
            (Some(q), Some(r)) if q + 1 == r => {}
            _ => problems.push(format!(
                "{}: expected `{}` just before `Run it`, the h2 headings are {headings:?}",
                chapter.display(),
                questions::HEADING
            )),
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
        for (q, element) in qs.iter().zip(&answers) {
            if element.value().attr("open").is_some() {
                problems.push(format!("{}: an answer is open", chapter.display()));
            }
            if element.select(&summary_tag).next().is_none() {
                problems.push(format!("{}: an answer has no <summary>", chapter.display()));
            }
            let shown: String = element.text().collect();
            match q.answer(&root) {
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
    }
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
