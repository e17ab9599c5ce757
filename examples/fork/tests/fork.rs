//! The `fork` programs: the child's own copy of memory and the zombie until `waitpid`
//! (`fork`), the shared file offset (`offset`), the copied descriptor table (`close`). Each
//! keeps the house rules (`test_support::table`).

use test_support::Redaction;

/// A descriptor's number depends on how many the program inherited.
const FD_NUMBER: Redaction = ("[FD]", r"descriptor (?<redacted>\d+)");

test_support::example_tests!(&[], &[FD_NUMBER]);
