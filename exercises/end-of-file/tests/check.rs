//! The starter fails its check with the line the book shows; the solution passes.
exercises::verify!("end-of-file");
