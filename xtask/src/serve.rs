//! `cargo book`: build the book, serve it on 127.0.0.1, rebuild when `src/`, `examples/`,
//! `exercises/`, `theme/`, `questions.toml` or `book.toml` change, and reload open pages.
//! Serving is tower-http's `ServeDir`, watching `notify` (debounced), reloading
//! `tower-livereload` (a script it adds to each HTML response, never to the built files,
//! listens on a server-sent events stream).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use notify_debouncer_full::notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tower_livereload::{LiveReloadLayer, Reloader};

/// Serves the book of the checkout at `root` on 127.0.0.1:`port`, and opens it in a browser if
/// `open`, until Ctrl-C.
pub fn serve(root: &Path, port: u16, open: bool) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => listener,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => bail!(
                "port {port} on 127.0.0.1 is already in use; choose another with `cargo book --port {}`",
                port.wrapping_add(1).max(1024)
            ),
            Err(e) => return Err(e).with_context(|| format!("binding {addr}")),
        };
        let url = format!("http://{}/", listener.local_addr()?);
        // The port is ours: now build (a taken port fails before any work is done).
        rebuild(root)?;
        let reload = LiveReloadLayer::new();
        let _watcher = watch(root, reload.reloader())?;
        let app = axum::Router::new()
            .fallback_service(tower_http::services::ServeDir::new(root.join("book")))
            .layer(reload);
        println!("Serving the book at {url} (Ctrl-C to stop); rebuilding on changes.");
        if open && webbrowser::open(&url).is_err() {
            println!("(no browser could be opened here; open the address above yourself)");
        }
        // Stop at the first Ctrl-C, without waiting for open pages: their live-reload streams
        // never end by themselves. Leaving `block_on` drops every connection.
        tokio::select! {
            served = axum::serve(listener, app) => served.context("serving"),
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })
}

/// Builds into `book/`; an error, one line per problem, if mdBook or the include check warned.
fn rebuild(root: &Path) -> Result<()> {
    let dest = root.join("book");
    crate::build::build(root, &dest, false)?.fail_on_warnings()?;
    println!("Built the book into {}", dest.display());
    Ok(())
}

/// Rebuilds on every change below the watched paths, then reloads the open pages.
fn watch(root: &Path, reload: Reloader) -> Result<Debouncer<RecommendedWatcher, RecommendedCache>> {
    let at = root.to_owned();
    let mut debouncer =
        new_debouncer(Duration::from_millis(300), None, move |result: DebounceEventResult| {
            // Only changes count: inotify also reports every read, including mdBook's own reads
            // of the sources during a rebuild, which would otherwise rebuild forever.
            let Ok(events) = result else { return };
            let mut changes = events
                .iter()
                .filter(|e| !matches!(e.kind, EventKind::Access(_) | EventKind::Other));
            let Some(changed) = changes.find_map(|e| e.paths.first()) else {
                return;
            };
            println!("Changed: {}", changed.display());
            match rebuild(&at) {
                Ok(()) => reload.reload(),
                Err(e) => {
                    format!("{e:#}").lines().for_each(|line| eprintln!("rebuild failed: {line}"))
                }
            }
        })
        .context("starting the file watcher")?;
    for (path, mode) in [
        ("src", RecursiveMode::Recursive),
        ("examples", RecursiveMode::Recursive),
        ("exercises", RecursiveMode::Recursive),
        ("theme", RecursiveMode::Recursive),
        ("questions.toml", RecursiveMode::NonRecursive),
        ("book.toml", RecursiveMode::NonRecursive),
    ] {
        let path = root.join(path);
        debouncer.watch(&path, mode).with_context(|| format!("watching {}", path.display()))?;
    }
    Ok(debouncer)
}
