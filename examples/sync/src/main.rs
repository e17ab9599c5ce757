//! Placeholder: this example is being written.
fn main() {
    println!("sync: not written yet");
}
