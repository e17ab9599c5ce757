//! Shared by the book-wide checks: where things are, the one build of the book a test binary
//! makes, and small parsers for the Markdown sources.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;

pub use xtask::build::Built;

/// The repository root.
pub fn root() -> PathBuf {
    xtask::root().expect("the tests run inside the repository")
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
    let files = xtask::files_below(dir).unwrap_or_else(|e| panic!("{e:#}"));
    files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect()
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
    let metadata = xtask::workspace(&root()).unwrap_or_else(|e| panic!("{e:#}"));
    let mut ws = Workspace {
        packages: Vec::new(),
        target_sources: Vec::new(),
        bins: Vec::new(),
    };
    for package in metadata.packages {
        let dir = package.manifest_path.parent().expect("package dir");
        ws.packages.push((package.name.to_string(), dir.into()));
        for target in package.targets {
            if target.is_bin() {
                ws.bins
                    .push((package.name.to_string(), target.name.clone()));
            }
            ws.target_sources.push(target.src_path.into());
        }
    }
    ws
}
