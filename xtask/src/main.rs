//! `cargo xtask <command>`: the project's automation. `cargo book` is `cargo xtask book`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    Build {
        #[arg(long)]
        dest: Option<std::path::PathBuf>,
    },
    /// Build the book into `book/` (or --dest) and print it to `processes-vs-threads.pdf` there,
    /// with headless Chromium (needs `chromium` and `chromedriver`).
    Pdf {
        #[arg(long)]
        dest: Option<std::path::PathBuf>,
    },
    /// Write the example crates, as a workspace of their own, to
    /// `book/processes-vs-threads-examples.tar.gz` (or into --dest).
    Tarball {
        #[arg(long)]
        dest: Option<std::path::PathBuf>,
    },
    /// Build the book into `book/` (or --dest) and write it as an EPUB,
    /// `processes-vs-threads.epub`, there.
    Epub {
        #[arg(long)]
        dest: Option<std::path::PathBuf>,
    },
    /// The diagrams preprocessor for the stock `mdbook` CLI (book.toml runs it).
    #[command(hide = true)]
    DiagramsPreprocessor {
        #[command(subcommand)]
        supports: Option<Supports>,
    },
    /// The questions preprocessor for the stock `mdbook` CLI (book.toml runs it).
    #[command(hide = true)]
    QuestionsPreprocessor {
        #[command(subcommand)]
        supports: Option<Supports>,
    },
}

#[derive(Subcommand)]
enum Supports {
    /// mdBook asks whether a renderer is supported.
    Supports { renderer: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = xtask::root();
    let result = match cli.command {
        Command::Book { port, no_open } => xtask::serve::serve(
            &root,
            xtask::serve::Options {
                port,
                open: !no_open,
            },
        ),
        Command::Test => return xtask_entry::test::run(&root),
        Command::Build { dest } => {
            let dest = dest.unwrap_or_else(|| root.join("book"));
            xtask::build::build(&root, &dest, true).and_then(|built| {
                built.fail_on_warnings()?;
                println!("Built the book into {}", built.dir.display());
                Ok(())
            })
        }
        Command::Pdf { dest } => {
            let dest = dest.unwrap_or_else(|| root.join("book"));
            xtask::pdf::run(&root, &dest, &xtask::tmp_dir(&root)).map(|pdf| {
                println!("Printed the book to {}", pdf.display());
            })
        }
        Command::Tarball { dest } => {
            let dest = dest.unwrap_or_else(|| root.join("book"));
            xtask::tarball::run(&root, &dest).map(|tarball| {
                println!("Wrote the examples to {}", tarball.display());
            })
        }
        Command::Epub { dest } => {
            let dest = dest.unwrap_or_else(|| root.join("book"));
            xtask::epub::run(&root, &dest).map(|epub| {
                println!("Wrote the EPUB to {}", epub.display());
            })
        }
        Command::DiagramsPreprocessor { supports } => xtask::preprocess_stdio(
            &xtask::diagrams::Diagrams,
            supports
                .as_ref()
                .map(|Supports::Supports { renderer }| renderer.as_str()),
        ),
        Command::QuestionsPreprocessor { supports } => xtask::questions::run_as_command(
            supports
                .as_ref()
                .map(|Supports::Supports { renderer }| renderer.as_str()),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line per problem: several come as lines of one error.
            for line in format!("{e:#}").lines() {
                eprintln!("error: {line}");
            }
            ExitCode::FAILURE
        }
    }
}
