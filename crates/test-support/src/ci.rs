//! Whether the tests run under CI. The one rule, shared by source with xtask's test command:
//! `CI` set, and not empty, `false` or `0`.

/// Whether the tests run under CI: `CI` set, and not empty, `false` or `0`.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}
