//! The data races Rust refuses to compile. The programs are the cases in
//! `tests/compile-fail/`; each must fail to compile with exactly the error in the `.stderr`
//! file beside it, which the book quotes. Nothing here runs: `cargo test -p data-races`
//! compiles the cases and compares the errors.
