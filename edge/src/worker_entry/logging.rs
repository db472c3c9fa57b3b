//! Tracing for the Worker, set up once per isolate: JSON lines to the console, which Workers
//! Logs collects. No timestamps from the subscriber (the platform stamps each line, and the wasm
//! target has no system clock).

use std::io::{self, Write};
use tracing_subscriber::fmt::MakeWriter;

pub fn init() {
    let _ = tracing_subscriber::fmt()
        .json()
        .without_time()
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(Console)
        .try_init();
}

/// Writes each formatted event as one `console.log` line.
#[derive(Clone, Copy)]
struct Console;

struct Line(Vec<u8>);

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        let text = text.trim_end();
        if !text.is_empty() {
            worker::console_log!("{text}");
        }
    }
}

impl<'a> MakeWriter<'a> for Console {
    type Writer = Line;
    fn make_writer(&'a self) -> Self::Writer {
        Line(Vec::new())
    }
}
