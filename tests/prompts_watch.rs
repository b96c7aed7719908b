//! Hot reload: files saved the way editors save them, and the watcher's events.
//!
//! Each test waits for the expected event with a generous bound (`EVENT_BOUND`): a bound so a
//! broken watcher fails instead of hanging, not a performance claim. The observed latency is
//! printed (`--nocapture`) — with the 100 ms debounce it is typically 100–150 ms.

use std::path::Path;
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use promptdeck::prompts::{PromptError, PromptWatcher, WatchEvent, load};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

/// Upper bound on waiting for one event.
const EVENT_BOUND: Duration = Duration::from_secs(5);
/// How long "nothing happens" is watched for.
const QUIET_WINDOW: Duration = Duration::from_millis(600);

struct Harness {
    tmp: tempfile::TempDir,
    _watcher: Option<PromptWatcher>,
    rx: UnboundedReceiver<WatchEvent>,
}

impl Harness {
    fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// Waits until an event satisfies `wanted`; returns it, the events before it and the time.
    async fn wait_for(
        &mut self,
        what: &str,
        wanted: impl Fn(&WatchEvent) -> bool,
    ) -> (WatchEvent, Vec<WatchEvent>, Duration) {
        let start = Instant::now();
        let mut before = Vec::new();
        loop {
            let left = EVENT_BOUND.saturating_sub(start.elapsed());
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(event)) if wanted(&event) => {
                    let elapsed = start.elapsed();
                    eprintln!("{what}: {event:?} after {} ms", elapsed.as_millis());
                    return (event, before, elapsed);
                }
                Ok(Some(event)) => before.push(event),
                Ok(None) => panic!("watcher channel closed waiting for {what}"),
                Err(_) => panic!("no {what} within {EVENT_BOUND:?}; saw {before:?}"),
            }
        }
    }

    /// Asserts no event arrives for a while.
    async fn assert_quiet(&mut self) {
        if let Ok(event) = tokio::time::timeout(QUIET_WINDOW, self.rx.recv()).await {
            panic!("unexpected event {event:?}");
        }
    }
}

/// A prompts dir holding `a.txt` and `ns/b.txt`, watched.
fn start() -> Harness {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("a.txt"), "first a\n").unwrap();
    std::fs::create_dir_all(tmp.path().join("ns")).unwrap();
    std::fs::write(tmp.path().join("ns/b.txt"), "first b\n").unwrap();
    let (tx, rx) = unbounded_channel();
    let watcher = PromptWatcher::start(tmp.path(), move |event| {
        let _ = tx.send(event);
    })
    .unwrap();
    Harness {
        tmp,
        _watcher: Some(watcher),
        rx,
    }
}

fn changed(names: &[&str]) -> impl Fn(&WatchEvent) -> bool {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    move |e| matches!(e, WatchEvent::Changed(n) if *n == names)
}

#[tokio::test]
async fn write_in_place_reports_the_prompt_and_load_sees_new_text() {
    let mut h = start();
    std::fs::write(h.dir().join("a.txt"), "second a\n").unwrap();
    let (_, before, _) = h.wait_for("in-place save", changed(&["a"])).await;
    assert_eq!(before, vec![], "no rescan for an in-place save");
    assert_eq!(load(h.dir(), "a").await.unwrap().text, "second a\n");

    std::fs::write(h.dir().join("ns/b.txt"), "second b\n").unwrap();
    h.wait_for("namespaced save", changed(&["ns/b"])).await;
}

#[tokio::test]
async fn temp_file_renamed_over_the_original_is_a_change() {
    let mut h = start();
    // Atomic save: write a temporary sibling, then rename it over the prompt.
    let tmp_path = h.dir().join(".a.txt.tmp1234");
    std::fs::write(&tmp_path, "renamed-in a\n").unwrap();
    std::fs::rename(&tmp_path, h.dir().join("a.txt")).unwrap();
    let (_, before, _) = h.wait_for("temp+rename save", changed(&["a"])).await;
    assert!(
        !before.iter().any(|e| matches!(e, WatchEvent::Removed(_))),
        "{before:?}"
    );
    assert_eq!(load(h.dir(), "a").await.unwrap().text, "renamed-in a\n");
}

