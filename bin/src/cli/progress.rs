//! The progress bar of `codex-pipe` on a terminal (indicatif, on stderr): seconds of audio
//! transcribed out of the total when the container announces it (else a spinner), seconds
//! decoded, and segments uploading. Nothing is drawn when stderr is not a terminal.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::transcribe::Progress;

/// A running bar; [`Bar::finish`] clears it.
pub struct Bar {
    bar: ProgressBar,
    ticker: tokio::task::JoinHandle<()>,
}

impl Bar {
    /// Start a bar over `progress` when stderr is a terminal.
    pub fn start(progress: Arc<Progress>) -> Option<Bar> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10));
        let spinner = ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bounded = ProgressStyle::with_template("[{bar:20}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(spinner.clone());
        let shown = bar.clone();
        let ticker = tokio::spawn(async move {
            let mut has_total = false;
            loop {
                let done = progress.transcribed_seconds();
                let decoded = progress.decoded_seconds();
                let flight = progress.in_flight();
                match progress.total_seconds() {
                    Some(total) => {
                        if !has_total {
                            shown.set_style(bounded.clone());
                            shown.set_length((total * 10.0) as u64);
                            has_total = true;
                        }
                        shown.set_position((done * 10.0) as u64);
                        shown.set_message(format!(
                            "{done:.0}/{total:.0} s transcribed, {decoded:.0} s decoded, {flight} uploading"
                        ));
                    }
                    None => shown.set_message(format!(
                        "{done:.0} s transcribed, {decoded:.0} s decoded, {flight} uploading"
                    )),
                }
                shown.tick();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Some(Bar { bar, ticker })
    }

    /// Stop and clear the bar.
    pub fn finish(self) {
        self.ticker.abort();
        self.bar.finish_and_clear();
    }
}
