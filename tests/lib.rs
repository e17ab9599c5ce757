//! Shared by the book-wide checks: the repository, the one build of the book a test binary
//! makes, and the chapters' sources.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use xtask::build::Built;

pub fn root() -> PathBuf {
    xtask::root().expect("the tests run inside the repository")
}

/// Builds the book once per test binary into `dest` (a folder under `target/`).
pub fn built(dest: &Path) -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| xtask::build::build(&root(), dest, false).expect("the book builds"))
}

/// A Markdown source of the book.
pub struct Page {
    /// Relative to `src/`.
    pub rel: PathBuf,
    pub text: String,
}

/// Every file below `dir` whose name ends in `.ext`, sorted.
pub fn files_with_extension(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let files = xtask::files_below(dir).unwrap_or_else(|e| panic!("{e:#}"));
    let has = |p: &PathBuf| p.extension().is_some_and(|e| e == ext);
    files.into_iter().filter(has).collect()
}

/// Every `.md` file under `src/` except `SUMMARY.md`.
pub fn pages() -> Vec<Page> {
    let src = root().join("src");
    let page = |path: PathBuf| Page {
        text: std::fs::read_to_string(&path).expect("reading a chapter"),
        rel: path.strip_prefix(&src).expect("under src").to_owned(),
    };
    let chapters = files_with_extension(&src, "md").into_iter();
    chapters.filter(|p| !p.ends_with("SUMMARY.md")).map(page).collect()
}
