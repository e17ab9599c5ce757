//! The starter fails its check with the line the book shows (unless `src/main.rs`, whose hash
//! follows the name, was edited); the solution passes.
exercises::verify!("sigterm", 0x9c42c153a742534e);
