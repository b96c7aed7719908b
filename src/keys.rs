//! Every key of the interactive app, described once.
//!
//! The help overlay (`?`, F1), the status line's hints, `--help` ([`keys_help`]) and the
//! README's Keys section ([`markdown`], checked by a test) all read these tables, so a key
//! cannot be documented in one place and forgotten in another. The model's `match`es decide
//! what a key does; this module only says it.

/// One key (or a few that belong together) and what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    /// The key as written everywhere: `Ctrl-P`, `Alt-← / Alt-→`.
    pub keys: &'static str,
    /// One or two words for the status line's hints: `prompts`.
    pub label: &'static str,
    /// What it does, in a sentence.
    pub does: &'static str,
}

impl Binding {
    /// The status line's form: `Ctrl-P prompts`.
    pub fn hint(&self) -> String {
        format!("{} {}", self.keys, self.label)
    }
}

/// A screen (or a part of one) with keys of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    /// The chat: transcript and composer.
    Chat,
    /// Editing the message in the composer.
    Editing,
    /// Two or more lanes side by side.
    Compare,
    /// The prompt picker (Ctrl-P).
    Picker,
    /// The variables form (Ctrl-G).
    Variables,
    /// The request inspector (F2, Alt-I).
    Inspector,
    /// Earlier conversations (Ctrl-O).
    Conversations,
    /// The model switcher (Alt-M).
    Models,
    /// The help overlay itself.
    Help,
}

/// A titled list of keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    pub pane: Pane,
    pub title: &'static str,
    pub bindings: &'static [Binding],
}

const fn key(keys: &'static str, label: &'static str, does: &'static str) -> Binding {
    Binding { keys, label, does }
}

pub const SEND: Binding = key(
    "Enter",
    "send",
    "send the message (in a compare: to every lane)",
);
pub const NEWLINE: Binding = key(
    "Ctrl-J",
    "newline",
    "newline in the message (works everywhere: over SSH, in tmux, in any terminal)",
);
pub const ALT_NEWLINE: Binding = key(
    "Alt-Enter / Shift-Enter",
    "newline",
    "newline, where the terminal reports them (Alt-Enter works in tmux)",
);
pub const CANCEL: Binding = key(
    "Esc",
    "cancel",
    "cancel the streaming reply (its partial text is kept, marked \"cancelled\"); while editing an earlier message: stop editing, the draft comes back",
);
pub const RECALL: Binding = key(
    "↑ / ↓",
    "recall",
    "in an empty message: the messages you sent this session, older / newer, like a shell's history (↓ past the newest empties the message again)",
);
pub const EDIT_EARLIER: Binding = key(
    "Alt-E",
    "edit earlier",
    "edit one of your earlier messages (again: the one before it); Enter re-sends from there as a branch: a new conversation with the history up to that message, the original stays as it was (Ctrl-O)",
);
pub const EDITOR: Binding = key(
    "Alt-V",
    "editor",
    "edit the message in $VISUAL or $EDITOR (else vi); what you save comes back into the message",
);
pub const NEW_CONVERSATION: Binding = key(
    "Ctrl-N",
    "new chat",
    "new conversation: empty transcript, same prompt, model and variables (in a compare, every lane); the previous one stays in Ctrl-O",
);
pub const CONVERSATIONS: Binding = key(
    "Ctrl-O",
    "history",
    "earlier conversations: type to search titles and messages, Enter reopens one with its prompt version",
);
pub const RETRY: Binding = key(
    "Ctrl-R",
    "retry",
    "retry the last reply after it failed or was cancelled (the partial reply stays on screen, out of the history)",
);
pub const PROMPTS: Binding = key(
    "Ctrl-P",
    "prompts",
    "prompt picker: which prompt version drives the chat",
);
pub const VARIABLES: Binding = key("Ctrl-G", "variables", "variables form of the active prompt");
pub const MODELS: Binding = key(
    "Alt-M",
    "model",
    "switch model for the next message: the endpoint's models, the ones used this session and the fallback chain first",
);
pub const PANEL: Binding = key(
    "Ctrl-T",
    "panel",
    "show or hide the usage panel (shown by default from 110 columns)",
);
pub const PANEL_REPLY: Binding = key(
    "Alt-↑ / Alt-↓",
    "reply",
    "choose which reply the usage panel shows (Alt-↓ past the newest follows the latest again)",
);
pub const COPY: Binding = key(
    "Alt-Y",
    "copy",
    "copy the reply the panel shows (the latest, or the one chosen with Alt-↑/↓) — or the code block chosen with Alt-K — to your clipboard, over SSH too (OSC 52; in tmux add `set -g set-clipboard on`)",
);
pub const CODE_BLOCK: Binding = key(
    "Alt-K",
    "code block",
    "choose the next code block of that reply for Alt-Y (after the last: the whole reply again)",
);
pub const INSPECTOR: Binding = key(
    "F2 / Alt-I",
    "inspector",
    "request inspector: the log's recent attempts, newest first",
);
pub const PAGE: Binding = key("PgUp / PgDn", "scroll", "scroll the transcript by a page");
pub const ENDS: Binding = key(
    "Home / End",
    "top/bottom",
    "top of the transcript / back to the bottom (following new text)",
);
pub const REPAINT: Binding = key(
    "Ctrl-L",
    "repaint",
    "clear and redraw the whole screen (after another program wrote over it)",
);
pub const HELP: Binding = key(
    "? / F1",
    "help",
    "the keys of the current screen (? in an empty message, F1 everywhere)",
);
pub const QUIT: Binding = key(
    "Ctrl-C",
    "quit",
    "quit (Ctrl-D too, in an empty message); the unsent message is kept for next time",
);

