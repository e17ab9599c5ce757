//! The examples page (`src/examples.md`), generated from the crates at each build: its markers
//! `<!-- generated: examples -->` and `<!-- generated: exercises -->` become a section per crate
//! (its `description`, each program with the first sentence of its `//!` comment, its tests, the
//! chapters whose includes show it) and a line per exercise. The same preprocessor checks what the
//! book promises about its examples (`problems`): the build fails with one line per broken promise.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use anyhow::{Context, Result};
use cargo_metadata::{Metadata, TargetKind};
use mdbook_preprocessor::book::{Book, BookItem, Chapter};
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};
use regex::Regex;

/// An example or exercise crate, as the book shows it.
pub struct Crate {
    pub name: String,
    pub description: String,
    /// The default program first.
    pub programs: Vec<Program>,
    /// Its integration tests, relative to the repository root.
    pub tests: Vec<PathBuf>,
    /// The numbered chapters that include its files: (title, file under `src/`), in book order.
    pub chapters: Vec<(String, PathBuf)>,
}

pub struct Program {
    pub bin: String,
    /// How a reader runs it: the command its doc comment starts with, or `cargo run -p …`.
    pub command: String,
    /// Relative to the repository root.
    pub source: PathBuf,
    /// The first sentence of its doc comment.
    pub summary: String,
}

/// Each chapter of `book` with its source's path.
fn chapters(book: &Book) -> impl Iterator<Item = (&Chapter, &PathBuf)> {
    book.iter().filter_map(|item| match item {
        BookItem::Chapter(c) => Some((c, c.source_path.as_ref()?)),
        _ => None,
    })
}

/// The crates under `root/folder/`, in the order the numbered chapters of `book` first include
/// them; crates no chapter includes come last.
pub fn crates(root: &Path, ws: &Metadata, book: &Book, folder: &str) -> Result<Vec<Crate>> {
    // Each numbered chapter, with the crates its includes name, in order.
    let mut shown = Vec::new();
    for (c, file) in chapters(book).filter(|(c, _)| c.number.is_some()) {
        for include in crate::includes(&root.join("src").join(file), &c.content) {
            let Ok(path) = include.file.strip_prefix(root.join(folder)) else {
                continue;
            };
            let name = path.iter().next().map(|n| n.to_string_lossy().into_owned());
            shown.push((name.unwrap_or_default(), (c.name.clone(), file.clone())));
        }
    }
    let relative = |path: &Path| path.strip_prefix(root).unwrap_or(path).to_owned();
    let mut crates = Vec::new();
    for package in &ws.packages {
        let dir = package.manifest_path.parent().expect("a package's folder");
        if dir.parent().is_none_or(|d| d != root.join(folder)) {
            continue;
        }
        let name = package.name.to_string();
        let mut bins: Vec<_> = package.targets.iter().filter(|t| t.is_bin()).collect();
        bins.sort_by_key(|t| (t.name != name, t.name.clone()));
        let mut programs = Vec::new();
        for bin in bins {
            let source = std::fs::read_to_string(&bin.src_path)
                .with_context(|| format!("reading {}", bin.src_path))?;
            let (command, summary) = first_sentence(&source);
            let command = command.unwrap_or_else(|| match bin.name == name {
                true => format!("cargo run -p {name}"),
                false => format!("cargo run -p {name} --bin {}", bin.name),
            });
            let (bin, source) = (bin.name.clone(), relative(bin.src_path.as_std_path()));
            programs.push(Program { bin, command, source, summary });
        }
        let tests = package.targets.iter().filter(|t| t.kind.contains(&TargetKind::Test));
        let tests = tests.map(|t| relative(t.src_path.as_std_path())).collect();
        let mut chapters: Vec<_> = shown.iter().filter(|(n, _)| *n == name).collect();
        chapters.dedup();
        let chapters = chapters.into_iter().map(|(_, c)| c.clone()).collect();
        let description = package.description.clone().unwrap_or_default();
        crates.push(Crate { name, description, programs, tests, chapters });
    }
    let first = |k: &Crate| shown.iter().position(|(n, _)| *n == k.name);
    crates.sort_by_key(|k| (first(k).unwrap_or(usize::MAX), k.name.clone()));
    Ok(crates)
}

