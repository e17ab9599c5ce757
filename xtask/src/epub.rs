//! `cargo xtask epub`: the book as an EPUB 3 file, `book/processes-vs-threads.epub`, assembled by
//! `epub-builder` from the pages `cargo xtask build` writes: each chapter is the `<main>` of its
//! page (mdBook's HTML there is well-formed XML), in the order and nesting of SUMMARY.md.
//!
//! What changes on the way: every inline SVG (the diagrams, the Cost chapter's charts) becomes
//! an SVG image with its colours fixed to the light palette (an e-reader applies no book.css)
//! on an opaque white background (a reader's night mode would otherwise show dark labels on
//! black); the Cost charts' figures as tables (disclosures, which the charts duplicate) go;
//! each chapter's answers, already in a section before its `## Run it`, are opened (nothing on an
//! e-reader opens a `<details>`);
//! links between chapters point to their `.xhtml`, and a link to a file the EPUB lacks (the PDF,
//! the tarball) keeps its text and loses its target.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use epub_builder::{EpubBuilder, EpubContent, EpubVersion, ReferenceType, ZipLibrary};
use mdbook_driver::MDBook;
use mdbook_preprocessor::book::BookItem;

use crate::diagrams::{escape, re};

/// The EPUB's file name, in the built book's folder.
pub const FILE_NAME: &str = "processes-vs-threads.epub";

/// The EPUB's stylesheet: code, tables, figures and answers readable without book.css.
const STYLE: &str = "pre { white-space: pre-wrap; font-size: 0.85em; } \
    code { font-family: monospace; } \
    table { border-collapse: collapse; } td, th { border: 1px solid #888; padding: 0.2em 0.4em; } \
    figure { margin: 1em 0; text-align: center; } img.figure { max-width: 100%; } \
    figcaption { font-style: italic; font-size: 0.9em; } \
    a.header { color: inherit; text-decoration: none; }";

/// `cargo xtask epub`: builds the book into `dir` and writes `dir/processes-vs-threads.epub`.
pub fn run(root: &Path, dir: &Path) -> Result<PathBuf> {
    crate::build::build(root, dir, false)?.fail_on_warnings()?;
    let out = dir.join(FILE_NAME);
    write(root, dir, &out)?;
    Ok(out)
}

/// Writes the book built in `dir` (from the sources at `root`) as an EPUB file `out`.
pub fn write(root: &Path, dir: &Path, out: &Path) -> Result<()> {
    let book = MDBook::load(root).context("loading the book")?;
    // Each chapter: its title, its built page relative to the book, its depth in SUMMARY.md.
    let chapters: Vec<(&str, PathBuf, usize)> = (book.book.iter())
        .filter_map(|item| match item {
            BookItem::Chapter(ch) => ch
                .path
                .as_ref()
                .map(|p| (ch.name.as_str(), p.with_extension("html"), ch.parent_names.len())),
            _ => None,
        })
        .collect();
    let pages: Vec<&Path> = chapters.iter().map(|c| c.1.as_path()).collect();
    let e = |e: epub_builder::Error| anyhow!("{e}");
    let mut epub = EpubBuilder::new(ZipLibrary::new().map_err(e)?).map_err(e)?;
    epub.epub_version(EpubVersion::V30);
    epub.set_title(book.config.book.title.clone().unwrap_or_default());
    // No author: epub-builder 0.8.3 gives dc:creator and dc:language the same id.
    epub.add_language("en");
    epub.stylesheet(STYLE.as_bytes()).map_err(e)?;
    for (n, (title, page, level)) in chapters.iter().enumerate() {
        let path = dir.join(page);
        let html = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let (body, images) =
            chapter_body(&html, page, &pages).with_context(|| page.display().to_string())?;
        for (name, svg) in images {
            epub.add_resource(format!("images/{name}"), svg.as_bytes(), "image/svg+xml")
                .map_err(e)?;
        }
        let up = "../".repeat(page.components().count() - 1);
        let xhtml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html>\n\
             <html xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:epub=\"http://www.idpf.org/2007/ops\" \
             lang=\"en\" xml:lang=\"en\"><head><meta charset=\"UTF-8\"/><title>{}</title>\
             <link rel=\"stylesheet\" type=\"text/css\" href=\"{up}stylesheet.css\"/></head>\
             <body>{body}</body></html>\n",
            escape(title),
        );
        let name = page.with_extension("xhtml").display().to_string();
        let mut content =
            EpubContent::new(name, xhtml.as_bytes()).title(*title).level(*level as i32 + 1);
        if n == 0 {
            // Where reading starts: the one landmark, which EPUB's navigation needs.
            content = content.reftype(ReferenceType::Text);
        }
        epub.add_content(content).map_err(e)?;
    }
    let mut bytes = Vec::new();
    epub.generate(&mut bytes).map_err(e)?;
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))
}

