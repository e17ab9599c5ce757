//! The starter fails its check with the line the book shows (unless `src/main.rs`, whose hash
//! follows the name, was edited); the solution passes.
exercises::verify!("cloexec", 0xaa8157722d50494c);
