//! Placeholder: this example is being written.
fn main() {
    println!("costs: not written yet");
}
