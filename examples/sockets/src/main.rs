//! Placeholder: this example is being written.
fn main() {
    println!("sockets: not written yet");
}
