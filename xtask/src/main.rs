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
    /// Run every test (`cargo test --workspace --no-fail-fast`), then list every test that was
    /// skipped because something it needs is missing here.
    Test,
    /// Build the book once into `book/` (or --dest) and fail on any mdBook warning.
    Build {
        #[arg(long)]
        dest: Option<std::path::PathBuf>,
    },
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
        Command::Test => return xtask::test::run(&root),
        Command::Build { dest } => {
            let dest = dest.unwrap_or_else(|| root.join("book"));
            xtask::build::build(&root, &dest, true).and_then(|built| {
                if built.warnings.is_empty() {
                    println!("Built the book into {}", built.dir.display());
                    Ok(())
                } else {
                    anyhow::bail!("mdBook warned:\n{}", built.warnings.join("\n"))
                }
            })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
