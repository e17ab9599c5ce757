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
use mdbook_preprocessor::book::{Book, BookItem};
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};
use regex::Regex;

/// An example or exercise crate, as the book shows it.
pub struct Crate {
    pub name: String,
    pub description: String,
    /// Its programs, the default one first.
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

/// The crates under `root/folder/` in the order the numbered chapters of `book` first include
/// them; crates no chapter includes come last.
pub fn crates(root: &Path, ws: &Metadata, book: &Book, folder: &str) -> Result<Vec<Crate>> {
    // Each numbered chapter, with the crates its includes name, in order.
    let mut chapters = Vec::new();
    for item in book.iter() {
        if let BookItem::Chapter(c) = item
            && let (Some(_), Some(file)) = (&c.number, &c.source_path)
        {
            let includes = crate::includes(&root.join("src").join(file), &c.content);
            let names: Vec<String> = includes
                .iter()
                .filter_map(|i| i.file.strip_prefix(root.join(folder)).ok()?.iter().next())
                .map(|name| name.to_string_lossy().into_owned())
                .collect();
            chapters.push(((c.name.clone(), file.clone()), names));
        }
    }
    let relative = |path: &Path| path.strip_prefix(root).unwrap_or(path).to_owned();
    let mut crates = Vec::new();
    for package in &ws.packages {
        let dir = package.manifest_path.parent().expect("a package's folder");
        if dir.parent().is_none_or(|d| d != root.join(folder)) {
            continue;
        }
        let shows = |names: &Vec<String>| {
            names
                .iter()
                .position(|n| Some(n.as_str()) == dir.file_name())
        };
        // Where the book first includes it: (chapter, include).
        let first = chapters
            .iter()
            .enumerate()
            .find_map(|(i, (_, n))| Some((i, shows(n)?)));
        let mut bins: Vec<_> = package.targets.iter().filter(|t| t.is_bin()).collect();
        bins.sort_by_key(|t| (t.name != *package.name, t.name.clone()));
        let mut programs = Vec::new();
        for bin in bins {
            let source = std::fs::read_to_string(&bin.src_path)
                .with_context(|| format!("reading {}", bin.src_path))?;
            let (command, summary) = first_sentence(&source);
            let command = command.unwrap_or_else(|| match bin.name == *package.name {
                true => format!("cargo run -p {}", package.name),
                false => format!("cargo run -p {} --bin {}", package.name, bin.name),
            });
            let (bin, source) = (bin.name.clone(), relative(bin.src_path.as_std_path()));
            programs.push(Program {
                bin,
                command,
                source,
                summary,
            });
        }
        let tests = package
            .targets
            .iter()
            .filter(|t| t.kind.contains(&TargetKind::Test));
        let krate = Crate {
            name: package.name.to_string(),
            description: package.description.clone().unwrap_or_default(),
            programs,
            tests: tests.map(|t| relative(t.src_path.as_std_path())).collect(),
            chapters: chapters
                .iter()
                .filter(|(_, n)| shows(n).is_some())
                .map(|(c, _)| c.clone())
                .collect(),
        };
        crates.push((first.unwrap_or((usize::MAX, 0)), krate));
    }
    crates.sort_by(|(a, x), (b, y)| (a, &x.name).cmp(&(b, &y.name)));
    Ok(crates.into_iter().map(|(_, krate)| krate).collect())
}

/// `cargo run -p NAME`, `cargo run --release -p NAME --bin BIN`, `cargo test -p NAME`, …: each
/// command's package, and its `--bin` when it names one.
pub fn commands(text: &str) -> Vec<(String, Option<String>)> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        let command =
            r"cargo (?:run|test|bench)(?: --release| -q| --quiet)* -p ([\w-]+)(?: --bin ([\w-]+))?";
        Regex::new(command).expect("a valid regex")
    });
    let command = |c: regex::Captures| (c[1].to_owned(), c.get(2).map(|b| b.as_str().to_owned()));
    RE.captures_iter(text).map(command).collect()
}

