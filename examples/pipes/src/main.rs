//! Placeholder: this example is being written.
fn main() {
    println!("pipes: not written yet");
}
