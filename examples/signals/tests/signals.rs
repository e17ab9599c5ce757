//! The `signals` programs: a signal sent to the process reaches the one thread that does not
//! block it (`signals`), a signal sent to one thread waits for that thread (`tgkill`), one
//! thread takes every signal with `sigwait` (`sigwait`). Each keeps the house rules
//! (`test_support::table`); `sigwait` also keeps its story when someone else sends SIGTERM.

use test_support::table::{DEFAULT, Program};

/// The tasks each program needs at once, itself included.
const PROGRAMS: &[Program] = &[Program { name: "signals", tasks: 4, ..DEFAULT }];

test_support::example_tests!(PROGRAMS, &[]);
