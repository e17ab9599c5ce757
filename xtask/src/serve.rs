//! `cargo book`: build the book, serve it on 127.0.0.1, rebuild when `src/`, `examples/`,
//! `theme/` or `book.toml` change, and tell open pages to reload.
//!
//! Serving is tower-http's `ServeDir`; watching is `notify` (debounced). The only thing added
//! here is live reload: HTML responses get a one-line script that listens on a server-sent
//! events stream and reloads the page after each rebuild. The built files themselves never
//! contain it.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use notify_debouncer_full::notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::sync::broadcast;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use tower_http::services::ServeDir;

use crate::build::build;

const RELOAD_PATH: &str = "/__livereload";
const RELOAD_SCRIPT: &str =
    r#"<script>new EventSource("/__livereload").onmessage = () => location.reload();</script>"#;

/// What the reader asked for on the command line.
pub struct Options {
    pub port: u16,
    pub open: bool,
}

pub fn serve(root: &Path, options: Options) -> Result<()> {
    let dest = root.join("book");
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, options.port));
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => listener,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => bail!(
                "port {} on 127.0.0.1 is already in use; choose another with `cargo book --port {}`",
                options.port,
                options.port.wrapping_add(1).max(1024)
            ),
            Err(e) => return Err(e).with_context(|| format!("binding {addr}")),
        };
        let url = format!("http://{}/", listener.local_addr()?);
        // The port is ours: now build (a taken port fails before any work is done).
        rebuild(root, &dest)?;

        let (reload, _) = broadcast::channel::<()>(16);
        let _watcher = watch(root, &dest, reload.clone())?;

        let events = reload.clone();
        let app = Router::new()
            .route(
                RELOAD_PATH,
                get(move || async move {
                    let stream = BroadcastStream::new(events.subscribe())
                        .map(|_| Ok::<_, std::convert::Infallible>(Event::default().data("reload")));
                    Sse::new(stream).keep_alive(KeepAlive::default())
                }),
            )
            .fallback_service(ServeDir::new(&dest))
            .layer(middleware::from_fn(inject_reload_script));

        println!("Serving the book at {url} (Ctrl-C to stop); rebuilding on changes.");
        if options.open && webbrowser::open(&url).is_err() {
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

/// Build into `dest`; an error, one line per problem, if mdBook or the include check warned.
fn rebuild(root: &Path, dest: &Path) -> Result<()> {
    build(root, dest, false)?.fail_on_warnings()?;
    println!("Built the book into {}", dest.display());
    Ok(())
}

/// Rebuild on every change below the watched paths, then signal the open pages.
fn watch(
    root: &Path,
    dest: &Path,
    reload: broadcast::Sender<()>,
) -> Result<Debouncer<RecommendedWatcher, RecommendedCache>> {
    let (root_owned, dest_owned): (PathBuf, PathBuf) = (root.to_owned(), dest.to_owned());
    let mut debouncer = new_debouncer(
        Duration::from_millis(300),
        None,
        move |result: DebounceEventResult| {
            // Only changes count: inotify also reports every read, including mdBook's own reads
            // of the sources during a rebuild, which would otherwise rebuild forever.
            let Ok(events) = result else { return };
            let Some(changed) = events
                .iter()
                .filter(|e| !matches!(e.kind, EventKind::Access(_) | EventKind::Other))
                .find_map(|e| e.paths.first())
            else {
                return;
            };
            println!("Changed: {}", changed.display());
            match rebuild(&root_owned, &dest_owned) {
                Ok(()) => {
                    let _ = reload.send(());
                }
                Err(e) => {
                    for line in format!("{e:#}").lines() {
                        eprintln!("rebuild failed: {line}");
                    }
                }
            }
        },
    )
    .context("starting the file watcher")?;
    for (path, mode) in [
        ("src", RecursiveMode::Recursive),
        ("examples", RecursiveMode::Recursive),
        ("theme", RecursiveMode::Recursive),
        ("book.toml", RecursiveMode::NonRecursive),
    ] {
        let path = root.join(path);
        debouncer
            .watch(&path, mode)
            .with_context(|| format!("watching {}", path.display()))?;
    }
    Ok(debouncer)
}

/// Add the live-reload script to HTML pages as they are served.
async fn inject_reload_script(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !is_html {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "could not read page",
        )
            .into_response();
    };
    let html = String::from_utf8_lossy(&bytes);
    let html = match html.rfind("</body>") {
        Some(at) => format!("{}{RELOAD_SCRIPT}{}", &html[..at], &html[at..]),
        None => format!("{html}{RELOAD_SCRIPT}"),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(html))
}
