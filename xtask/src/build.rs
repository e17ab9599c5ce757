//! One build of the book, with every WARN/ERROR event mdBook logs collected so that callers (the
//! tests) can treat them as failures. mdbook-driver logs through `tracing` and says nothing
//! without a subscriber: a broken include or link would otherwise pass silently.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use mdbook_driver::MDBook;
use mdbook_driver::config::Config;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};

/// What a build produced.
#[derive(Debug)]
pub struct Built {
    /// The rendered HTML book.
    pub dir: PathBuf,
    /// Every WARN or ERROR event logged during the build, formatted as one line each.
    pub warnings: Vec<String>,
}

/// Builds the book at `root` into `dest`. Log events at INFO and above are printed to stderr
/// when `verbose`; WARN and ERROR events are always collected into [`Built::warnings`].
pub fn build(root: &Path, dest: &Path, verbose: bool) -> Result<Built> {
    let collector = Collector::default();
    let printer = verbose.then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(false)
            .without_time()
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO)
    });
    let subscriber = tracing_subscriber::registry()
        .with(collector.clone())
        .with(printer);
    tracing::subscriber::with_default(subscriber, || -> Result<()> {
        let mut config = Config::from_disk(root.join("book.toml")).context("reading book.toml")?;
        config.set("build.build-dir", dest)?;
        let mut book = MDBook::load_with_config(root, config).context("loading the book")?;
        // Replaces the `[preprocessor.mermaid]` command of book.toml with the same code, in-process.
        book.with_preprocessor(mdbook_mermaid::Mermaid);
        // Likewise `[preprocessor.questions]`: each chapter's computed questions.
        book.with_preprocessor(crate::questions::Questions);
        // And `[preprocessor.examples]`: the examples page, from the crates.
        book.with_preprocessor(crate::examples::Examples);
        book.build().context("building the book")
    })?;
    let warnings = collector.0.lock().expect("collector lock").clone();
    Ok(Built {
        dir: dest.to_owned(),
        warnings,
    })
}

/// A `tracing` layer that keeps the WARN and ERROR events.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<String>>>);

impl<S: Subscriber> Layer<S> for Collector {
    fn on_event(&self, event: &Event<'_>, _ctx: LayerContext<'_, S>) {
        let level = *event.metadata().level();
        if level > Level::WARN {
            return;
        }
        let mut line = format!("{level} {}:", event.metadata().target());
        event.record(&mut LineVisitor(&mut line));
        self.0.lock().expect("collector lock").push(line);
    }
}

struct LineVisitor<'a>(&'a mut String);

impl Visit for LineVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}
