//! Rebuilds the crate when a migration changes, since migrations are embedded with `include_str!`.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
