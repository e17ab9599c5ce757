//! The examples page (`src/examples.md`), generated from the crates when the book is built. Its
//! source holds the introduction and two markers: `<!-- generated: examples -->` becomes a
//! section per crate under `examples/` (the `description` of its Cargo.toml; each program with
//! the first sentence of its doc comment; its tests; the chapters whose `{{#include}}`s show
//! it), `<!-- generated: exercises -->` a line per exercise. Adding a program, a crate or an
//! include changes the page at the next build, and nothing keeps a second copy in step.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use cargo_metadata::TargetKind;
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
    /// How a reader runs it: the command its doc comment starts with, or `cargo run -p …`.
    pub command: String,
    /// Its source file, relative to the repository root.
    pub source: PathBuf,
    /// The first sentence of its doc comment.
    pub summary: String,
}

/// [`crates`] of the book at `root`, read from its `SUMMARY.md`.
pub fn crates_of(root: &Path, folder: &str) -> Result<Vec<Crate>> {
    let book = mdbook_driver::MDBook::load(root)
        .context("loading the book")?
        .book;
    crates(root, &book, folder)
}

/// The crates under `root/folder/` (`examples` or `exercises`) in the order the book's numbered
/// chapters first include them; crates no chapter includes come last.
pub fn crates(root: &Path, book: &Book, folder: &str) -> Result<Vec<Crate>> {
    let include = Regex::new(&format!(
        r"\{{\{{#(?:rustdoc_)?include\s+(?:\.\./)+{folder}/([^/\s}}]+)/"
    ))?;
    let mut order: Vec<(String, Vec<(String, PathBuf)>)> = Vec::new();
    for item in book.iter() {
        let BookItem::Chapter(chapter) = item else {
            continue;
        };
        let (Some(_), Some(file)) = (&chapter.number, &chapter.source_path) else {
            continue;
        };
        let path = root.join("src").join(file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        for c in include.captures_iter(&text) {
            let at = match order.iter().position(|(name, _)| *name == c[1]) {
                Some(at) => at,
                None => {
                    order.push((c[1].to_owned(), Vec::new()));
                    order.len() - 1
                }
            };
            let chapters = &mut order[at].1;
            if !chapters.iter().any(|(_, f)| f == file) {
                chapters.push((chapter.name.clone(), file.clone()));
            }
        }
    }
    let metadata = crate::workspace(root)?;
    let under = root.join(folder);
    let mut packages: Vec<_> = metadata
        .packages
        .iter()
        .filter(|p| {
            p.manifest_path
                .parent()
                .and_then(|d| d.parent())
                .is_some_and(|d| d == under)
        })
        .collect();
    let rank = |p: &cargo_metadata::Package| {
        let dir = p
            .manifest_path
            .parent()
            .and_then(|d| d.file_name())
            .unwrap_or_default();
        order
            .iter()
            .position(|(name, _)| name == dir)
            .unwrap_or(usize::MAX)
    };
    packages.sort_by_key(|p| (rank(p), p.name.to_string()));
    let relative = |path: &Path| path.strip_prefix(root).unwrap_or(path).to_owned();
    let mut crates = Vec::new();
    for package in packages {
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
            let source = relative(bin.src_path.as_std_path());
            programs.push(Program {
                command,
                source,
                summary,
            });
        }
        let tests = package
            .targets
            .iter()
            .filter(|t| t.kind.contains(&TargetKind::Test));
        let rank = rank(package);
        crates.push(Crate {
            name: package.name.to_string(),
            description: package.description.clone().unwrap_or_default(),
            programs,
            tests: tests.map(|t| relative(t.src_path.as_std_path())).collect(),
            chapters: order.get(rank).map(|(_, c)| c.clone()).unwrap_or_default(),
        });
    }
    Ok(crates)
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
    let mut in_code = false;
    let mut end = text.len();
    for (i, c) in text.char_indices() {
        match c {
            '`' => in_code = !in_code,
            '.' | ':' if !in_code && text[i + 1..].starts_with(' ') => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    let sentence = text[..end].trim_end_matches(['.', ':']);
    let mut chars = sentence.chars();
    let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
    (
        command,
        format!("{}{}.", first.unwrap_or_default(), chars.as_str()),
    )
}

fn examples_section(crates: &[Crate]) -> String {
    let mut out = String::new();
    for krate in crates {
        let name = &krate.name;
        out += &format!("## {name}\n\n{}\n\n", krate.description);
        for p in &krate.programs {
            out += &format!(
                "- `{}` (`{}`): {}\n",
                p.command,
                p.source.display(),
                p.summary
            );
        }
        if krate.programs.is_empty() {
            out += &format!(
                "- Nothing to run: the programs are the cases under `examples/{name}/tests/`, \
                 and `cargo test -p {name}` compiles each one.\n"
            );
        }
        let code = |p: &PathBuf| format!("`{}`", p.display());
        let tests: Vec<String> = krate.tests.iter().map(code).collect();
        out += &format!("\nTests: {}.", tests.join(", "));
        let link = |(title, file): &(String, PathBuf)| format!("[{title}]({})", file.display());
        let chapters: Vec<String> = krate.chapters.iter().map(link).collect();
        if !chapters.is_empty() {
            out += &format!(" Explained in {}", chapters.join(", "));
            // A title may end the sentence itself: "And async tasks?".
            if !krate
                .chapters
                .iter()
                .last()
                .is_some_and(|(t, _)| t.ends_with('?'))
            {
                out += ".";
            }
        }
        out += "\n\n";
    }
    out
}

fn exercises_section(crates: &[Crate]) -> String {
    let mut out = String::new();
    for krate in crates.iter().filter(|k| !k.chapters.is_empty()) {
        let task = krate
            .description
            .strip_prefix("Exercise: ")
            .unwrap_or(&krate.description);
        let mut task = task.chars();
        let first: String = task
            .next()
            .map(char::to_uppercase)
            .into_iter()
            .flatten()
            .collect();
        let source = krate
            .programs
            .first()
            .map(|p| p.source.display().to_string());
        out += &format!(
            "- `cargo exercises {}` (`{}`): {first}{}\n",
            krate.name,
            source.unwrap_or_default(),
            task.as_str()
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
        let marker = Regex::new(r"<!-- generated: (\S+) -->")?;
        let wanted = book.iter().any(|item| match item {
            BookItem::Chapter(c) => marker.is_match(&c.content),
            _ => false,
        });
        if !wanted {
            return Ok(book);
        }
        let examples = examples_section(&crates(&ctx.root, &book, "examples")?);
        let exercises = exercises_section(&crates(&ctx.root, &book, "exercises")?);
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
