//! Pure tests of the prompt library in the chat: starting prompt, variables, hot reload,
//! picker choices, and the provenance every request carries.

use std::sync::Arc;
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pretty_assertions::assert_eq;

use super::prompt::{Loadable, PromptState, Tracking};
use super::*;
use crate::event::ResolvePurpose;
use crate::prompts::{
    CommitInfo, GitState, History, LoadedPrompt, PromptError, PromptVersions, Provenance,
    Reference, Version, VersionKind, WatchEvent, WorkingStatus, content_hash,
};

const TRIAGE_V1: &str = "You triage tickets for {{product}}.";
const TRIAGE_V2: &str = "You triage tickets for {{product}}, briefly.";

fn model() -> Model {
    let session = Session {
        provider: "anthropic".into(),
        provider_label: None,
        model: "m".into(),
        max_tokens: 100,
        temperature: None,
        system: Some("configured system".into()),
        start: StartKind::Configured,
    };
    let vars = [("product".to_string(), "Acme".to_string())].into();
    Model::new(session).with_prompts(PromptState::new("prompts".into(), vars))
}

fn loaded(text: &str, git: GitState) -> LoadedPrompt {
    LoadedPrompt {
        text: text.into(),
        provenance: Provenance {
            name: "support/triage".into(),
            content_hash: content_hash(text),
            git,
        },
    }
}

fn key(m: &mut Model, code: KeyCode) -> Vec<Effect> {
    m.update(
        AppEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)),
        Instant::now(),
    )
}

fn ctrl(m: &mut Model, c: char) -> Vec<Effect> {
    m.update(
        AppEvent::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)),
        Instant::now(),
    )
}

fn send(m: &mut Model, text: &str) -> Vec<Effect> {
    m.update(AppEvent::Paste(text.into()), Instant::now());
    key(m, KeyCode::Enter)
}

fn activate(m: &mut Model, text: &str) {
    let reference = Reference::working("support/triage");
    m.update(
        AppEvent::PromptResolved {
            reference,
            purpose: ResolvePurpose::Activate,
            result: Ok(loaded(text, GitState::Uncommitted)),
        },
        Instant::now(),
    );
}

fn sent_system(effects: &[Effect]) -> (Option<String>, Option<Provenance>) {
    match effects {
        [
            Effect::StartRequest { spec, .. },
            Effect::ScheduleTick { .. },
        ] => (spec.request.system.clone(), spec.prompt.clone()),
        other => panic!("expected one request, got {other:?}"),
    }
}

#[test]
fn the_starting_prompt_is_resolved_then_drives_every_request_with_variables_filled() {
    let mut m = model();
    let reference = Reference::parse("support/triage@HEAD~1").unwrap();
    assert_eq!(
        m.start(Some(reference.clone()), None),
        vec![
            Effect::ScanPrompts,
            Effect::ResolvePrompt {
                reference: reference.clone(),
                purpose: ResolvePurpose::Activate
            }
        ]
    );
    let commit = GitState::Commit("0123456789abcdef0123456789abcdef01234567".into());
    m.update(
        AppEvent::PromptResolved {
            reference,
            purpose: ResolvePurpose::Activate,
            result: Ok(loaded(TRIAGE_V1, commit.clone())),
        },
        Instant::now(),
    );
    assert_eq!(
        m.lane.prompt.as_ref().map(|a| a.tracking),
        Some(Tracking::Pinned),
        "a revision is pinned"
    );
    let (system, prompt) = sent_system(&send(&mut m, "hi"));
    assert_eq!(system.as_deref(), Some("You triage tickets for Acme."));
    let prompt = prompt.expect("provenance");
    assert_eq!(prompt.git, commit);
    assert_eq!(prompt.content_hash, content_hash(TRIAGE_V1));
    assert_eq!(
        m.lane
            .transcript
            .last_reply()
            .and_then(|r| r.prompt.clone()),
        Some(prompt),
        "the reply header names the version"
    );
}

#[test]
fn an_unfilled_variable_refuses_to_send_and_names_it() {
    let mut m = model();
    m.lane.vars.clear();
    activate(&mut m, TRIAGE_V1);
    assert_eq!(send(&mut m, "hello"), vec![]);
    let status = m.status.clone().expect("a status");
    assert_eq!(status.tone, StatusTone::Error);
    assert!(status.text.contains("{{product}}"), "{}", status.text);
    assert_eq!(
        m.composer_text(),
        "hello",
        "the message stays in the composer"
    );
    // Ctrl-G opens the form; typing fills the variable; then it sends.
    ctrl(&mut m, 'g');
    assert!(matches!(m.mode, Mode::Variables(_)));
    for c in "Acme".chars() {
        key(&mut m, KeyCode::Char(c));
    }
    key(&mut m, KeyCode::Enter);
    assert_eq!(m.mode, Mode::Chat);
    assert_eq!(m.status, None, "the answered 'not sent' message is gone");
    let (system, _) = sent_system(&key(&mut m, KeyCode::Enter));
    assert_eq!(system.as_deref(), Some("You triage tickets for Acme."));
}