#[tokio::test]
async fn vim_backupcopy_no_rename_away_then_write_is_a_change() {
    let mut h = start();
    let dir = h.dir().to_path_buf();
    // vim: probe file 4913, swap file, rename the original to a backup, write a new file,
    // delete the backup.
    std::fs::write(dir.join("4913"), "").unwrap();
    std::fs::remove_file(dir.join("4913")).unwrap();
    std::fs::write(dir.join(".a.txt.swp"), "swap").unwrap();
    std::fs::rename(dir.join("a.txt"), dir.join("a.txt~")).unwrap();
    std::fs::write(dir.join("a.txt"), "vim a\n").unwrap();
    std::fs::remove_file(dir.join("a.txt~")).unwrap();
    std::fs::remove_file(dir.join(".a.txt.swp")).unwrap();
    let (_, before, _) = h.wait_for("vim save", changed(&["a"])).await;
    assert!(
        !before
            .iter()
            .any(|e| matches!(e, WatchEvent::Changed(n) if n.iter().any(|n| n != "a"))),
        "editor leftovers reported as prompts: {before:?}"
    );
    assert_eq!(load(&dir, "a").await.unwrap().text, "vim a\n");
}

#[tokio::test]
async fn new_file_appears() {
    let mut h = start();
    std::fs::write(h.dir().join("c.txt"), "new c\n").unwrap();
    h.wait_for("new file", changed(&["c"])).await;
    std::fs::create_dir_all(h.dir().join("fresh/deeper")).unwrap();
    std::fs::write(h.dir().join("fresh/deeper/d.txt"), "new d\n").unwrap();
    h.wait_for("new file in a new folder", changed(&["fresh/deeper/d"]))
        .await;
}

#[tokio::test]
async fn new_file_asks_for_a_rescan() {
    let mut h = start();
    std::fs::write(h.dir().join("c.txt"), "new c\n").unwrap();
    h.wait_for("rescan", |e| *e == WatchEvent::Rescan).await;
}

#[tokio::test]
async fn deleted_file_disappears() {
    let mut h = start();
    std::fs::remove_file(h.dir().join("a.txt")).unwrap();
    h.wait_for("removal", |e| *e == WatchEvent::Removed(vec!["a".into()]))
        .await;
    h.wait_for("rescan", |e| *e == WatchEvent::Rescan).await;
    assert!(matches!(
        load(h.dir(), "a").await,
        Err(PromptError::NotFound { .. })
    ));
}

#[tokio::test]
async fn renamed_file_moves() {
    let mut h = start();
    std::fs::rename(h.dir().join("a.txt"), h.dir().join("ns/renamed.txt")).unwrap();
    h.wait_for("old name removed", |e| {
        *e == WatchEvent::Removed(vec!["a".into()])
    })
    .await;
    h.wait_for("new name", changed(&["ns/renamed"])).await;
}

#[tokio::test]
async fn invalid_saves_are_reported_and_fail_to_load_clearly() {
    let mut h = start();
    std::fs::write(h.dir().join("a.txt"), "").unwrap();
    h.wait_for("empty save", changed(&["a"])).await;
    let error = load(h.dir(), "a").await.unwrap_err();
    assert!(matches!(error, PromptError::Empty { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("is empty; write the system prompt")
    );

    std::fs::write(h.dir().join("a.txt"), b"caf\xe9 latin-1\n").unwrap();
    h.wait_for("non-UTF-8 save", changed(&["a"])).await;
    let error = load(h.dir(), "a").await.unwrap_err();
    assert!(
        matches!(
            error,
            PromptError::NotUtf8 {
                offset_bytes: 3,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("is not UTF-8 text (invalid byte at offset 3)")
    );
}

#[tokio::test]
async fn reading_files_and_editor_leftovers_cause_no_events() {
    let mut h = start();
    // Our own reads must not look like saves (that would reload forever).
    load(h.dir(), "a").await.unwrap();
    let _ = std::fs::read(h.dir().join("ns/b.txt")).unwrap();
    std::fs::write(h.dir().join(".a.txt.swp"), "swap").unwrap();
    std::fs::write(h.dir().join("a.txt~"), "backup").unwrap();
    std::fs::write(h.dir().join("notes.md"), "not a prompt").unwrap();
    h.assert_quiet().await;
}

#[tokio::test]
async fn dropping_the_watcher_stops_it() {
    let mut h = start();
    h._watcher = None;
    std::fs::write(h.dir().join("a.txt"), "after drop\n").unwrap();
    match tokio::time::timeout(QUIET_WINDOW, h.rx.recv()).await {
        // The sender lives in the dropped watcher: the channel closes, or nothing arrives.
        Ok(None) | Err(_) => {}
        Ok(Some(event)) => panic!("event after drop: {event:?}"),
    }
}