/// `cargo run -p NAME`, `cargo run --release -p NAME --bin BIN`, `cargo test -p NAME`, …: each
/// command's package, and its `--bin` when it names one.
fn commands(text: &str) -> Vec<(String, Option<String>)> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        let command = r"cargo (?:run|test|bench)(?: --release| -q| --quiet)* -p ([\w-]+)";
        Regex::new(&format!(r"{command}(?: --bin ([\w-]+))?")).expect("a valid regex")
    });
    let command = |c: regex::Captures| (c[1].to_owned(), c.get(2).map(|b| b.as_str().into()));
    RE.captures_iter(text).map(command).collect()
}

/// What the book promises about its examples, one line per broken promise saying what to do.
fn problems(root: &Path, ws: &Metadata, book: &Book, examples: &[Crate]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut bins: BTreeMap<&str, &str> = BTreeMap::new();
    for p in &ws.packages {
        for t in p.targets.iter().filter(|t| t.is_bin()) {
            if let Some(other) = bins.insert(&t.name, &p.name) {
                problems.push(format!(
                    "{other} and {} both have a program {:?}: rename one, since cargo writes \
                     every program to one folder and `cargo run --bin` could run either",
                    p.name, t.name
                ));
            }
        }
    }
    // A file is compiled as a target, as a module under `src/`, or as a trybuild case.
    let trybuild = |t: &cargo_metadata::Target| {
        let source = std::fs::read_to_string(&t.src_path).unwrap_or_default();
        source.contains("compile_fail(\"tests/compile-fail/")
    };
    let compiled = |file: &Path| {
        ws.packages.iter().any(|p| {
            let dir = p.manifest_path.parent().expect("a package's folder");
            file.starts_with(dir.join("src"))
                || p.targets.iter().any(|t| t.src_path == file)
                || file.starts_with(dir.join("tests/compile-fail"))
                    && p.targets.iter().any(trybuild)
        })
    };
    let mut run = Vec::new();
    for (chapter, path) in chapters(book) {
        let (page, text) = (format!("src/{}", path.display()), &chapter.content);
        for include in crate::includes(&root.join(&page), text) {
            if include.file.extension().is_some_and(|e| e == "rs") && !compiled(&include.file) {
                problems.push(format!(
                    "{page}: {}: no workspace target compiles this file, so nothing checks what \
                     it shows: include code from a compiled crate",
                    include.directive
                ));
            }
        }
        let last = text.lines().rfind(|l| l.starts_with("## "));
        let run_it = text.rfind("\n## Run it").filter(|_| last == Some("## Run it"));
        let run_it = run_it.map_or("", |at| &text[at..]);
        let tools = ["cargo test", "cargo xtask test", "cargo book"];
        if commands(run_it).is_empty() && !tools.iter().any(|c| run_it.contains(c)) {
            problems.push(format!(
                "{page}: the last section is no `## Run it` with a command: each chapter ends \
                 with the commands that run its examples (the questions' answers go before it)"
            ));
        }
        for (name, bin) in commands(run_it) {
            let known = match &bin {
                Some(bin) => bins.get(bin.as_str()) == Some(&name.as_str()),
                None => ws.packages.iter().any(|p| *p.name == name),
            };
            if !known {
                let bin = bin.map(|b| format!(" --bin {b}")).unwrap_or_default();
                problems
                    .push(format!("{page}: `## Run it` runs `-p {name}{bin}`: no such program"));
            }
        }
        run.extend(commands(text));
    }
    for krate in examples {
        let name = &krate.name;
        let mut broken = |is: bool, what: String| {
            is.then(|| problems.push(format!("examples/{name}: {what}")));
        };
        broken(krate.tests.is_empty(), "has no test, so nothing checks its output".into());
        broken(krate.chapters.is_empty(), "is shown by no chapter: show it, or remove it".into());
        broken(krate.description.is_empty(), "has no `description` for the examples page".into());
        for p in &krate.programs {
            // `cargo run -p NAME` runs the package's default program, the one named like it.
            let runs = |(c, b): &(String, Option<String>)| {
                c == name && b.as_ref().map_or(p.bin == *name, |b| *b == p.bin)
            };
            let (command, source) = (&p.command, p.source.display());
            broken(
                !run.iter().any(runs),
                format!("no chapter runs `{command}`, so no reader learns of it"),
            );
            broken(
                p.summary == ".",
                format!("{source} has no `//!` sentence for the examples page"),
            );
        }
    }
    problems
}

