//! `cargo xtask tarball`: `book/processes-vs-threads-examples.tar.gz`, the book's example crates
//! as a Cargo workspace of their own. It holds every crate under `examples/` and `exercises/`
//! (with the `cargo exercises` alias), the two support crates under `crates/`, the chapters'
//! Markdown (`src/`, which one test reads), and a workspace `Cargo.toml` (the root one without
//! the book's tooling), `Cargo.lock` and `rust-toolchain.toml`, so that `cargo test` inside the
//! unpacked folder builds and tests the examples with the same toolchain and dependency
//! versions as the book. Its `README.md` lists the crates as the book's examples page does.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::examples::Crate;

/// The tarball's file name, in the built book's folder.
pub const FILE_NAME: &str = "processes-vs-threads-examples.tar.gz";
/// The one folder the tarball unpacks into.
pub const FOLDER: &str = "processes-vs-threads-examples";

/// Writes the tarball into `dir` and returns its path.
pub fn run(root: &Path, dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let out = dir.join(FILE_NAME);
    let file =
        std::fs::File::create(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(file, Default::default()));
    // Each file keeps its modification time: unpacked over an earlier copy, Cargo rebuilds
    // exactly what changed.
    tar.mode(tar::HeaderMode::Complete);
    let folder = Path::new(FOLDER);
    let book = mdbook_driver::MDBook::load(root)?.book;
    let crates = crate::examples::crates(root, &crate::workspace(root)?, &book, "examples")?;
    for (name, text) in [
        ("Cargo.toml", workspace_manifest(root)?),
        ("README.md", readme(&crates)),
        (".cargo/config.toml", exercises_alias(root)?),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, folder.join(name), text.as_bytes())
            .with_context(|| format!("adding {name}"))?;
    }
    let mut files = vec![root.join("Cargo.lock"), root.join("rust-toolchain.toml")];
    for sub in ["crates", "examples", "exercises", "src"] {
        let below = crate::files_below(&root.join(sub))?.into_iter();
        files.extend(below.filter(|p| sub != "src" || p.extension().is_some_and(|e| e == "md")));
    }
    for path in files {
        let rel = path.strip_prefix(root).expect("below the root");
        tar.append_path_with_name(&path, folder.join(rel))
            .with_context(|| format!("adding {}", path.display()))?;
    }
    let gz = tar.into_inner().context("finishing the tar archive")?;
    gz.finish().context("finishing the gzip stream")?;
    Ok(out)
}

/// The root `Cargo.toml` as the tarball's: its members only the crates it holds, and no path
/// dependency on the book's tooling.
pub fn workspace_manifest(root: &Path) -> Result<String> {
    let text = std::fs::read_to_string(root.join("Cargo.toml")).context("reading Cargo.toml")?;
    let mut manifest: toml::Table = toml::from_str(&text).context("parsing Cargo.toml")?;
    let workspace = manifest
        .get_mut("workspace")
        .and_then(|w| w.as_table_mut())
        .context("Cargo.toml has no [workspace]")?;
    workspace.insert(
        "members".into(),
        toml::Value::Array(vec!["crates/*".into(), "examples/*".into(), "exercises/*".into()]),
    );
    if let Some(deps) = workspace.get_mut("dependencies").and_then(|d| d.as_table_mut()) {
        deps.retain(|_, spec| {
            let path = spec.get("path").and_then(|p| p.as_str());
            path.is_none_or(|p| {
                ["crates/", "examples/", "exercises/"].iter().any(|d| p.starts_with(d))
            })
        });
    }
    Ok(format!(
        "# The example crates of \"Processes vs Threads, Verified\", as a workspace of their own.\n\
         # `cargo test` runs every example's tests; `cargo run -p <crate>` runs one.\n\n{}",
        toml::to_string(&manifest).context("writing Cargo.toml")?
    ))
}

/// The repository's `cargo exercises` alias, alone: the other aliases run the book's tooling.
fn exercises_alias(root: &Path) -> Result<String> {
    let path = root.join(".cargo/config.toml");
    let text = std::fs::read_to_string(&path).context("reading .cargo/config.toml")?;
    let config: toml::Table = toml::from_str(&text).context("parsing .cargo/config.toml")?;
    let alias = config
        .get("alias")
        .and_then(|a| a.get("exercises"))
        .context(".cargo/config.toml has no `exercises` alias")?;
    Ok(format!("[alias]\nexercises = {alias}\n"))
}

/// The copy's README: how to use it, then the book's list of the crates, their programs and
/// chapters (`src/` holds the chapters).
fn readme(crates: &[Crate]) -> String {
    "# The examples of \"Processes vs Threads, Verified\"\n\n\
     Every example crate of the book, as a Cargo workspace of its own (Linux only). \
     `cargo test` builds and tests them all (the toolchain is pinned by `rust-toolchain.toml`, \
     the dependency versions by `Cargo.lock`); `cargo exercises` checks the exercises under \
     `exercises/`, each a program to fix (`exercises/<name>/README.md` says what to do).\n\n"
        .to_owned()
        + &crate::examples::section(crates, "src/")
}