#[test]
fn saving_the_active_file_reloads_it_and_the_next_request_uses_the_new_text() {
    let mut m = model();
    activate(&mut m, TRIAGE_V1);
    let effects = m.update(
        AppEvent::PromptsChanged(WatchEvent::Changed(vec!["support/triage".into()])),
        Instant::now(),
    );
    assert!(effects.contains(&Effect::ResolvePrompt {
        reference: Reference::working("support/triage"),
        purpose: ResolvePurpose::Reload
    }));
    m.update(
        AppEvent::PromptResolved {
            reference: Reference::working("support/triage"),
            purpose: ResolvePurpose::Reload,
            result: Ok(loaded(TRIAGE_V2, GitState::Uncommitted)),
        },
        Instant::now(),
    );
    let status = m.status.clone().unwrap().text;
    let new_hash = content_hash(TRIAGE_V2);
    assert!(
        status.contains("reloaded support/triage") && status.contains(new_hash.short()),
        "{status}"
    );
    let (system, prompt) = sent_system(&send(&mut m, "again"));
    assert_eq!(
        system.as_deref(),
        Some("You triage tickets for Acme, briefly.")
    );
    assert_eq!(prompt.unwrap().content_hash, new_hash);
    // Both texts are now session versions.
    assert_eq!(m.prompts.session.versions("support/triage").len(), 2);
}

#[test]
fn a_broken_save_keeps_the_last_good_version() {
    let mut m = model();
    activate(&mut m, TRIAGE_V1);
    m.update(
        AppEvent::PromptResolved {
            reference: Reference::working("support/triage"),
            purpose: ResolvePurpose::Reload,
            result: Err(PromptError::Empty {
                path: "prompts/support/triage.txt".into(),
            }),
        },
        Instant::now(),
    );
    let status = m.status.clone().unwrap();
    assert_eq!(status.tone, StatusTone::Error);
    assert!(status.text.contains("is empty"), "{}", status.text);
    assert!(
        status.text.contains(content_hash(TRIAGE_V1).short()),
        "{}",
        status.text
    );
    let (system, _) = sent_system(&send(&mut m, "still works"));
    assert_eq!(system.as_deref(), Some("You triage tickets for Acme."));
    // A deleted file keeps its last text too.
    m.update(
        AppEvent::PromptsChanged(WatchEvent::Removed(vec!["support/triage".into()])),
        Instant::now(),
    );
    assert!(m.status.clone().unwrap().text.contains("was deleted"));
    assert!(m.lane.prompt.is_some());
}

#[test]
fn saving_a_pinned_prompts_file_switches_to_the_saved_text() {
    let mut m = model();
    activate(&mut m, TRIAGE_V1);
    m.lane.prompt.as_mut().unwrap().tracking = Tracking::Pinned;
    let effects = m.update(
        AppEvent::PromptsChanged(WatchEvent::Changed(vec!["support/triage".into()])),
        Instant::now(),
    );
    assert!(effects.contains(&Effect::ResolvePrompt {
        reference: Reference::working("support/triage"),
        purpose: ResolvePurpose::Reload
    }));
    m.update(
        AppEvent::PromptResolved {
            reference: Reference::working("support/triage"),
            purpose: ResolvePurpose::Reload,
            result: Ok(loaded(TRIAGE_V2, GitState::Uncommitted)),
        },
        Instant::now(),
    );
    let active = m.lane.prompt.clone().unwrap();
    assert_eq!(active.tracking, Tracking::WorkingTree);
    assert_eq!(active.provenance.content_hash, content_hash(TRIAGE_V2));
    // Saves of other prompts change nothing about the active one.
    let effects = m.update(
        AppEvent::PromptsChanged(WatchEvent::Changed(vec!["code-review".into()])),
        Instant::now(),
    );
    assert_eq!(effects, vec![Effect::ScanPrompts]);
}

