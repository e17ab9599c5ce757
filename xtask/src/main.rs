//! `cargo xtask <command>`: the project's automation. `cargo book` is `cargo xtask book`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use mdbook_preprocessor::Preprocessor;

#[derive(Parser)]
#[command(about = "Build, serve and check the processes-vs-threads book")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the book, serve it on 127.0.0.1, rebuild and reload when sources change.
    Book {
        /// Port to listen on (127.0.0.1 only).
        #[arg(long, default_value_t = 3000)]
        port: u16,
        /// Do not try to open a browser.
        #[arg(long)]
        no_open: bool,
    },
    /// Check formatting, run every test with Clippy linting the same build, then list every
    /// test that was skipped because something it needs is missing here.
    Test,
    /// Build the book once into `book/` (or --dest) and fail on any mdBook warning.
    Build(Dest),
    /// Build the book into `book/` (or --dest) and print it to `processes-vs-threads.pdf` there,
    /// with headless Chromium (needs `chromium` and `chromedriver`).
    Pdf(Dest),
    /// Write the example crates, as a workspace of their own, to
    /// `book/processes-vs-threads-examples.tar.gz` (or into --dest).
    Tarball(Dest),
    /// Build the book into `book/` (or --dest) and write it as an EPUB,
    /// `processes-vs-threads.epub`, there.
    Epub(Dest),
    /// This crate's preprocessors (`diagrams`, `questions`, `examples`) for the stock `mdbook`
    /// CLI (book.toml runs them). `supports RENDERER`: mdBook asks whether a renderer is
    /// supported.
    #[command(hide = true)]
    Preprocessor { name: String, supports: Vec<String> },
}

#[derive(Args)]
struct Dest {
    /// The folder to write into (default: `book/`).
    #[arg(long)]
    dest: Option<PathBuf>,
}

fn main() -> ExitCode {
    let command = Cli::parse().command;
    match xtask::root().and_then(|root| run(command, &root)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            // One line per problem: several come as lines of one error.
            for line in format!("{e:#}").lines() {
                eprintln!("error: {line}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Runs `command` in the checkout at `root`; `Ok(false)` when tests failed.
fn run(command: Command, root: &Path) -> anyhow::Result<bool> {
    let dest = |d: Dest| d.dest.unwrap_or_else(|| root.join("book"));
    let (done, path) = match command {
        Command::Book { port, no_open } => {
            return xtask::serve::serve(root, port, !no_open).map(|()| true);
        }
        Command::Test => return xtask::test::run(root),
        Command::Build(d) => {
            let dir = dest(d);
            xtask::build::build(root, &dir, true)?.fail_on_warnings()?;
            ("Built the book into", dir)
        }
        Command::Pdf(d) => {
            ("Printed the book to", xtask::pdf::run(root, &dest(d), &xtask::tmp_dir(root))?)
        }
        Command::Tarball(d) => ("Wrote the examples to", xtask::tarball::run(root, &dest(d))?),
        Command::Epub(d) => ("Wrote the EPUB to", xtask::epub::run(root, &dest(d))?),
        Command::Preprocessor { name, supports } => {
            // Every renderer: what they insert is plain Markdown.
            if supports.is_empty() {
                preprocess(&name)?;
            }
            return Ok(true);
        }
    };
    println!("{done} {}", path.display());
    Ok(true)
}

/// `cargo xtask preprocessor NAME`: one of this crate's preprocessors for the stock `mdbook`
/// CLI, which sends the book as JSON on stdin and reads it back on stdout.
fn preprocess(name: &str) -> anyhow::Result<()> {
    let preprocessor: &dyn Preprocessor = match name {
        "diagrams" => &xtask::diagrams::Diagrams,
        "questions" => &xtask::questions::Questions,
        "examples" => &xtask::examples::Examples,
        _ => bail!("no preprocessor called {name:?} (diagrams, questions, examples)"),
    };
    let (ctx, book) =
        mdbook_preprocessor::parse_input(std::io::stdin()).map_err(|e| anyhow!("{e:#}"))?;
    let book = preprocessor.run(&ctx, book).map_err(|e| anyhow!("{e:#}"))?;
    serde_json::to_writer(std::io::stdout(), &book).context("writing the book")
}