pub const LINE_ENDS: Binding = key(
    "Ctrl-A / Ctrl-E",
    "line start/end",
    "start / end of the line; already there: the start of the line above / the end of the line below (as zsh)",
);
pub const KILL_BACK: Binding = key(
    "Ctrl-U",
    "delete line",
    "delete to the start of the line; at its start, join the line above (the newline before is deleted)",
);
pub const KILL_FORWARD: Binding = key(
    "Ctrl-K",
    "delete to end",
    "delete to the end of the line; at its end, join the line below",
);
pub const KILL_WORD: Binding = key(
    "Ctrl-W",
    "delete word",
    "delete the word before the cursor and the blanks after it, across line breaks (a shell's unix-word-rubout)",
);
pub const UNDO: Binding = key("Ctrl-Z", "undo", "undo in the message");
pub const MOVE: Binding = key(
    "arrows, Alt-B / Alt-F…",
    "move",
    "move in the message (ratatui-textarea's emacs-style bindings)",
);

pub const LANE_ADD_CLOSE: Binding = key(
    "Alt-N / Alt-W",
    "add/close lane",
    "add a lane (a copy of the focused one) / close the focused lane",
);
pub const LANE_FOCUS: Binding = key(
    "Alt-← / Alt-→",
    "lane",
    "focus the lane to the left / right (the picker, Ctrl-G, Alt-M and Ctrl-R act on it)",
);
pub const LANE_CANCEL: Binding = key(
    "Alt-X",
    "cancel lane",
    "cancel the focused lane's reply only (Esc cancels every lane)",
);
pub const LANE_VIEW: Binding = key(
    "Alt-Z / Alt-S / Alt-D",
    "zoom/scroll/diff",
    "zoom the focused lane / scroll lanes together or apart / word diff of the latest replies",
);
pub const RERUN_ON_SAVE: Binding = key(
    "Alt-A",
    "re-run on save",
    "a save of a lane's prompt file re-runs the last message in a new lane beside it",
);
pub const TEMPERATURE: Binding = key(
    "Alt-T",
    "temperature",
    "the focused lane's temperature: provider default, 0, 0.5, 1",
);
pub const REPEAT: Binding = key(
    "Alt-R",
    "repeat",
    "send each message 1, 3, 5 or 10 times per lane, to see how much the replies vary",
);

/// Closing a full-screen pane or popup.
pub const CLOSE: Binding = key("Esc", "close", "close");

const CHAT: &[Binding] = &[
    SEND,
    NEWLINE,
    ALT_NEWLINE,
    CANCEL,
    RECALL,
    EDIT_EARLIER,
    EDITOR,
    NEW_CONVERSATION,
    CONVERSATIONS,
    RETRY,
    PROMPTS,
    VARIABLES,
    MODELS,
    PANEL,
    PANEL_REPLY,
    COPY,
    CODE_BLOCK,
    INSPECTOR,
    PAGE,
    ENDS,
    REPAINT,
    HELP,
    QUIT,
];

const EDITING: &[Binding] = &[LINE_ENDS, KILL_BACK, KILL_FORWARD, KILL_WORD, UNDO, MOVE];

