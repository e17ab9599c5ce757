//! The data races Rust refuses to compile: each file in `tests/compile-fail/` must fail
//! to compile, with exactly the error in the `.stderr` file beside it (the book shows
//! those files). After a toolchain update, regenerate them with
//! `TRYBUILD=overwrite cargo test -p data-races`.

#[test]
fn data_races_do_not_compile() {
    trybuild::TestCases::new().compile_fail("tests/compile-fail/*.rs");
}
