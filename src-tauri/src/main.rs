//! The `gatehouse-desktop` executable: see the library for what it wires.

fn main() {
    gatehouse_desktop::run()
}
