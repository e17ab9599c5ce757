//! `cargo xtask epub`: the book as an EPUB 3 file, `book/processes-vs-threads.epub`, assembled by
//! `epub-builder` from the pages `cargo xtask build` writes: each chapter is the `<main>` of its
//! page (mdBook's HTML there is well-formed XML), in the order and nesting of SUMMARY.md.
//!
//! What changes on the way: every inline SVG (the diagrams, the Cost chapter's charts) becomes
//! an SVG image with its colours fixed to the light palette (an e-reader applies no book.css)
//! on an opaque white background (a reader's night mode would otherwise show dark labels on
//! black); the Cost charts' figures as tables (disclosures, which the charts duplicate) go;
//! each chapter's answers move to an "Answers" section at its end, each question linking there;
//! links between chapters point to their `.xhtml`, and a link to a file the EPUB lacks (the PDF,
//! the tarball) keeps its text and loses its target.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};
use epub_builder::{EpubBuilder, EpubContent, EpubVersion, ReferenceType, ZipLibrary};
use mdbook_driver::MDBook;
use mdbook_preprocessor::book::BookItem;
use regex::Regex;

/// The EPUB's file name, in the built book's folder.
pub const FILE_NAME: &str = "processes-vs-threads.epub";

/// The EPUB's stylesheet: code, tables, figures and answers readable without book.css.
const STYLE: &str = "pre { white-space: pre-wrap; font-size: 0.85em; } \
    code { font-family: monospace; } \
    table { border-collapse: collapse; } td, th { border: 1px solid #888; padding: 0.2em 0.4em; } \
    figure { margin: 1em 0; text-align: center; } img.figure { max-width: 100%; } \
    figcaption { font-style: italic; font-size: 0.9em; } \
    a.header { color: inherit; text-decoration: none; }";

/// One chapter: its title, its built page relative to the book, and its depth in SUMMARY.md.
struct Chapter {
    title: String,
    page: PathBuf,
    level: i32,
}

/// `cargo xtask epub`: builds the book into `dir` and writes `dir/processes-vs-threads.epub`.
pub fn run(root: &Path, dir: &Path) -> Result<PathBuf> {
    let built = crate::build::build(root, dir, false)?;
    if !built.warnings.is_empty() {
        bail!("mdBook warned:\n{}", built.warnings.join("\n"));
    }
    let out = dir.join(FILE_NAME);
    write(root, dir, &out)?;
    Ok(out)
}

/// Writes the book built in `dir` (from the sources at `root`) as an EPUB file `out`.
pub fn write(root: &Path, dir: &Path, out: &Path) -> Result<()> {
    let book = MDBook::load(root).context("loading the book")?;
    let chapters: Vec<Chapter> = book
        .book
        .iter()
        .filter_map(|item| match item {
            BookItem::Chapter(ch) => ch.path.as_ref().map(|p| Chapter {
                title: ch.name.clone(),
                page: p.with_extension("html"),
                level: ch.parent_names.len() as i32 + 1,
            }),
            _ => None,
        })
        .collect();
    let title = book.config.book.title.clone().unwrap_or_default();
    let bytes = assemble(dir, &title, &chapters).map_err(|e| anyhow::anyhow!("{e:#}"))?;
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))
}

fn assemble(dir: &Path, title: &str, chapters: &[Chapter]) -> Result<Vec<u8>> {
    let zip = ZipLibrary::new().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut epub = EpubBuilder::new(zip).map_err(|e| anyhow::anyhow!("{e}"))?;
    epub.epub_version(EpubVersion::V30);
    epub.set_title(title);
    // No author: epub-builder 0.8.3 gives dc:creator and dc:language the same id.
    epub.add_language("en");
    epub.stylesheet(STYLE.as_bytes())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let pages: Vec<&Path> = chapters.iter().map(|c| c.page.as_path()).collect();
    for (n, chapter) in chapters.iter().enumerate() {
        let path = dir.join(&chapter.page);
        let html = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let (body, images) = chapter_body(&html, &chapter.page, &pages)
            .with_context(|| format!("{}", chapter.page.display()))?;
        for (name, svg) in images {
            epub.add_resource(format!("images/{name}"), svg.as_bytes(), "image/svg+xml")
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        let depth = chapter.page.components().count() - 1;
        let xhtml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html>\n\
             <html xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:epub=\"http://www.idpf.org/2007/ops\" \
             lang=\"en\" xml:lang=\"en\"><head><meta charset=\"UTF-8\"/><title>{}</title>\
             <link rel=\"stylesheet\" type=\"text/css\" href=\"{}stylesheet.css\"/></head>\
             <body>{body}</body></html>\n",
            escape(&chapter.title),
            "../".repeat(depth),
        );
        let mut content = EpubContent::new(xhtml_name(&chapter.page), xhtml.as_bytes())
            .title(&chapter.title)
            .level(chapter.level);
        if n == 0 {
            // Where reading starts: the one landmark, which EPUB's navigation needs.
            content = content.reftype(ReferenceType::Text);
        }
        epub.add_content(content)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let mut out = Vec::new();
    epub.generate(&mut out)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(out)
}

fn xhtml_name(page: &Path) -> String {
    page.with_extension("xhtml")
        .to_string_lossy()
        .replace('\\', "/")
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("a valid regex"))
}

