//! Placeholder: this example is being written.
fn main() {
    println!("threads: not written yet");
}
