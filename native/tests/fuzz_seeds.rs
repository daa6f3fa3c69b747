//! Every committed fuzz corpus seed (`native/fuzz/corpus/<target>/`) through the target's entry
//! point, in plain `cargo test`: what the fuzzer once found stays fixed without a fuzz build.

use std::fs;
use std::path::Path;

use _native::fuzzing;

fn replay(target: &str, entry: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut seeds = 0;
    for entry_path in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry_path.unwrap().path();
        let data = fs::read(&path).unwrap();
        entry(&data);
        seeds += 1;
    }
    assert!(seeds > 0, "no seeds in {}", dir.display());
}

#[test]
fn cef_seeds() {
    replay("cef", fuzzing::cef);
}

#[test]
fn leef_seeds() {
    replay("leef", fuzzing::leef);
}

#[test]
fn w3c_seeds() {
    replay("w3c", fuzzing::w3c);
}

#[test]
fn body_seeds() {
    replay("body", fuzzing::body);
}

#[test]
fn file_seeds() {
    replay("file", fuzzing::file);
}
