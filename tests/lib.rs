//! Shared by the book-wide checks.