fn listing() -> PromptVersions {
    let version = |text: &str, kind: VersionKind| Version {
        id: content_hash(text),
        kind,
        text: Some(Arc::from(text)),
        problem: None,
    };
    PromptVersions {
        name: "support/triage".into(),
        versions: vec![
            version(
                TRIAGE_V2,
                VersionKind::Working {
                    status: WorkingStatus::Uncommitted,
                },
            ),
            version(
                TRIAGE_V1,
                VersionKind::Commit(CommitInfo {
                    hash: "feedfacefeedfacefeedfacefeedfacefeedface".into(),
                    short: "feedfacefeed".into(),
                    date_iso: "2026-11-20T10:00:00+00:00".into(),
                    author: "Ada".into(),
                    subject: "first triage prompt".into(),
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

#[test]
fn the_picker_lists_versions_and_enter_pins_the_chosen_commit() {
    let mut m = model();
    m.update(
        AppEvent::PromptsScanned(Ok(vec!["code-review".into(), "support/triage".into()])),
        Instant::now(),
    );
    let effects = ctrl(&mut m, 'p');
    assert_eq!(effects, vec![Effect::ScanPrompts], "row 0 is 'no prompt'");
    key(&mut m, KeyCode::Down);
    let effects = key(&mut m, KeyCode::Down);
    assert_eq!(
        effects,
        vec![Effect::LoadVersions {
            name: "support/triage".into(),
            session: m.prompts.session.clone()
        }]
    );
    m.update(
        AppEvent::VersionsLoaded {
            name: "support/triage".into(),
            result: Ok(listing()),
        },
        Instant::now(),
    );
    key(&mut m, KeyCode::Right);
    key(&mut m, KeyCode::Down);
    key(&mut m, KeyCode::Enter);
    assert_eq!(m.mode, Mode::Chat);
    let active = m.lane.prompt.clone().expect("active");
    assert_eq!(active.tracking, Tracking::Pinned);
    assert_eq!(
        active.provenance.git,
        GitState::Commit("feedfacefeedfacefeedfacefeedfacefeedface".into())
    );
    let (system, _) = sent_system(&send(&mut m, "which version?"));
    assert_eq!(system.as_deref(), Some("You triage tickets for Acme."));
}

#[test]
fn enter_on_a_prompt_before_its_versions_load_uses_the_working_file() {
    let mut m = model();
    m.update(
        AppEvent::PromptsScanned(Ok(vec!["support/triage".into()])),
        Instant::now(),
    );
    ctrl(&mut m, 'p');
    key(&mut m, KeyCode::Down);
    assert!(matches!(&m.mode, Mode::Picker(p) if p.versions == Loadable::Loading));
    assert_eq!(
        key(&mut m, KeyCode::Enter),
        vec![Effect::ResolvePrompt {
            reference: Reference::working("support/triage"),
            purpose: ResolvePurpose::Activate
        }]
    );
    assert_eq!(m.mode, Mode::Chat);
}

#[test]
fn choosing_no_prompt_falls_back_to_the_configured_system_text() {
    let mut m = model();
    activate(&mut m, TRIAGE_V1);
    m.update(
        AppEvent::PromptsScanned(Ok(vec!["support/triage".into()])),
        Instant::now(),
    );
    ctrl(&mut m, 'p');
    key(&mut m, KeyCode::Up);
    key(&mut m, KeyCode::Enter);
    assert_eq!(m.lane.prompt, None);
    let (system, prompt) = sent_system(&send(&mut m, "plain"));
    assert_eq!(system.as_deref(), Some("configured system"));
    assert_eq!(
        prompt,
        Some(Provenance::inline("configured system")),
        "an inline system prompt is recorded by its hash"
    );
}

#[test]
fn a_prompt_that_could_not_be_loaded_blocks_sending_until_one_is_chosen() {
    let mut m = model();
    let reference = Reference::parse("support/triage@#abcd1234").unwrap();
    m.update(
        AppEvent::PromptResolved {
            reference,
            purpose: ResolvePurpose::Activate,
            result: Err(PromptError::UnknownHash {
                name: "support/triage".into(),
                hash: "abcd1234".into(),
            }),
        },
        Instant::now(),
    );
    assert_eq!(
        send(&mut m, "hello"),
        vec![],
        "never silently without the prompt"
    );
    assert!(
        m.status
            .clone()
            .unwrap()
            .text
            .contains("support/triage@#abcd1234"),
        "{:?}",
        m.status
    );
    assert_eq!(m.composer_text(), "hello");
    // Choosing "no prompt" in the picker is an explicit choice: then it sends.
    m.update(
        AppEvent::PromptsScanned(Ok(vec!["support/triage".into()])),
        Instant::now(),
    );
    ctrl(&mut m, 'p');
    key(&mut m, KeyCode::Enter);
    assert!(matches!(
        key(&mut m, KeyCode::Enter).as_slice(),
        [Effect::StartRequest { .. }, Effect::ScheduleTick { .. }]
    ));
}

#[test]
fn the_diff_base_marked_in_the_picker_survives_closing_it() {
    let mut m = model();
    m.update(
        AppEvent::PromptsScanned(Ok(vec!["support/triage".into()])),
        Instant::now(),
    );
    ctrl(&mut m, 'p');
    key(&mut m, KeyCode::Down);
    let versions = PromptVersions {
        name: "support/triage".into(),
        versions: vec![Version {
            id: content_hash(TRIAGE_V1),
            kind: VersionKind::Working {
                status: WorkingStatus::Uncommitted,
            },
            text: Some(Arc::from(TRIAGE_V1)),
            problem: None,
        }],
        working_error: None,
        history: History::Git {
            root: "/repo".into(),
        },
    };
    m.update(
        AppEvent::VersionsLoaded {
            name: "support/triage".into(),
            result: Ok(versions),
        },
        Instant::now(),
    );
    key(&mut m, KeyCode::Char('m'));
    key(&mut m, KeyCode::Esc);
    assert_eq!(m.mode, Mode::Chat);
    ctrl(&mut m, 'p');
    key(&mut m, KeyCode::Down);
    let Mode::Picker(picker) = &m.mode else {
        panic!("the picker");
    };
    assert_eq!(picker.marked, Some(content_hash(TRIAGE_V1)));
}
