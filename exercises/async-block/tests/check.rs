//! The starter fails its check with the line the book shows (unless `src/main.rs`, whose hash
//! follows the name, was edited); the solution passes.
exercises::verify!("async-block", 0x9bc7ff5ee154e40f);
