//! Placeholder: this example is being written.
fn main() {
    println!("fork: not written yet");
}
