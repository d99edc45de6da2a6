//! With the `booth` feature, embeds the web booth's bundle (booth/dist, made by
//! scripts/build-booth.sh; or the folder `ZKVOTE_BOOTH_DIST` names) into the board: writes
//! `$OUT_DIR/booth_assets.rs`, a table of (file name, bytes).

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=ZKVOTE_BOOTH_DIST");
    println!("cargo:rerun-if-env-changed=CARGO_FEATURE_BOOTH");
    if std::env::var_os("CARGO_FEATURE_BOOTH").is_none() {
        return;
    }
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let dist = std::env::var_os("ZKVOTE_BOOTH_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir.join("../booth/dist"));
    println!("cargo:rerun-if-changed={}", dist.display());
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dist) {
        Ok(dir) => dir.map(|e| e.unwrap().path()).collect(),
        Err(e) => panic!(
            "the booth feature embeds the web booth from {}, which cannot be read ({e}): \
             run scripts/build-booth.sh first",
            dist.display()
        ),
    };
    files.sort();
    for required in ["index.html", "bundle.json"] {
        assert!(
            files.iter().any(|f| f.file_name().unwrap() == required),
            "{} has no {required}: run scripts/build-booth.sh",
            dist.display()
        );
    }
    let mut table = String::from("&[\n");
    for f in &files {
        let path = f.canonicalize().unwrap();
        println!("cargo:rerun-if-changed={}", path.display());
        let name = f.file_name().unwrap().to_str().unwrap();
        table.push_str(&format!("    ({name:?}, include_bytes!({:?})),\n", path));
    }
    table.push_str("]\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("booth_assets.rs");
    std::fs::write(out, table).unwrap();
}
