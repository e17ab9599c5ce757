//! Placeholder: this example is being written.
fn main() {
    println!("crashes: not written yet");
}