/// The chapter's `<main>` as EPUB XHTML, and its SVG images (file name, document).
fn chapter_body(
    html: &str,
    page: &Path,
    pages: &[&Path],
) -> Result<(String, Vec<(String, String)>)> {
    let start = html.find("<main>").context("the page has no <main>")?;
    let end = html.rfind("</main>").context("the page has no </main>")?;
    let main = &html[start + "<main>".len()..end];
    let stem = page
        .with_extension("")
        .to_string_lossy()
        .replace(['/', '\\'], "-");
    let depth = page.components().count() - 1;

    // Inline SVGs become image files with fixed colours.
    static SVG: OnceLock<Regex> = OnceLock::new();
    static TITLE: OnceLock<Regex> = OnceLock::new();
    let svg = re(&SVG, r"(?s)<svg\b.*?</svg>");
    let title = re(
        &TITLE,
        r"(?s)<title[^>]*>(.*?)</title>(?:\s*<desc[^>]*>(.*?)</desc>)?",
    );
    let mut images = Vec::new();
    let main = svg.replace_all(main, |c: &regex::Captures| {
        let mut doc = svg_attribute_case(&crate::diagrams::fixed_colours(&c[0]));
        if !doc.contains("xmlns=") {
            doc = doc.replacen("<svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"", 1);
        }
        doc = white_background(&doc);
        let alt = title.captures(&doc).map_or_else(String::new, |t| {
            [t.get(1), t.get(2)]
                .iter()
                .flatten()
                .map(|m| m.as_str().trim())
                .collect::<Vec<_>>()
                .join(". ")
        });
        let name = format!("{stem}-{}.svg", images.len() + 1);
        let img = format!(
            "<img class=\"figure\" src=\"{}images/{name}\" alt=\"{alt}\"/>",
            "../".repeat(depth)
        );
        images.push((
            name,
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{doc}\n"),
        ));
        img
    });

    let main = crate::build::open_answers(&main);
    static CHART_TABLE: OnceLock<Regex> = OnceLock::new();
    let main = re(
        &CHART_TABLE,
        r#"(?s)<details class="chart-table">.*?</details>"#,
    )
    .replace_all(&main, "");
    // Raw HTML in the chapters may leave a void element open, as HTML allows and XHTML does not.
    static VOID: OnceLock<Regex> = OnceLock::new();
    let main = re(&VOID, r"<(br|hr|wbr)\b([^>]*?)\s*/?>").replace_all(&main, "<$1$2/>");

    // Links: to chapters (.xhtml), to nothing in the EPUB (text only).
    static LINK: OnceLock<Regex> = OnceLock::new();
    let link = re(
        &LINK,
        r##"(?s)<a href="([^"#:]*\.[a-z.]+)(#[^"]*)?"([^>]*)>(.*?)</a>"##,
    );
    let here = page.parent().unwrap_or(Path::new(""));
    let main = link.replace_all(&main, |c: &regex::Captures| {
        let target = normalise(&here.join(&c[1]));
        if pages.iter().any(|p| *p == target) {
            let href = Path::new(&c[1]).with_extension("xhtml");
            format!(
                "<a href=\"{}{}\"{}>{}</a>",
                href.to_string_lossy(),
                c.get(2).map_or("", |m| m.as_str()),
                &c[3],
                &c[4]
            )
        } else {
            c[4].to_owned()
        }
    });
    Ok((main.into_owned(), images))
}

/// `svg` with a white rectangle under everything it draws, over its whole viewBox (after its
/// title and description, which stay its first children).
fn white_background(svg: &str) -> String {
    static VIEW_BOX: OnceLock<Regex> = OnceLock::new();
    static AFTER: OnceLock<Regex> = OnceLock::new();
    let Some(v) = re(
        &VIEW_BOX,
        r#"viewBox="([-\d.]+) ([-\d.]+) ([\d.]+) ([\d.]+)""#,
    )
    .captures(svg) else {
        return svg.to_owned();
    };
    let rect = format!(
        r##"<rect x="{}" y="{}" width="{}" height="{}" fill="#ffffff"/>"##,
        &v[1], &v[2], &v[3], &v[4]
    );
    // After the opening tag, its <title> and its <desc>.
    let after = re(
        &AFTER,
        r"(?s)^.*?<svg\b[^>]*>(\s*<title\b.*?</title>)?(\s*<desc\b.*?</desc>)?",
    );
    match after.find(svg) {
        Some(m) => format!("{}{rect}{}", &svg[..m.end()], &svg[m.end()..]),
        None => svg.to_owned(),
    }
}

/// `svg` with the mixed-case attribute names of SVG restored: mdBook writes its pages as HTML,
/// where they are case-insensitive and come out lowercased; an SVG file is XML.
fn svg_attribute_case(svg: &str) -> String {
    const NAMES: [&str; 10] = [
        "viewBox",
        "preserveAspectRatio",
        "markerWidth",
        "markerHeight",
        "markerUnits",
        "refX",
        "refY",
        "textLength",
        "lengthAdjust",
        "gradientUnits",
    ];
    NAMES.iter().fold(svg.to_owned(), |svg, name| {
        svg.replace(&format!(" {}=", name.to_lowercase()), &format!(" {name}="))
    })
}

/// `a/../b` as `b`.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