/// What the book promises about its examples, one line per broken promise saying what to do.
fn problems(root: &Path, ws: &Metadata, book: &Book, examples: &[Crate]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut bins: BTreeMap<&str, &str> = BTreeMap::new();
    for (package, bin) in ws.packages.iter().flat_map(|p| {
        let bins = p.targets.iter().filter(|t| t.is_bin());
        bins.map(move |t| (p.name.as_str(), t.name.as_str()))
    }) {
        if let Some(other) = bins.insert(bin, package) {
            problems.push(format!(
                "{other} and {package} both have a program {bin:?}: rename one, since cargo \
                 writes every program to one folder and `cargo run --bin {bin}` could run either"
            ));
        }
    }
    // A file is compiled as a target, as a module under `src/`, or as a trybuild case.
    let compiled = |file: &Path| {
        ws.packages.iter().any(|p| {
            let dir = p.manifest_path.parent().expect("a package's folder");
            let trybuild = |t: &cargo_metadata::Target| {
                std::fs::read_to_string(&t.src_path)
                    .is_ok_and(|s| s.contains("compile_fail(\"tests/compile-fail/"))
            };
            file.starts_with(dir.join("src"))
                || p.targets.iter().any(|t| t.src_path == file)
                || file.starts_with(dir.join("tests/compile-fail"))
                    && p.targets.iter().any(trybuild)
        })
    };
    let mut run = Vec::new();
    for item in book.iter() {
        let BookItem::Chapter(chapter) = item else {
            continue;
        };
        let Some(path) = &chapter.source_path else {
            continue;
        };
        let (page, text) = (format!("src/{}", path.display()), &chapter.content);
        for include in crate::includes(&root.join("src").join(path), text) {
            if include.file.extension().is_some_and(|e| e == "rs") && !compiled(&include.file) {
                problems.push(format!(
                    "{page}: {}: no workspace target compiles this file, so nothing checks what \
                     it shows: include code from a compiled crate",
                    include.directive
                ));
            }
        }
        run.extend(commands(text));
        let last = text.lines().filter(|l| l.starts_with("## ")).last();
        let Some(run_it) = text
            .rfind("## Run it")
            .filter(|_| last == Some("## Run it"))
        else {
            problems.push(format!(
                "{page}: the last section is not `## Run it`: each chapter ends with the commands \
                 that run its examples (and the questions' answers go just before it)"
            ));
            continue;
        };
        let (run_it, mut named) = (&text[run_it..], 0);
        for (name, bin) in commands(run_it) {
            named += 1;
            let exists = match &bin {
                Some(bin) => bins.get(bin.as_str()) == Some(&name.as_str()),
                None => ws.packages.iter().any(|p| *p.name == name),
            };
            if !exists {
                let bin = bin.map(|b| format!(" --bin {b}")).unwrap_or_default();
                problems.push(format!("{page}: `## Run it` runs `-p {name}{bin}`, which is not a program of the workspace"));
            }
        }
        if named == 0
            && !["cargo test", "cargo xtask test", "cargo book"]
                .iter()
                .any(|c| run_it.contains(c))
        {
            problems.push(format!(
                "{page}: `## Run it` names no command: give the reader one"
            ));
        }
    }
    for krate in examples {
        let name = &krate.name;
        let mut promise = |broken: bool, what: &str| {
            if broken {
                problems.push(format!("examples/{name}: {what}"));
            }
        };
        promise(
            krate.tests.is_empty(),
            "no test in tests/: every example's output is checked by a test",
        );
        promise(
            krate.chapters.is_empty(),
            "no chapter includes its files: show it where it belongs, or remove it",
        );
        promise(
            krate.description.is_empty(),
            "no `description` in Cargo.toml, which the examples page shows",
        );
        for p in &krate.programs {
            // `cargo run -p NAME` runs the package's default program, the one named like it.
            let ran = run
                .iter()
                .any(|(c, b)| c == name && b.as_ref().map_or(p.bin == *name, |b| *b == p.bin));
            promise(
                !ran,
                &format!(
                    "no chapter runs `{}`: a reader learns how from its `## Run it`",
                    p.command
                ),
            );
            promise(
                p.summary == ".",
                &format!(
                    "{} starts with no `//!` sentence, which the examples page shows",
                    p.source.display()
                ),
            );
        }
    }
    problems
}

/// The first sentence of a file's `//!` comment (up to `. ` or `: ` outside code), and the
/// command it starts with, if it starts with one: "`cargo run -p fork`: after `fork` …".
fn first_sentence(source: &str) -> (Option<String>, String) {
    let doc: Vec<&str> = source
        .lines()
        .map_while(|l| l.strip_prefix("//!"))
        .map(str::trim)
        .take_while(|l| !l.is_empty())
        .collect();
    let doc = doc.join(" ");
    let (command, text) = match doc.strip_prefix('`').and_then(|d| d.split_once("`: ")) {
        Some((command, rest)) if command.starts_with("cargo ") => (Some(command.into()), rest),
        _ => (None, doc.as_str()),
    };
    // Code spans, or other characters, up to the first `.` or `:` before a space.
    let sentence = Regex::new(r"^(?:`[^`]*`|[^`])*?[.:](?: |$)").expect("regex");
    let end = sentence.find(text).map_or(text.len(), |m| m.end());
    let sentence = text[..end].trim_end().trim_end_matches(['.', ':']);
    (command, format!("{}.", capitalized(sentence)))
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
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
        let tests: Vec<String> = krate
            .tests
            .iter()
            .map(|t| format!("`{}`", t.display()))
            .collect();
        out += &match chapters.is_empty() {
            true => format!("\nTested by {}.\n\n", tests.join(", ")),
            false => format!(
                "\nExplained in {}; tested by {}.\n\n",
                chapters.join(", "),
                tests.join(", ")
            ),
        };
    }
    out
}

/// A line per exercise the book includes: its command, its starter, its task.
fn exercises_section(crates: &[Crate]) -> String {
    let mut out = String::new();
    for krate in crates.iter().filter(|k| !k.chapters.is_empty()) {
        let task = krate.description.strip_prefix("Exercise: ");
        let starter = krate
            .programs
            .first()
            .map(|p| p.source.display().to_string());
        out += &format!(
            "- `cargo exercises {}` (`{}`): {}\n",
            krate.name,
            starter.unwrap_or_default(),
            capitalized(task.unwrap_or(&krate.description))
        );
    }
    out
}

/// The preprocessor: replaces the markers of the examples page.
pub struct Examples;

impl Preprocessor for Examples {
    fn name(&self) -> &str {
        "examples"
    }

    fn run(
        &self,
        ctx: &PreprocessorContext,
        mut book: Book,
    ) -> mdbook_preprocessor::errors::Result<Book> {
        let ws = crate::workspace(&ctx.root)?;
        let examples_ = crates(&ctx.root, &ws, &book, "examples")?;
        for problem in problems(&ctx.root, &ws, &book, &examples_) {
            tracing::warn!("{problem}");
        }
        let examples = section(&examples_, "");
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
