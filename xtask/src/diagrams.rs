//! Mermaid diagrams drawn when the book is built: each ```` ```mermaid ```` block of a chapter
//! becomes an inline SVG, drawn in-process by the pure-Rust `mermaid-rs-renderer`, so no page
//! loads mermaid's JavaScript and the book needs nothing but the Rust toolchain.
//!
//! - Colours are CSS custom properties with the light palette as fallback
//!   (`var(--diagram-text, #333333)`): theme/book.css sets them per mdBook theme, so a theme
//!   switch is pure CSS; where no stylesheet applies (the EPUB, [`fixed_colours`]) the fallback
//!   is the colour.
//! - Each diagram names itself: its source must hold an `accTitle:` and an `accDescr:` line
//!   (mermaid's own accessibility syntax), which become the SVG's `<title>` and `<desc>`.
//! - A diagram that does not parse, or whose SVG lacks a word of its labels (a renderer that
//!   dropped part of it), fails the build with the chapter and the diagram's number.
//! - Text is laid out with the renderer's built-in character widths, not the machine's fonts:
//!   the same SVG on every machine, and nothing written to the user's font cache. That is why
//!   labels are ASCII (a non-ASCII label would make the renderer load system fonts).

use std::collections::BTreeSet;

use anyhow::{Context, Result, anyhow, bail};
use mdbook_preprocessor::book::{Book, BookItem};
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};
use mermaid_rs_renderer::{RenderOptions, Theme};

/// The margin kept around a sequence diagram, in SVG units.
const SEQUENCE_MARGIN: f32 = 8.0;

/// One palette entry: the custom property theme/book.css sets per theme, and the light colour
/// used where no stylesheet applies.
fn colour(name: &str, light: &str) -> String {
    format!("var(--diagram-{name}, {light})")
}

fn theme() -> Theme {
    let mut t = Theme::mermaid_default();
    t.font_family = "sans-serif".to_owned();
    t.font_size = 16.0; // CSS pixels when drawn at natural size
    t.primary_color = colour("node", "#ececff");
    t.primary_text_color = colour("text", "#333333");
    t.text_color = colour("text", "#333333");
    t.primary_border_color = colour("border", "#7b88a8");
    t.line_color = colour("line", "#2f3b4d");
    t.secondary_color = colour("node", "#ececff");
    t.tertiary_color = colour("node", "#ececff");
    t.edge_label_background = "none".to_owned();
    t.cluster_background = colour("cluster", "#ffffde");
    t.cluster_border = colour("cluster-border", "#aaaa33");
    t.background = "none".to_owned();
    t.sequence_actor_fill = colour("actor", "#eaeaea");
    t.sequence_actor_border = colour("actor-border", "#666666");
    t.sequence_actor_line = colour("lifeline", "#999999");
    t.sequence_note_fill = colour("note", "#fff5ad");
    t.sequence_note_border = colour("cluster-border", "#aaaa33");
    t.sequence_activation_fill = colour("actor", "#eaeaea");
    t.sequence_activation_border = colour("actor-border", "#666666");
    t
}

/// A regex compiled once.
macro_rules! re {
    ($pattern:literal) => {{
        static RE: std::sync::LazyLock<regex::Regex> =
            std::sync::LazyLock::new(|| regex::Regex::new($pattern).expect("a valid regex"));
        &*RE
    }};
}
pub(crate) use re;

