//! The starter fails its check with the line the book shows (unless `src/main.rs`, whose hash
//! follows the name, was edited); the solution passes.
exercises::verify!("time-limit", 0xeda9bc01fe7401c);
