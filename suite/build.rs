//! Embeds `seeds/*.sql` (in name order) into the `wolo` binary.
use std::{env, fs, path::PathBuf};

fn main() {
    let seeds = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("../seeds");
    println!("cargo:rerun-if-changed={}", seeds.display());
    let mut files: Vec<PathBuf> = fs::read_dir(&seeds)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "sql"));
    files.sort();
    let mut out = String::from("/// Seed files in the order they run: (file name, SQL).\npub const SEEDS: &[(&str, &str)] = &[\n");
    for f in &files {
        let canonical = f.canonicalize().unwrap();
        out.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            f.file_name().unwrap().to_string_lossy(),
            canonical.display().to_string()
        ));
    }
    out.push_str("];\n");
    fs::write(
        PathBuf::from(env::var("OUT_DIR").unwrap()).join("seeds.rs"),
        out,
    )
    .unwrap();
}
