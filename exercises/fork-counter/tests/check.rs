//! The starter fails its check with the line the book shows (unless `src/main.rs`, whose hash
//! follows the name, was edited); the solution passes.
exercises::verify!("fork-counter", 0xd5d4_da28_5bf9_fbe1);