const COMPARE: &[Binding] = &[
    LANE_ADD_CLOSE,
    LANE_FOCUS,
    LANE_CANCEL,
    LANE_VIEW,
    RERUN_ON_SAVE,
    TEMPERATURE,
    REPEAT,
];

const PICKER: &[Binding] = &[
    key(
        "↑ / ↓",
        "choose",
        "choose a prompt, or a version in the versions column",
    ),
    key("← / →, Tab", "column", "prompts column / versions column"),
    key(
        "Enter",
        "use",
        "use the selected version (on the prompts column: the working file)",
    ),
    key(
        "c",
        "compare",
        "open a compare lane with the selected version",
    ),
    key(
        "d",
        "diff",
        "preview the text, or the diff against the base as git shows it (the older version -, the newer +)",
    ),
    key(
        "m",
        "mark base",
        "mark the selected version as the diff base (kept when the picker closes; again to unmark: the working file is the base)",
    ),
    key("PgUp / PgDn", "scroll", "scroll the preview"),
    key("Esc / Ctrl-P", "close", "close the picker"),
];

const VARIABLES_FORM: &[Binding] = &[
    key("↑ / ↓, Tab", "field", "the previous / next variable"),
    key(
        "typing, Backspace",
        "edit",
        "edit the selected variable's value",
    ),
    key("Ctrl-U", "clear", "clear the selected value"),
    key("Enter / Esc / Ctrl-G", "close", "close the form"),
];

const INSPECTOR_KEYS: &[Binding] = &[
    key("↑ / ↓", "choose", "choose an attempt"),
    key(
        "PgUp / PgDn, Home / End",
        "page",
        "move by ten rows / to the ends",
    ),
    key(
        "Enter",
        "record",
        "the selected attempt's record: parameters, the system text as sent (variables filled), the messages sent, the raw reply, the log row",
    ),
    key("f", "filter", "only the selected row's prompt (again: all)"),
    key(
        "r",
        "reload",
        "read the log again (in a record: the record too)",
    ),
    key(
        "↑ / ↓, PgUp / PgDn, Home / End",
        "scroll",
        "in a record: scroll it by a line, a page, to the top / bottom",
    ),
    key(
        "Esc / Enter",
        "back",
        "in a record: back to the list (Esc in the list closes the inspector)",
    ),
    key("F2 / Alt-I / q", "close", "close the inspector"),
];

const CONVERSATION_LIST: &[Binding] = &[
    key(
        "typing",
        "search",
        "search titles and message text (SQLite full-text; words match as prefixes); empty: the most recent",
    ),
    key(
        "Backspace / Ctrl-U",
        "edit search",
        "delete a character / the whole search",
    ),
    key("↑ / ↓, PgUp / PgDn", "choose", "choose a conversation"),
    key(
        "Enter",
        "reopen",
        "reopen it with its prompt version (a compare comes back as a compare)",
    ),
    key("Esc / Ctrl-O", "close", "close the list"),
];

const MODEL_SWITCHER: &[Binding] = &[
    key("typing", "filter", "filter the models (Ctrl-U clears)"),
    key("↑ / ↓, PgUp / PgDn", "choose", "choose a model"),
    key(
        "Enter",
        "use",
        "use the highlighted model — or exactly what you typed, for one the endpoint does not list",
    ),
    key(
        "Tab / Alt-Enter",
        "compare",
        "open a compare lane with the highlighted model",
    ),
    key("Esc", "close", "close the switcher"),
];

const HELP_KEYS: &[Binding] = &[
    key("↑ / ↓, PgUp / PgDn", "scroll", "scroll this list"),
    key("Esc / ? / F1", "close", "close the help"),
];

/// The keys of one pane.
pub fn bindings(pane: Pane) -> &'static [Binding] {
    match pane {
        Pane::Chat => CHAT,
        Pane::Editing => EDITING,
        Pane::Compare => COMPARE,
        Pane::Picker => PICKER,
        Pane::Variables => VARIABLES_FORM,
        Pane::Inspector => INSPECTOR_KEYS,
        Pane::Conversations => CONVERSATION_LIST,
        Pane::Models => MODEL_SWITCHER,
        Pane::Help => HELP_KEYS,
    }
}

