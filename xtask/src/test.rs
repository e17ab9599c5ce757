//! `cargo xtask test`: the README's test command.
//!
//! 1. `cargo fmt --all --check`: stops here if a file is not formatted.
//! 2. One build of every target (`cargo test --workspace --all-targets --no-run`), with Clippy's
//!    driver compiling the workspace's own crates (`build.rustc-workspace-wrapper`, as `cargo
//!    clippy` does it), so that one build both lints (`-D warnings`) and makes the test binaries;
//!    a separate `cargo clippy` would compile every dependency again, in check mode. Without
//!    clippy-driver in the toolchain, rustc builds and the run says the code was not linted.
//! 3. The tests, `--no-fail-fast` (no doctests: the workspace has none), in two runs at once:
//!    the examples' and exercises', and the book's (`book-checks`, `xtask`; cargo runs the test
//!    binaries of one run one after another). The book's output follows the others', whole.
//! 4. Lists every test that skipped itself because something it needs is missing on this
//!    machine (a browser, `strace`, root for the tests that switch to user `nobody`). Each skip
//!    is also printed where it happens, past the test harness's output capture; under CI a skip
//!    fails its test instead (see `test_support::skipped`).

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

// The one rule for "under CI", shared by source with test-support (which xtask does not build
// for `cargo book`).
#[path = "../../crates/test-support/src/ci.rs"]
mod ci;

/// The packages whose tests check the book (building it, in Chromium, with Java), run beside
/// the tests of the examples and exercises (spawning programs): two runs at once keep two cores
/// busy.
const BOOK: [&str; 2] = ["book-checks", "xtask"];

/// Runs the whole suite from the repository root `root`: an error if formatting is off or a
/// tool is missing under CI, `Ok(false)` if a lint or a test failed.
pub fn run(root: &Path) -> Result<bool> {
    let log = crate::target_dir(root).join("skipped-tests.txt");
    // Skips are appended by the tests of this run only.
    let _ = std::fs::remove_file(&log);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let sysroot = sysroot(root);
    let mut skipped = Vec::new();
    // A tool of the toolchain (rustup's `component`), or a loud skip of `what` (under CI, an
    // error).
    let mut tool = |name: &str, component: &str, what: &str| -> Result<Option<PathBuf>> {
        let path = sysroot.as_ref().map(|s| s.join("bin").join(name));
        let path = path.filter(|p| p.is_file());
        if path.is_none() {
            let why = format!(
                "{what}: {name} not found in the toolchain (rustup component add {component})"
            );
            if ci::in_ci() {
                bail!("{why}");
            }
            eprintln!("*** SKIPPED {why}");
            skipped.push(why);
        }
        Ok(path)
    };
    if tool("rustfmt", "rustfmt", "formatting was not checked")?.is_some() {
        let mut fmt = Command::new(&cargo);
        fmt.args(["fmt", "--all", "--check"]).current_dir(root);
        ensure!(
            fmt.status().context("running cargo fmt")?.success(),
            "some files are not formatted (the diff is above); run `cargo fmt --all`"
        );
    }
    let clippy = tool("clippy-driver", "clippy", "the code was not linted")?;
    let cargo_test = |args: &[&str]| {
        let mut test = Command::new(&cargo);
        test.arg("test").args(args).current_dir(root);
        if let Some(driver) = &clippy {
            let mut wrapper = OsString::from("build.rustc-workspace-wrapper='");
            wrapper.push(driver.as_os_str());
            wrapper.push("'");
            // cargo-clippy's way of passing its arguments to the driver.
            test.arg("--config").arg(wrapper).env("CLIPPY_ARGS", "-Dwarnings__CLIPPY_HACKERY__");
        }
        test
    };
    let built = cargo_test(&["--workspace", "--all-targets", "--no-run"]).status();
    let mut passed = built.context("running cargo test")?.success();
    if passed {
        // Both runs name the whole workspace, as the build did: fewer packages would resolve
        // other features of the dependencies, and build them again.
        let targets = crate::workspace(root)?.packages.into_iter().flat_map(|p| {
            let book = BOOK.contains(&p.name.as_str());
            p.targets.into_iter().filter(|t| t.is_test()).map(move |t| (book, t.name))
        });
        let (book, examples): (Vec<_>, Vec<_>) = targets.partition(|(book, _)| *book);
        let run = |first: &[&str], tests: &[(bool, String)]| {
            let mut test = cargo_test(first);
            test.args(["--workspace", "--no-fail-fast"]);
            tests.iter().for_each(|(_, name)| _ = test.args(["--test", name]));
            test
        };
        // The book's tests, their output (stdout and stderr in one pipe) read meanwhile.
        let (output, into) = std::io::pipe().context("making a pipe")?;
        let mut book = run(&[], &book);
        book.stdout(into.try_clone()?).stderr(into);
        let mut child = book.spawn().context("running cargo test")?;
        drop(book); // Its ends of the pipe: the reader then sees the end of the output.
        let (running, started) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let lines = BufReader::new(output).lines().map_while(Result::ok);
            let mut text = String::new();
            for line in lines {
                if line.trim_start().starts_with("Running") {
                    let _ = running.send(());
                }
                text = text + &line + "\n";
            }
            text
        });
        // Once it runs tests: two cargos checking the build at once wait for each other's lock,
        // and say so.
        let _ = started.recv();
        let examples = run(&["--lib", "--bins"], &examples).status();
        passed = examples.context("running cargo test")?.success();
        print!("\n{}", reader.join().expect("reading the output"));
        passed &= child.wait().context("waiting for cargo test")?.success();
    }

    let log = std::fs::read_to_string(&log).unwrap_or_default();
    skipped.extend(log.lines().filter(|l| !l.is_empty()).map(str::to_owned));
    match skipped.len() {
        0 => println!("\nNo test was skipped."),
        n => println!("\n{n} tests were skipped (they checked nothing):"),
    }
    for line in &skipped {
        println!("  {line}");
    }
    Ok(passed)
}

/// The sysroot of the toolchain that builds the workspace, where `rustfmt` and
/// `clippy-driver` are when the toolchain has them.
fn sysroot(root: &Path) -> Option<PathBuf> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    // From the root, so that rustup picks the toolchain rust-toolchain.toml pins.
    let out = Command::new(rustc).args(["--print", "sysroot"]).current_dir(root).output().ok()?;
    let sysroot = String::from_utf8(out.stdout).ok()?;
    Some(PathBuf::from(sysroot.trim()))
}
