//! Placeholder: this example is being written.
fn main() {
    println!("shared-memory: not written yet");
}
