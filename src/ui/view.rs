//! What the screen keeps between frames that the model does not: each transcript's layout
//! at the width it was drawn ([`TranscriptLayout`]) and where each view is scrolled.
//!
//! Scroll keys are effects (`Effect::Scroll`): the model says what the user asked for ("a page
//! up", "show reply 12", "back to the bottom") and the view carries it out at the next frame,
//! when the layout says how many rows there are. So the model never needs the layout, and
//! rendering never writes into the model.

use std::collections::HashMap;
use std::rc::Rc;

use crate::event::RequestId;
use crate::model::transcript::Revision;
use crate::model::{Effect, Model, ScrollTarget, ScrollTo, TranscriptId};
use crate::text::diff::Piece;

use super::layout::TranscriptLayout;

/// The screen's own state, owned by the app beside the model.
#[derive(Debug, Default)]
pub struct View {
    lanes: HashMap<TranscriptId, LaneView>,
    /// The key help overlay's scroll position.
    pub help: Scroller,
    /// The inspector record's scroll position.
    pub detail: Scroller,
    /// The last word diff (Alt-D), for the two transcripts at their revisions.
    diff: Option<(DiffKey, Option<Rc<WordDiff>>)>,
}

/// Two transcripts at a revision each.
type DiffKey = [(TranscriptId, Revision); 2];
/// Each side's pieces of a word diff.
type WordDiff = (Vec<Piece>, Vec<Piece>);

/// One transcript's layout and scroll position.
#[derive(Debug)]
pub struct LaneView {
    pub layout: TranscriptLayout,
    pub scroll: Scroller,
}

impl View {
    /// Carries out a scroll key at the next frame.
    pub fn scroll(&mut self, target: ScrollTarget, to: ScrollTo) {
        let scroller = match target {
            ScrollTarget::Transcript(id) => &mut self.lane(id).scroll,
            ScrollTarget::Help => &mut self.help,
            ScrollTarget::Detail => &mut self.detail,
        };
        // A move to the top or the bottom (a view opened afresh, Home, End) makes the moves
        // before it moot.
        if matches!(to, ScrollTo::Top | ScrollTo::Bottom) {
            scroller.pending.clear();
        }
        scroller.pending.push(to);
    }

    /// Takes the scroll effects out of `effects` (the rest are the app's to run).
    pub fn take_scrolls(&mut self, effects: Vec<Effect>) -> Vec<Effect> {
        effects
            .into_iter()
            .filter(|e| match e {
                Effect::Scroll { target, to } => {
                    self.scroll(*target, *to);
                    false
                }
                _ => true,
            })
            .collect()
    }

    /// The view of transcript `id`, made on first use (at the bottom, following new text).
    pub fn lane(&mut self, id: TranscriptId) -> &mut LaneView {
        self.lanes.entry(id).or_insert_with(|| LaneView {
            layout: TranscriptLayout::new(id),
            scroll: Scroller::default(),
        })
    }

    /// The word diff of two transcripts' latest replies, worked out by `diff` only when one
    /// of them changed since the last frame.
    pub fn word_diff(
        &mut self,
        key: DiffKey,
        diff: impl FnOnce() -> Option<WordDiff>,
    ) -> Option<Rc<WordDiff>> {
        match &self.diff {
            Some((kept, pieces)) if *kept == key => pieces.clone(),
            _ => {
                let pieces = diff().map(Rc::new);
                self.diff = Some((key, pieces.clone()));
                pieces
            }
        }
    }

    /// Whether it keeps a view of transcript `id`.
    pub fn has_lane(&self, id: TranscriptId) -> bool {
        self.lanes.contains_key(&id)
    }

    /// Forgets the views of transcripts the model no longer has (a new conversation, a
    /// closed lane).
    pub fn forget_gone(&mut self, model: &Model) {
        if self.lanes.len() > model.others.len() + 1 {
            let live: Vec<TranscriptId> =
                model.lanes_in_order().map(|l| l.transcript.id()).collect();
            self.lanes.retain(|id, _| live.contains(id));
        }
    }
}

/// Where a view is: at the bottom (a transcript then follows new text), or at a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum At {
    #[default]
    Bottom,
    Row(usize),
}

/// One view's scroll position, and the moves asked for since the last frame.
#[derive(Debug, Clone, Default)]
pub struct Scroller {
    at: At,
    pending: Vec<ScrollTo>,
}

impl Scroller {
    /// Applies the pending moves to a view of `visible` rows over `total` rows, and returns
    /// the first row to show. `locate` gives the first row of a reply (for
    /// [`ScrollTo::Reply`]). A move that reaches the bottom sticks to it.
    pub fn settle(
        &mut self,
        total: usize,
        visible: usize,
        locate: impl Fn(RequestId) -> Option<usize>,
    ) -> usize {
        let max_top = total.saturating_sub(visible);
        let page = visible.saturating_sub(2).max(1) as isize;
        for to in std::mem::take(&mut self.pending) {
            let top = self.top(max_top);
            let new = match to {
                ScrollTo::Rows(n) => top.saturating_add_signed(n),
                ScrollTo::Pages(n) => top.saturating_add_signed(n.saturating_mul(page)),
                ScrollTo::Top => 0,
                ScrollTo::Bottom => max_top,
                ScrollTo::Reply(id) => match locate(id) {
                    Some(start) if start < top || start >= top + visible => start,
                    _ => top,
                },
            }
            .min(max_top);
            self.at = if new >= max_top {
                At::Bottom
            } else {
                At::Row(new)
            };
        }
        self.top(max_top)
    }

    /// Goes to the bottom (before the moves asked for since the last frame).
    pub fn follow(&mut self) {
        self.at = At::Bottom;
    }

    /// Whether the view is at the bottom (a transcript follows new text there).
    pub fn at_bottom(&self) -> bool {
        self.at == At::Bottom
    }

    fn top(&self, max_top: usize) -> usize {
        match self.at {
            At::Bottom => max_top,
            At::Row(row) => row.min(max_top),
        }
    }
}
