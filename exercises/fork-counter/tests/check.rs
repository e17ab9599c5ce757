//! The starter fails its check with the line the book shows (unless `src/main.rs`, whose hash
//! follows the name, was edited); the solution passes.
exercises::verify!("fork-counter", 0x6035bf41c62f8bdd);
