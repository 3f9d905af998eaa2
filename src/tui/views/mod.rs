//! Full-screen drill-downs in front of the panes (diff, object views, logs and events) and the watch
//! mode screen, one file each. Imports `crate::model` and `crate::config`.

pub mod diff;
pub mod logs;
pub mod object;
pub mod versions;
pub mod wall;
pub mod watch;

use std::ops::Range;

/// The slice of `len` lines to show in `height` rows at `scroll`, clamping the scroll so
/// "bottom" (a huge scroll) lands on the last page.
pub fn page(scroll: &mut usize, len: usize, height: usize) -> Range<usize> {
    *scroll = (*scroll).min(len.saturating_sub(height));
    *scroll..(*scroll + height).min(len)
}
