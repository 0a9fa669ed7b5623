//! `codex-pipe-proxy`: a local server that speaks OpenAI, Anthropic, Gemini and Ollama.

fn main() {
    println!("codex-pipe-proxy {}", env!("CARGO_PKG_VERSION"));
}
