//! Shared by the book-wide checks: where things are, the one build of the book a test binary
//! makes, and small parsers for the Markdown sources.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;

pub use xtask::build::Built;

/// The repository root.
pub fn root() -> PathBuf {
    xtask::root()
}

/// Builds the book once per test binary into `dest` (a folder under `target/`).
pub fn built(dest: &Path) -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| xtask::build::build(&root(), dest, false).expect("the book builds"))
}

/// A Markdown source of the book, relative to `src/`.
pub struct Page {
    pub rel: PathBuf,
    pub path: PathBuf,
    pub text: String,
}

/// The ten aspects of the comparison table in the source texts, in the table's order.
pub const ASPECTS: [&str; 10] = [
    "Definition",
    "Memory space",
    "Resource sharing",
    "Creation time",
    "Context switching",
    "Communication",
    "Overhead",
    "Crash impact",
    "Synchronization",
    "Use cases",
];

/// Every file below `dir` whose name ends in `.ext`, sorted.
pub fn files_with_extension(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(dir) = dirs.pop() {
        let entries =
            std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Every `.md` file under `src/` except `SUMMARY.md`.
pub fn pages() -> Vec<Page> {
    let src = root().join("src");
    files_with_extension(&src, "md")
        .into_iter()
        .filter(|path| !path.ends_with("SUMMARY.md"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("reading a chapter");
            let rel = path.strip_prefix(&src).expect("under src").to_owned();
            Page { rel, path, text }
        })
        .collect()
}

/// An `{{#include …}}` or `{{#rustdoc_include …}}` directive.
#[derive(Debug)]
pub struct Include {
    pub file: PathBuf,
    /// Anchor name or line range after the `:`, if any.
    pub selector: Option<String>,
    pub directive: String,
}

pub fn includes(page: &Page) -> Vec<Include> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"\{\{#(?:include|rustdoc_include)\s+([^}\s]+)\s*\}\}").expect("regex")
    });
    let dir = page.path.parent().expect("a chapter has a folder");
    re.captures_iter(&page.text)
        .map(|c| {
            let arg = &c[1];
            let (file, selector) = match arg.split_once(':') {
                Some((f, s)) => (f, Some(s.to_owned())),
                None => (arg, None),
            };
            Include {
                file: dir.join(file),
                selector,
                directive: c[0].to_owned(),
            }
        })
        .collect()
}

/// Fenced code blocks: (info string, body, line number of the opening fence).
pub fn code_blocks(text: &str) -> Vec<(String, String, usize)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String, usize, usize)> = None; // info, body, line, fence len
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let ticks = trimmed.chars().take_while(|&c| c == '`').count();
        match &mut open {
            None if ticks >= 3 => {
                open = Some((
                    trimmed[ticks..].trim().to_owned(),
                    String::new(),
                    n + 1,
                    ticks,
                ));
            }
            Some((_, _, _, len)) if ticks >= *len && trimmed[ticks..].trim().is_empty() => {
                let (info, body, line_no, _) = open.take().expect("open block");
                blocks.push((info, body, line_no));
            }
            Some((_, body, _, _)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// Names of the workspace's packages and the files their targets compile from, via
/// `cargo metadata`.
pub struct Workspace {
    pub packages: Vec<(String, PathBuf)>,
    pub target_sources: Vec<PathBuf>,
    /// Every binary target: (package, binary name).
    pub bins: Vec<(String, String)>,
}

pub fn workspace() -> Workspace {
    let mut cargo = test_support::command(
        env!("CARGO"),
        &[
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ],
    );
    cargo.current_dir(root());
    let output = test_support::run_command(cargo);
    output.assert_success();
    let json: serde_json::Value = serde_json::from_str(&output.stdout).expect("metadata JSON");
    let mut packages = Vec::new();
    let mut target_sources = Vec::new();
    let mut bins = Vec::new();
    for package in json["packages"].as_array().expect("packages") {
        let manifest = PathBuf::from(package["manifest_path"].as_str().expect("manifest"));
        let dir = manifest.parent().expect("package dir").to_owned();
        packages.push((package["name"].as_str().expect("name").to_owned(), dir));
        for target in package["targets"].as_array().expect("targets") {
            let is_bin = target["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"));
            if is_bin {
                bins.push((
                    package["name"].as_str().expect("name").to_owned(),
                    target["name"].as_str().expect("target name").to_owned(),
                ));
            }
            target_sources.push(PathBuf::from(
                target["src_path"].as_str().expect("src_path"),
            ));
        }
    }
    Workspace {
        packages,
        target_sources,
        bins,
    }
}
