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
    /// Its binary's name.
    pub bin: String,
    /// How a reader runs it: the command its doc comment starts with, or `cargo run -p …`.
    pub command: String,
    /// Its source file, relative to the repository root.
    pub source: PathBuf,
    /// The first sentence of its doc comment.
    pub summary: String,
}

/// The crates under `root/folder/` (`examples` or `exercises`) in the order the book's numbered
/// chapters first include them; crates no chapter includes come last.
pub fn crates(root: &Path, folder: &str) -> Result<Vec<Crate>> {
    let book = mdbook_driver::MDBook::load(root)
        .context("loading the book")?
        .book;
    let include = format!(r"\{{\{{#(?:rustdoc_)?include\s+(?:\.\./)+{folder}/([^/\s}}]+)/");
    let include = Regex::new(&include)?;
    // Each numbered chapter, with the crates its includes name, in order.
    let mut chapters = Vec::new();
    for item in book.iter() {
        if let BookItem::Chapter(c) = item
            && let (Some(_), Some(file)) = (&c.number, &c.source_path)
        {
            let names: Vec<String> = include
                .captures_iter(&c.content)
                .map(|c| c[1].into())
                .collect();
            chapters.push(((c.name.clone(), file.clone()), names));
        }
    }
    let relative = |path: &Path| path.strip_prefix(root).unwrap_or(path).to_owned();
    let mut crates = Vec::new();
    for package in crate::workspace(root)?.packages {
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
        let marker = Regex::new(r"<!-- generated: (\S+) -->")?;
        let examples = section(&crates(&ctx.root, "examples")?, "");
        let exercises = exercises_section(&crates(&ctx.root, "exercises")?);
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