/// The first sentence of a file's `//!` comment (up to `. ` or `: ` outside code), and the
/// command it starts with, if it starts with one: "`cargo run -p fork`: after `fork` …".
fn first_sentence(source: &str) -> (Option<String>, String) {
    static SENTENCE: LazyLock<Regex> = LazyLock::new(|| {
        // Code spans, or other characters, up to the first `.` or `:` before a space.
        Regex::new(r"^(?:`[^`]*`|[^`])*?[.:](?: |$)").expect("a valid regex")
    });
    let doc = source.lines().map_while(|l| l.strip_prefix("//!")).map(str::trim);
    let doc = doc.take_while(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
    let (command, text) = match doc.strip_prefix('`').and_then(|d| d.split_once("`: ")) {
        Some((command, rest)) if command.starts_with("cargo ") => (Some(command.into()), rest),
        _ => (None, doc.as_str()),
    };
    let end = SENTENCE.find(text).map_or(text.len(), |m| m.end());
    let sentence = text[..end].trim_end().trim_end_matches(['.', ':']);
    (command, format!("{}.", capitalized(sentence)))
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
    first.unwrap_or_default() + chars.as_str()
}

/// A section per crate: its description, a line per program, its chapters (linked as
/// `{chapters_in}FILE`) and tests.
pub fn section(crates: &[Crate], chapters_in: &str) -> String {
    let mut out = String::new();
    for krate in crates {
        let name = &krate.name;
        out += &format!("## {name}\n\n{}\n\n", krate.description);
        for p in &krate.programs {
            let (command, source) = (&p.command, p.source.display());
            out += &format!("- `{command}` (`{source}`): {}\n", p.summary);
        }
        if krate.programs.is_empty() {
            out += &format!(
                "- Nothing to run: the programs are the cases under `examples/{name}/tests/`, \
                 and `cargo test -p {name}` compiles each one.\n"
            );
        }
        let link = |(title, file): &(String, PathBuf)| {
            format!("[{title}]({chapters_in}{})", file.display())
        };
        let chapters: Vec<String> = krate.chapters.iter().map(link).collect();
        let tests: Vec<String> = krate.tests.iter().map(|t| format!("`{}`", t.display())).collect();
        let tests = tests.join(", ");
        out += &match chapters.is_empty() {
            true => format!("\nTested by {tests}.\n\n"),
            false => format!("\nExplained in {}; tested by {tests}.\n\n", chapters.join(", ")),
        };
    }
    out
}

/// A line per exercise the book includes: its command, its starter, its task.
fn exercises_section(crates: &[Crate]) -> String {
    let mut out = String::new();
    for krate in crates.iter().filter(|k| !k.chapters.is_empty()) {
        let task = krate.description.strip_prefix("Exercise: ");
        let starter = krate.programs.first().map(|p| p.source.display().to_string());
        out += &format!(
            "- `cargo exercises {}` (`{}`): {}\n",
            krate.name,
            starter.unwrap_or_default(),
            capitalized(task.unwrap_or(&krate.description))
        );
    }
    out
}

/// The preprocessor: fills the markers of the examples page, and checks the examples.
pub struct Examples;

impl Preprocessor for Examples {
    fn name(&self) -> &str {
        "examples"
    }

    fn run(&self, ctx: &PreprocessorContext, mut book: Book) -> Result<Book> {
        let ws = crate::workspace(&ctx.root)?;
        let examples = crates(&ctx.root, &ws, &book, "examples")?;
        for problem in problems(&ctx.root, &ws, &book, &examples) {
            tracing::warn!("{problem}");
        }
        let examples = section(&examples, "");
        let exercises = exercises_section(&crates(&ctx.root, &ws, &book, "exercises")?);
        let marker = Regex::new(r"<!-- generated: (\S+) -->")?;
        book.for_each_mut(|item| {
            let BookItem::Chapter(chapter) = item else {
                return;
            };
            let content = marker.replace_all(&chapter.content, |c: &regex::Captures| match &c[1] {
                "examples" => examples.trim_end().to_owned(),
                "exercises" => exercises.trim_end().to_owned(),
                other => {
                    tracing::warn!("{}: no generated section {other:?}", chapter.name);
                    c[0].to_owned()
                }
            });
            chapter.content = content.into_owned();
        });
        Ok(book)
    }
}
