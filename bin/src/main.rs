//! `codex-pipe`: audio in, text out.

fn main() {
    println!("codex-pipe {}", env!("CARGO_PKG_VERSION"));
}
