//! `cargo exercises`: builds the exercises and checks each, one line apiece, done or not yet
//! and why. `cargo exercises NAME` checks one (and shows the compiler's errors, if any);
//! `cargo exercises --watch` checks them all again whenever a file under `exercises/` changes.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, SystemTime};

use exercises::{EXERCISES, Exercise, LIMIT, exercise, verdict_line};

const USAGE: &str = "usage: cargo exercises [NAME | --watch]";

fn main() -> ExitCode {
    // Ctrl-C ends this process; each program's guard then kills what it left (`GUARD`).
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => list(),
        ["--watch"] => watch(),
        ["--help" | "-h"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        [name] if exercise(name).is_some() => one(exercise(name).expect("known")),
        _ => {
            let names: Vec<&str> = EXERCISES.iter().map(|e| e.name).collect();
            eprintln!(
                "exercises: error: {USAGE}, where NAME is one of {}",
                names.join(", ")
            );
            ExitCode::from(2)
        }
    }
}

/// The workspace root: `cargo run` says where this crate is (`exercises/check`).
fn root() -> PathBuf {
    let here = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    here.join("../..")
}

/// Builds the starters of `exercises`; `Err` holds cargo's messages, which `show` prints.
fn build(exercises: &[&Exercise], show: bool) -> Result<(), String> {
    let terminal = std::io::stderr().is_terminal();
    let color = if show && terminal { "always" } else { "never" };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(["build", "--quiet", "--color", color]);
    for e in exercises {
        command.args(["-p", e.name, "--bin", e.name]);
    }
    // A first build takes a while, and `--quiet` shows nothing: say so on a terminal, and
    // erase the line once it is done.
    if terminal {
        eprint!("building the exercises…");
    }
    let output = command.current_dir(root()).output();
    if terminal {
        eprint!("\r\x1b[K");
    }
    let out = output.map_err(|e| format!("could not run cargo: {e}"))?;
    let messages = String::from_utf8_lossy(&out.stderr).into_owned();
    if show {
        eprint!("{messages}");
    }
    if out.status.success() {
        Ok(())
    } else {
        Err(messages)
    }
}

/// Where cargo put the starters: beside this program.
fn starter(e: &Exercise) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.with_file_name(e.name)
}

fn one(e: &Exercise) -> ExitCode {
    let verdict = match build(&[e], true) {
        Ok(()) => e.check(&starter(e), LIMIT).verdict,
        Err(_) => Err("it does not compile (the errors are above)".into()),
    };
    println!("{}", verdict_line(e.name, &verdict));
    if verdict.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Checks every exercise at once; one line each, then what to do next.
fn list() -> ExitCode {
    let all: Vec<&Exercise> = EXERCISES.iter().collect();
    // One build for all; if it fails, one each, to tell which do not compile.
    let compiles: Vec<bool> = match build(&all, false) {
        Ok(()) => vec![true; all.len()],
        Err(_) => all.iter().map(|e| build(&[e], false).is_ok()).collect(),
    };
    let verdicts: Vec<_> = std::thread::scope(|s| {
        let checks: Vec<_> = all
            .iter()
            .zip(&compiles)
            .map(|(e, ok)| {
                s.spawn(move || match ok {
                    true => e.check(&starter(e), LIMIT).verdict,
                    false => Err(format!("it does not compile: `cargo exercises {}`", e.name)),
                })
            })
            .collect();
        checks
            .into_iter()
            .map(|c| c.join().expect("a check"))
            .collect()
    });
    for (e, verdict) in all.iter().zip(&verdicts) {
        println!("{}", verdict_line(e.name, verdict));
    }
    let done = verdicts.iter().filter(|v| v.is_ok()).count();
    match all.iter().zip(&verdicts).find(|(_, v)| v.is_err()) {
        None => {
            println!("\nAll {done} exercises done.");
            ExitCode::SUCCESS
        }
        Some((next, _)) => {
            println!(
                "\n{done} of {} done. Next: exercises/{}/README.md, then `cargo exercises {}`.",
                all.len(),
                next.name,
                next.name
            );
            ExitCode::FAILURE
        }
    }
}

/// The newest modification time of the files the reader edits, polled twice a second: a
/// dozen small files need no file-watching library.
fn watch() -> ExitCode {
    let dir = root().join("exercises");
    let mut seen = None;
    loop {
        let now = newest(&dir);
        if seen != Some(now) {
            seen = Some(now);
            list();
            println!("Watching exercises/ for changes; Ctrl-C stops.");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn newest(dir: &Path) -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    for e in &EXERCISES {
        let mut dirs = vec![dir.join(e.name)];
        while let Some(d) = dirs.pop() {
            for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if let Ok(modified) = entry.metadata().and_then(|m| m.modified()) {
                    newest = newest.max(modified);
                }
            }
        }
    }
    newest
}
