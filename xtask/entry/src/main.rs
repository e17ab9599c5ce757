//! `cargo xtask …`: `test` runs here; `book`, `build`, `pdf`, `tarball` and `--help` are
//! xtask's, run with `cargo run --package xtask`.

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = xtask_entry::root();
    match args.first().map(String::as_str) {
        Some("test") if args.len() == 1 => return xtask_entry::test::run(&root),
        Some("test") => {
            eprintln!(
                "error: `cargo xtask test` takes no arguments (got {:?})",
                &args[1..]
            );
            return ExitCode::from(2);
        }
        _ => {}
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["run", "--quiet", "--package", "xtask", "--"])
        .args(&args)
        .current_dir(&root)
        .status();
    match status {
        Ok(status) => ExitCode::from(status.code().map_or(1, |c| c as u8)),
        Err(e) => {
            eprintln!("error: could not run cargo: {e}");
            ExitCode::FAILURE
        }
    }
}