/// The chapter's `<main>` as EPUB XHTML, and its SVG images (file name, document).
fn chapter_body(
    html: &str,
    page: &Path,
    pages: &[&Path],
) -> Result<(String, Vec<(String, String)>)> {
    let start = html.find("<main>").context("the page has no <main>")? + "<main>".len();
    let main = &html[start..html.rfind("</main>").context("the page has no </main>")?];
    let stem = page.with_extension("").display().to_string().replace('/', "-");
    let up = "../".repeat(page.components().count() - 1);
    // Inline SVGs become image files with fixed colours, on white, named by their title and
    // description.
    let mut images = Vec::new();
    let main = re!(r"(?s)<svg\b.*?</svg>").replace_all(main, |c: &regex::Captures| {
        let mut doc = svg_attribute_case(&crate::diagrams::fixed_colours(&c[0]));
        if !doc.contains("xmlns=") {
            doc = doc.replacen("<svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"", 1);
        }
        doc = white_background(&doc);
        let title =
            re!(r"(?s)<title[^>]*>(.*?)</title>(?:\s*<desc[^>]*>(.*?)</desc>)?").captures(&doc);
        let parts = title.iter().flat_map(|t| [t.get(1), t.get(2)]).flatten();
        let alt = parts.map(|m| m.as_str().trim()).collect::<Vec<_>>().join(". ");
        let name = format!("{stem}-{}.svg", images.len() + 1);
        images.push((name.clone(), format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{doc}\n")));
        format!("<img class=\"figure\" src=\"{up}images/{name}\" alt=\"{alt}\"/>")
    });
    let main = crate::build::open_answers(&main);
    let main = re!(r#"(?s)<details class="chart-table">.*?</details>"#).replace_all(&main, "");
    // Raw HTML in the chapters may leave a void element open, as HTML allows and XHTML does not.
    let main = re!(r"<(br|hr|wbr)\b([^>]*?)\s*/?>").replace_all(&main, "<$1$2/>");
    // Links: to chapters (.xhtml), to nothing in the EPUB (text only).
    let here = url::Url::from_file_path(Path::new("/").join(page)).expect("an absolute path");
    let link = re!(r##"(?s)<a href="([^"#:]*\.[a-z.]+)(#[^"]*)?"([^>]*)>(.*?)</a>"##);
    let main = link.replace_all(&main, |c: &regex::Captures| {
        let (href, anchor, attributes, text) =
            (&c[1], c.get(2).map_or("", |m| m.as_str()), &c[3], &c[4]);
        let target = here.join(href).map(|url| PathBuf::from(url.path())).unwrap_or_default();
        match pages.iter().any(|p| Path::new("/").join(p) == target) {
            true => format!(
                "<a href=\"{}{anchor}\"{attributes}>{text}</a>",
                Path::new(href).with_extension("xhtml").display()
            ),
            false => text.to_owned(),
        }
    });
    Ok((main.into_owned(), images))
}

/// `svg` with a white rectangle under everything it draws, over its whole viewBox (after its
/// title and description, which stay its first children).
fn white_background(svg: &str) -> String {
    let Some(v) = re!(r#"viewBox="([-\d.]+) ([-\d.]+) ([\d.]+) ([\d.]+)""#).captures(svg) else {
        return svg.to_owned();
    };
    let rect = format!(
        r##"<rect x="{}" y="{}" width="{}" height="{}" fill="#ffffff"/>"##,
        &v[1], &v[2], &v[3], &v[4]
    );
    match re!(r"(?s)^.*?<svg\b[^>]*>(\s*<title\b.*?</title>)?(\s*<desc\b.*?</desc>)?").find(svg) {
        Some(m) => format!("{}{rect}{}", &svg[..m.end()], &svg[m.end()..]),
        None => svg.to_owned(),
    }
}

/// `svg` with the mixed-case attribute names of SVG restored: mdBook writes its pages as HTML,
/// where they are case-insensitive and come out lowercased; an SVG file is XML.
fn svg_attribute_case(svg: &str) -> String {
    let names = "viewBox preserveAspectRatio markerWidth markerHeight markerUnits refX refY textLength lengthAdjust gradientUnits";
    names.split(' ').fold(svg.to_owned(), |svg, name| {
        svg.replace(&format!(" {}=", name.to_lowercase()), &format!(" {name}="))
    })
}
