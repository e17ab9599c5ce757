//! Browser tests of the built book (being written).