/// Draws one mermaid `source` as an inline SVG figure captioned with its `accTitle`, all its ids
/// starting with `id`.
fn draw(source: &str, id: &str) -> Result<String> {
    let acc = re!(r"(?m)^\s*(accTitle|accDescr)\s*:\s*(.+?)\s*$");
    let find = |key: &str| acc.captures_iter(source).find(|c| &c[1] == key).map(|c| escape(&c[2]));
    let (Some(title), Some(desc)) = (find("accTitle"), find("accDescr")) else {
        bail!(
            "it needs an `accTitle: …` and an `accDescr: …` line (its accessible name and description)"
        );
    };
    if let Some(c) = source.chars().find(|c| !c.is_ascii()) {
        bail!(
            "it has the non-ASCII character {c:?}: diagram labels are ASCII (see xtask/src/diagrams.rs)"
        );
    }
    if source.contains("~~~") {
        bail!("it has an invisible link (~~~), which the renderer does not lay out");
    }
    let body = acc.replace_all(source, "");
    let mut options = RenderOptions { theme: theme(), ..RenderOptions::default() };
    let layout = &mut options.layout;
    (layout.fast_text_metrics, layout.node_spacing, layout.rank_spacing) = (true, 30.0, 50.0);
    (layout.node_padding_x, layout.node_padding_y) = (16.0, 10.0);
    // A tall diagram may ask for tighter ranks, in mermaid's own syntax:
    // `%%{init: {"flowchart": {"rankSpacing": 20}}}%%` (the renderer parses it but leaves
    // applying it to its caller).
    let init = mermaid_rs_renderer::parse_mermaid(&body).map_err(|e| anyhow!("{e:#}"))?;
    if let Some(v) = init.init_config.and_then(|c| c["flowchart"]["rankSpacing"].as_f64()) {
        layout.rank_spacing = v as f32;
    }
    let svg =
        mermaid_rs_renderer::render_with_options(&body, options).map_err(|e| anyhow!("{e:#}"))?;
    // Directives and comments (`%%`) are no labels.
    let labels: Vec<&str> = body.lines().filter(|l| !l.trim_start().starts_with("%%")).collect();
    check_every_word_is_drawn(&labels.join("\n"), &svg)?;

    let view_box = re!(r#"viewBox="([-\d.]+) ([-\d.]+) ([\d.]+) ([\d.]+)""#);
    let c = view_box.captures(&svg).context("the renderer's SVG has no viewBox")?;
    let number = |i: usize| -> Result<f32> { c[i].parse().context("a number in the viewBox") };
    let (mut x, y, mut width, height) = (number(1)?, number(2)?, number(3)?, number(4)?);
    // Sequence diagrams come with 50 units of empty space left and right (x from -50): keep 8,
    // which leaves room for 3 participants on a phone.
    if x < -SEQUENCE_MARGIN {
        width -= 2.0 * (-x - SEQUENCE_MARGIN);
        x = -SEQUENCE_MARGIN;
    }
    let svg = view_box.replace(&svg, format!(r#"viewBox="{x} {y} {width} {height}""#));
    // The renderer's background, transparent here (the page's shows through), goes.
    let background =
        re!(r#"<rect x="[-\d.]+" y="[-\d.]+" width="[\d.]+" height="[\d.]+" fill="none"/>"#);
    let svg = background.replace(&svg, "");
    // Ids unique on the page: several diagrams share one page (and print.html has them all).
    let svg =
        re!(r##"(id="|url\(#|href="#)([^"()]+)"##).replace_all(&svg, format!("${{1}}{id}-${{2}}"));
    // One line: a blank line would end the HTML block in the Markdown around it.
    let svg = svg.lines().map(str::trim).collect::<Vec<_>>().join(" ");
    let open_end = svg.find('>').context("the renderer's SVG has no opening tag")?;
    let open = re!(r#"\s(width|height)="[^"]*""#).replace_all(&svg["<svg".len()..open_end], "");
    let (w, h, rest) = (width.ceil(), height.ceil(), &svg[open_end + 1..]);
    Ok(format!(
        r#"<figure class="diagram" id="{id}"><svg{open} width="{w}" height="{h}" role="img" aria-labelledby="{id}-title {id}-desc" class="diagram"><title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>{rest}<figcaption>{title}</figcaption></figure>
"#
    ))
}

/// Fails when a word of the source's labels is missing from the SVG's text.
fn check_every_word_is_drawn(source: &str, svg: &str) -> Result<()> {
    // Flowcharts quote their labels; sequence diagrams name participants and write messages
    // and notes after a colon.
    let label = match source.trim_start().starts_with("sequenceDiagram") {
        true => {
            re!(r"(?m)^\s*(?:participant \S+ as (.+)|(?:\S+\s*-[-)>x]+\s*\S+|Note [^:]+):\s*(.+))$")
        }
        false => re!(r#""([^"]+)""#),
    };
    let text = re!(r">([^<>]+)<").captures_iter(svg).map(|c| unescape(&c[1]));
    let words: BTreeSet<String> =
        text.flat_map(|t| t.split_whitespace().map(str::to_owned).collect::<Vec<_>>()).collect();
    let drawn = words.into_iter().collect::<String>();
    for words in label.captures_iter(source).filter_map(|c| c.get(1).or(c.get(2))) {
        for word in words.as_str().replace("<br/>", " ").split_whitespace() {
            if !drawn.contains(word) {
                bail!("the renderer left out {word:?} of the label {:?}", words.as_str());
            }
        }
    }
    Ok(())
}

/// `s` escaped for HTML and XML text and attributes.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `s` with the XML escapes of SVG text and pdftohtml's output undone.
pub fn unescape(s: &str) -> String {
    [
        ("&lt;", "<"),
        ("&#34;", "\""),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&apos;", "'"),
        ("&amp;", "&"),
    ]
    .iter()
    .fold(s.to_owned(), |s, (from, to)| s.replace(from, to))
}

/// `html` with every `var(--name, colour)` replaced by its colour: for readers without the
/// book's stylesheet (the EPUB).
pub fn fixed_colours(html: &str) -> String {
    re!(r"var\(--[\w-]+,\s*([^()]+?)\)").replace_all(html, "$1").into_owned()
}

/// Replaces each mermaid block of `content` by its figure; `page` names the chapter in ids and
/// errors.
fn replace_blocks(content: &str, page: &str) -> Result<String> {
    let stem = re!(r"[^A-Za-z0-9]+").replace_all(page.trim_end_matches(".md"), "-");
    let (mut out, mut last) = (String::new(), 0);
    let blocks = re!(r"(?ms)^```mermaid[ \t]*\n(.*?)^```[ \t]*$").captures_iter(content);
    for (n, c) in blocks.enumerate() {
        let whole = c.get(0).expect("the match");
        let figure = draw(&c[1], &format!("diagram-{stem}-{}", n + 1))
            .with_context(|| format!("{page}: diagram {} does not draw", n + 1))?;
        out = out + &content[last..whole.start()] + &figure;
        last = whole.end();
    }
    Ok(out + &content[last..])
}

/// `content` with a word joiner after the en dash of each range of numbers outside code
/// ("11–18×", "56.1–90.7 µs"), so that no line breaks inside a range.
fn join_ranges(content: &str) -> String {
    let range = re!(r"(\d)–(\d)");
    let mut fenced = false;
    let mut out = String::with_capacity(content.len());
    for line in content.split_inclusive('\n') {
        fenced ^= line.trim_start().starts_with("```");
        // Outside code spans: the pieces between backticks with an even index.
        for (i, piece) in line.split('`').enumerate() {
            out += if i > 0 { "`" } else { "" };
            match fenced || i % 2 == 1 {
                true => out += piece,
                false => out += &range.replace_all(piece, "$1–\u{2060}$2"),
            }
        }
    }
    out
}

/// The preprocessor: every chapter's mermaid blocks drawn as SVG figures, and its ranges of
/// numbers kept on one line ([`join_ranges`]).
pub struct Diagrams;

impl Preprocessor for Diagrams {
    fn name(&self) -> &str {
        "diagrams"
    }

    fn run(
        &self,
        _: &PreprocessorContext,
        mut book: Book,
    ) -> mdbook_preprocessor::errors::Result<Book> {
        let mut error = None;
        book.for_each_mut(|item| {
            let BookItem::Chapter(chapter) = item else {
                return;
            };
            chapter.content = join_ranges(&chapter.content);
            if error.is_some() || !chapter.content.contains("```mermaid") {
                return;
            }
            let page = chapter.source_path.as_ref().map(|p| p.display().to_string());
            match replace_blocks(&chapter.content, &page.unwrap_or_else(|| chapter.name.clone())) {
                Ok(content) => chapter.content = content,
                Err(e) => error = Some(e),
            }
        });
        error.map_or(Ok(book), Err)
    }
}
