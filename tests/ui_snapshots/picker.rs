//! The prompt picker (Ctrl-P): versions of a prompt, its text and its diff, at two sizes.

use std::sync::Arc;
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use promptdeck::event::AppEvent;
use promptdeck::prompts::{
    CommitInfo, History, PromptVersions, Version, VersionKind, WorkingStatus, content_hash,
};

use super::{Screen, StartKind};

const WORKING: &str = "You triage support tickets for {{product}}.\nClassify each as bug, billing or question.\nAnswer in a {{tone}} tone.\nNever promise refunds.\n";
const COMMITTED: &str = "You triage support tickets for {{product}}.\nClassify each as bug or question.\nAnswer in a {{tone}} tone.\n";

fn listing() -> PromptVersions {
    let v = |text: &str, kind| Version {
        id: content_hash(text),
        kind,
        text: Some(Arc::from(text)),
        problem: None,
    };
    PromptVersions {
        name: "support/triage".into(),
        versions: vec![
            v(
                WORKING,
                VersionKind::Working {
                    status: WorkingStatus::Uncommitted,
                },
            ),
            v(
                COMMITTED,
                VersionKind::Commit(CommitInfo {
                    hash: "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00".into(),
                    short: "c0ffee00c0ff".into(),
                    date_iso: "2026-11-20T10:00:00+00:00".into(),
                    author: "Ada Lovelace".into(),
                    subject: "triage: add tone variable".into(),
                    path: "prompts/support/triage.txt".into(),
                }),
            ),
        ],
        working_error: None,
        history: History::Git {
            root: "/repo".into(),
        },
    }
}

fn key(s: &mut Screen, code: KeyCode, modifiers: KeyModifiers) {
    s.model.update(
        AppEvent::Key(KeyEvent::new(code, modifiers)),
        Instant::now(),
    );
}

/// The picker on support/triage, the committed version selected; `diff` toggles the
/// diff against the working file.
fn screen(diff: bool) -> Screen {
    let mut s = Screen::new(StartKind::Configured);
    s.model.update(
        AppEvent::PromptsScanned(Ok(vec![
            "code-review".into(),
            "summarize".into(),
            "support/triage".into(),
        ])),
        Instant::now(),
    );
    key(&mut s, KeyCode::Char('p'), KeyModifiers::CONTROL);
    for _ in 0..3 {
        key(&mut s, KeyCode::Down, KeyModifiers::NONE);
    }
    s.model.update(
        AppEvent::VersionsLoaded {
            name: "support/triage".into(),
            result: Ok(listing()),
        },
        Instant::now(),
    );
    key(&mut s, KeyCode::Right, KeyModifiers::NONE);
    key(&mut s, KeyCode::Down, KeyModifiers::NONE);
    if diff {
        key(&mut s, KeyCode::Char('d'), KeyModifiers::NONE);
    }
    s
}

#[test]
fn picker_text_80x24() {
    insta::assert_snapshot!(screen(false).render(80, 24));
}

#[test]
fn picker_diff_80x24() {
    let shown = screen(true).render(80, 24);
    assert!(
        shown.contains("+ Classify each as bug, billing or question."),
        "as git shows it: the newer working file is +\n{shown}"
    );
    assert!(
        shown.contains("- Classify each as bug or question."),
        "the older commit is -\n{shown}"
    );
    assert!(shown.contains("diff − c0ffee0 + working file"), "{shown}");
    insta::assert_snapshot!(shown);
}

#[test]
fn picker_diff_160x48() {
    insta::assert_snapshot!(screen(true).render(160, 48));
}

#[test]
fn picker_text_160x48() {
    insta::assert_snapshot!(screen(false).render(160, 48));
}
