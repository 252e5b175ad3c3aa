//! Rebuilds the binary whenever a template or preset changes: include_dir embeds them, but
//! cargo only notices added or removed files through these directory watches.

fn main() {
    println!("cargo:rerun-if-changed=templates");
    println!("cargo:rerun-if-changed=presets");
}
