//! The `fork` programs keep the house rules (`test_support::table`).

test_support::example_tests!(&[], &[]);
