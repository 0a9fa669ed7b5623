//! Shared helpers for the criterion benchmarks in `benches/benches/`.
//!
//! Each benchmark group lives in its own file under `benches/benches/` and is registered as a
//! `[[bench]]` target with `harness = false` in this package's `Cargo.toml`.

use std::path::PathBuf;

/// Absolute path of a file under the workspace's `testdata/` directory.
pub fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("testdata")
        .join(rel)
}

pub mod sse_corpus;
