//! Drawing the console's screen into a buffer, for the benchmarks that time frames.

use std::time::Instant;

use etcdeck::app::store::Store;
use etcdeck::ui::Screen;
use ratatui::buffer::Buffer;
use ratatui::widgets::Widget;

use super::stats::ms;

/// Draw the whole screen of `store` into `buf`; how long it took, in milliseconds.
pub fn frame(store: &Store, buf: &mut Buffer) -> f64 {
    let t = Instant::now();
    let area = buf.area;
    buf.reset();
    Widget::render(&Screen::new(store), area, buf);
    std::hint::black_box(&buf);
    ms(t.elapsed())
}

/// What `buf` shows, a line per row.
pub fn buffer_text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in 0..area.height {
        for x in 0..area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}