/// A pane's title in the help and the README.
pub fn title(pane: Pane) -> &'static str {
    match pane {
        Pane::Chat => "Chat",
        Pane::Editing => "Editing the message",
        Pane::Compare => "Compare (two or more lanes)",
        Pane::Picker => "Prompt picker (Ctrl-P)",
        Pane::Variables => "Variables form (Ctrl-G)",
        Pane::Inspector => "Request inspector (F2, Alt-I)",
        Pane::Conversations => "Earlier conversations (Ctrl-O)",
        Pane::Models => "Model switcher (Alt-M)",
        Pane::Help => "This help",
    }
}

fn section(pane: Pane) -> Section {
    Section {
        pane,
        title: title(pane),
        bindings: bindings(pane),
    }
}

/// What the help overlay lists over `pane`: its own keys first, then what else applies there.
pub fn sections_for(pane: Pane) -> Vec<Section> {
    let panes: &[Pane] = match pane {
        Pane::Chat | Pane::Editing => &[Pane::Chat, Pane::Editing, Pane::Compare, Pane::Help],
        Pane::Compare => &[Pane::Compare, Pane::Chat, Pane::Editing, Pane::Help],
        Pane::Picker => &[Pane::Picker, Pane::Help],
        Pane::Variables => &[Pane::Variables, Pane::Help],
        Pane::Inspector => &[Pane::Inspector, Pane::Help],
        Pane::Conversations => &[Pane::Conversations, Pane::Help],
        Pane::Models => &[Pane::Models, Pane::Help],
        Pane::Help => &[Pane::Help],
    };
    panes.iter().map(|p| section(*p)).collect()
}

/// Every pane, in the order `--help` and the README list them.
pub const ALL_PANES: [Pane; 8] = [
    Pane::Chat,
    Pane::Editing,
    Pane::Compare,
    Pane::Picker,
    Pane::Variables,
    Pane::Inspector,
    Pane::Conversations,
    Pane::Models,
];

/// Every key as plain text, for `promptdeck --help`.
pub fn keys_help() -> String {
    let mut out = String::from("Keys (interactive; F1 or ? shows those of the current screen):\n");
    let width = ALL_PANES
        .iter()
        .flat_map(|p| bindings(*p))
        .map(|b| crate::text::width(b.keys))
        .max()
        .unwrap_or(0);
    for pane in ALL_PANES {
        out.push_str(&format!("\n  {}\n", title(pane)));
        for b in bindings(pane) {
            let pad = width.saturating_sub(crate::text::width(b.keys));
            out.push_str(&format!("    {}{}  {}\n", b.keys, " ".repeat(pad), b.does));
        }
    }
    out
}

/// The README's Keys section body: one table per pane.
pub fn markdown() -> String {
    let mut out = String::new();
    for pane in ALL_PANES {
        out.push_str(&format!(
            "**{}**\n\n| key | does |\n|---|---|\n",
            title(pane)
        ));
        for b in bindings(pane) {
            out.push_str(&format!(
                "| {} | {} |\n",
                b.keys.replace('|', "\\|"),
                b.does.replace('|', "\\|")
            ));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's Keys section is generated from these tables: regenerate it with
    /// `PROMPTDECK_WRITE_README=1 cargo test --lib keys::` after changing a key.
    #[test]
    fn the_readme_lists_every_key_from_this_module() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
        let readme = std::fs::read_to_string(path).expect("README.md");
        let (start, end) = ("<!-- keys:start -->\n", "<!-- keys:end -->");
        let from = readme.find(start).expect("keys:start marker") + start.len();
        let to = readme.find(end).expect("keys:end marker");
        let wanted = markdown();
        if std::env::var_os("PROMPTDECK_WRITE_README").is_some() {
            let updated = format!("{}{wanted}{}", &readme[..from], &readme[to..]);
            std::fs::write(path, updated).expect("write README.md");
            return;
        }
        pretty_assertions::assert_eq!(&readme[from..to], wanted.as_str());
    }

    #[test]
    fn keys_help_names_every_pane_and_key() {
        let help = keys_help();
        for pane in ALL_PANES {
            assert!(help.contains(title(pane)), "{pane:?}");
            for b in bindings(pane) {
                assert!(help.contains(b.does), "{}", b.keys);
            }
        }
    }

    #[test]
    fn hints_are_the_key_then_its_label() {
        assert_eq!(PROMPTS.hint(), "Ctrl-P prompts");
        assert_eq!(RETRY.hint(), "Ctrl-R retry");
    }
}
