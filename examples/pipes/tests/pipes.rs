//! The `pipes` programs. Each checks its own demonstration (it exits 0 only when it came out
//! as the chapter says, the one buffer's address included) and keeps the house rules
//! (`test_support::table`): one task besides itself, a child or a thread.

test_support::example_tests!(&[], &[]);
