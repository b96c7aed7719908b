//! Prompt versions from REAL git repositories, built in temp dirs with the `git` binary:
//! several commits by different authors, a tag, a rename followed by another commit, an
//! uncommitted edit, an untracked file; and a directory outside any repository.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use pretty_assertions::assert_eq;
use promptdeck::prompts::{
    GitState, History, NoRepoReason, PromptError, Reference, SessionVersions, VersionKind,
    WorkingStatus, content_hash, list_report, load, resolve_reference, versions,
};

/// Runs git in `dir` with a fixed identity and date, isolated from the user's config.
fn git_as(dir: &Path, author: &str, day: u32, args: &[&str]) -> String {
    let date = format!("2026-01-{day:02}T12:00:00+00:00");
    let output = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", author)
        .env(
            "GIT_AUTHOR_EMAIL",
            format!("{}@example.com", author.to_lowercase()),
        )
        .env("GIT_COMMITTER_NAME", author)
        .env("GIT_COMMITTER_EMAIL", "ci@example.com")
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn git(dir: &Path, args: &[&str]) -> String {
    git_as(dir, "Ann", 1, args)
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, text).unwrap();
}

/// The commits made by [`fixture`], newest last.
struct Fixture {
    _tmp: tempfile::TempDir,
    /// The prompts directory (`<repo>/prompts`).
    dir: std::path::PathBuf,
    first: String,
    second: String,
    rename: String,
    third: String,
    fourth: String,
}

/// A repository whose `prompts/greet.txt` became `prompts/welcome.txt`:
/// 1. Ann: greet v1 + other.txt; 2. Bo: greet v2 (tagged `v2-tag`); 3. Ann: `git mv` to
///    welcome; 4. Bo: welcome v3; 5. Ann: ns/deep.txt.
///
/// Then an uncommitted edit of welcome and an untracked new.txt.
fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let dir = repo.join("prompts");
    std::fs::create_dir_all(&dir).unwrap();
    git(&repo, &["init", "-q"]);
    write(&dir.join("greet.txt"), "v1: greet {{user}}\n");
    write(&dir.join("other.txt"), "other prompt\n");
    git(&repo, &["add", "."]);
    git_as(
        &repo,
        "Ann",
        1,
        &["commit", "-q", "-m", "greet: first draft"],
    );
    let first = git(&repo, &["rev-parse", "HEAD"]);

    write(&dir.join("greet.txt"), "v2: greet {{user}} warmly\n");
    git_as(
        &repo,
        "Bo",
        2,
        &[
            "commit",
            "-q",
            "-am",
            "greet: warmer | \"quoted\" \u{1f} odd chars",
        ],
    );
    let second = git(&repo, &["rev-parse", "HEAD"]);
    git(&repo, &["tag", "v2-tag"]);

    git(&repo, &["mv", "prompts/greet.txt", "prompts/welcome.txt"]);
    git_as(
        &repo,
        "Ann",
        3,
        &["commit", "-q", "-m", "rename greet to welcome"],
    );
    let rename = git(&repo, &["rev-parse", "HEAD"]);

    write(&dir.join("welcome.txt"), "v3: welcome {{user}}\n");
    git_as(&repo, "Bo", 4, &["commit", "-q", "-am", "welcome: third"]);
    let third = git(&repo, &["rev-parse", "HEAD"]);

    write(&dir.join("ns/deep.txt"), "deep\n");
    git(&repo, &["add", "."]);
    git_as(&repo, "Ann", 5, &["commit", "-q", "-m", "add ns/deep"]);
    let fourth = git(&repo, &["rev-parse", "HEAD"]);

    write(&dir.join("welcome.txt"), "v4: working edit {{user}}\n");
    write(&dir.join("new.txt"), "brand new\n");
    Fixture {
        _tmp: tmp,
        dir,
        first,
        second,
        rename,
        third,
        fourth,
    }
}

#[tokio::test]
async fn versions_follow_renames_newest_first() {
    let f = fixture();
    let listing = versions(&f.dir, "welcome", &SessionVersions::new())
        .await
        .unwrap();
    assert!(matches!(listing.history, History::Git { .. }));
    assert_eq!(listing.working_error, None);

    let working = listing.working().unwrap();
    assert_eq!(
        working.kind,
        VersionKind::Working {
            status: WorkingStatus::Uncommitted
        }
    );
    assert_eq!(working.text.as_deref(), Some("v4: working edit {{user}}\n"));
    assert_eq!(working.id, content_hash("v4: working edit {{user}}\n"));

    let commits: Vec<_> = listing.commits().collect();
    let summary: Vec<(&str, &str, &str, &str)> = commits
        .iter()
        .map(|c| {
            (
                c.hash.as_str(),
                c.author.as_str(),
                c.subject.as_str(),
                c.path.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                f.third.as_str(),
                "Bo",
                "welcome: third",
                "prompts/welcome.txt"
            ),
            (
                f.rename.as_str(),
                "Ann",
                "rename greet to welcome",
                "prompts/welcome.txt"
            ),
            (
                f.second.as_str(),
                "Bo",
                "greet: warmer | \"quoted\" \u{1f} odd chars",
                "prompts/greet.txt"
            ),
            (
                f.first.as_str(),
                "Ann",
                "greet: first draft",
                "prompts/greet.txt"
            ),
        ]
    );
    // Strict ISO 8601 (git writes UTC as `Z`).
    assert!(
        commits[0].date_iso.starts_with("2026-01-04T12:00:00"),
        "{}",
        commits[0].date_iso
    );
    assert!(f.third.starts_with(&commits[0].short) && commits[0].short.len() >= 12);

    // Content per commit, including the pre-rename content read at the old path.
    let texts: Vec<Option<&str>> = listing
        .versions
        .iter()
        .filter(|v| matches!(v.kind, VersionKind::Commit(_)))
        .map(|v| v.text.as_deref())
        .collect();
    assert_eq!(
        texts,
        vec![
            Some("v3: welcome {{user}}\n"),
            Some("v2: greet {{user}} warmly\n"),
            Some("v2: greet {{user}} warmly\n"),
            Some("v1: greet {{user}}\n"),
        ]
    );
    // A version's identity: content hash plus its commit.
    let v1 = listing.versions.last().unwrap();
    assert_eq!(v1.id, content_hash("v1: greet {{user}}\n"));
    let p = listing.provenance_of(v1);
    assert_eq!(p.git, GitState::Commit(f.first.clone()));
    assert_eq!(p.as_reference(), format!("welcome@{}", &f.first[..12]));
}

#[tokio::test]
async fn working_file_states() {
    let f = fixture();
    let welcome = load(&f.dir, "welcome").await.unwrap();
    assert_eq!(welcome.text, "v4: working edit {{user}}\n");
    assert_eq!(welcome.provenance.git, GitState::Uncommitted);
    assert_eq!(
        welcome.provenance.as_reference(),
        format!("welcome@#{}", content_hash(&welcome.text).short())
    );

    let other = load(&f.dir, "other").await.unwrap();
    assert_eq!(other.provenance.git, GitState::Commit(f.first.clone()));

    let deep = load(&f.dir, "ns/deep").await.unwrap();
    assert_eq!(deep.provenance.git, GitState::Commit(f.fourth.clone()));

    let new = load(&f.dir, "new").await.unwrap();
    assert_eq!(new.provenance.git, GitState::Untracked);
    let listing = versions(&f.dir, "new", &SessionVersions::new())
        .await
        .unwrap();
    assert_eq!(listing.versions.len(), 1);
    assert_eq!(
        listing.versions[0].kind,
        VersionKind::Working {
            status: WorkingStatus::Untracked
        }
    );

    let clean = versions(&f.dir, "other", &SessionVersions::new())
        .await
        .unwrap();
    assert_eq!(
        clean.working().unwrap().kind,
        VersionKind::Working {
            status: WorkingStatus::Clean
        }
    );
    let working = clean.working().unwrap();
    assert_eq!(
        clean.provenance_of(working).git,
        GitState::Commit(f.first.clone())
    );

    // Staged but uncommitted is still uncommitted.
    git(f.dir.parent().unwrap(), &["add", "prompts/new.txt"]);
    let new = load(&f.dir, "new").await.unwrap();
    assert_eq!(new.provenance.git, GitState::Uncommitted);
}

async fn resolve(f: &Fixture, reference: &str, session: &SessionVersions) -> (String, GitState) {
    let r = Reference::parse(reference).unwrap();
    let loaded = resolve_reference(&f.dir, &r, session).await.unwrap();
    assert_eq!(loaded.provenance.content_hash, content_hash(&loaded.text));
    assert_eq!(loaded.provenance.name, r.name);
    (loaded.text, loaded.provenance.git)
}

#[tokio::test]
async fn references_resolve_to_exact_text() {
    let f = fixture();
    let none = SessionVersions::new();
    let commit = |h: &String| GitState::Commit(h.clone());
    assert_eq!(
        resolve(&f, "welcome", &none).await,
        ("v4: working edit {{user}}\n".into(), GitState::Uncommitted)
    );
    assert_eq!(
        resolve(&f, "welcome@HEAD", &none).await,
        ("v3: welcome {{user}}\n".into(), commit(&f.fourth))
    );
    assert_eq!(
        resolve(&f, "welcome@HEAD~1", &none).await,
        ("v3: welcome {{user}}\n".into(), commit(&f.third))
    );
    assert_eq!(
        resolve(&f, "welcome@HEAD~2", &none).await,
        ("v2: greet {{user}} warmly\n".into(), commit(&f.rename))
    );
    // Before the rename: the file is found at its old path.
    assert_eq!(
        resolve(&f, "welcome@v2-tag", &none).await,
        ("v2: greet {{user}} warmly\n".into(), commit(&f.second))
    );
    let short = &f.first[..7];
    assert_eq!(
        resolve(&f, &format!("welcome@{short}"), &none).await,
        ("v1: greet {{user}}\n".into(), commit(&f.first))
    );
    assert_eq!(
        resolve(&f, &format!("welcome.txt@{}", f.first), &none).await,
        ("v1: greet {{user}}\n".into(), commit(&f.first))
    );
    assert_eq!(
        resolve(&f, "ns/deep@main", &none).await,
        ("deep\n".into(), commit(&f.fourth))
    );
}

#[tokio::test]
async fn hash_references_find_session_and_committed_versions() {
    let f = fixture();
    let mut session = SessionVersions::new();
    let tried: Arc<str> = Arc::from("an edit tried earlier, never committed\n");
    session.record("welcome", &tried);
    let hash = content_hash(&tried);

    let (text, git) = resolve(&f, &format!("welcome@#{}", hash.short()), &session).await;
    assert_eq!(text, &*tried);
    assert_eq!(git, GitState::Uncommitted);
    // Four hex digits are enough when they are unique.
    let (text, _) = resolve(&f, &format!("welcome@#{}", &hash.full()[..4]), &session).await;
    assert_eq!(text, &*tried);

    // The session version is listed, after the working file and before the commits.
    let listing = versions(&f.dir, "welcome", &session).await.unwrap();
    assert_eq!(listing.versions[1].kind, VersionKind::Session { index: 1 });
    assert_eq!(listing.versions[1].id, hash);

    // Not in the session, but in history: resolved from git, with its commit.
    let v1 = content_hash("v1: greet {{user}}\n");
    assert_eq!(
        resolve(
            &f,
            &format!("welcome@#{}", v1.short()),
            &SessionVersions::new()
        )
        .await,
        (
            "v1: greet {{user}}\n".into(),
            GitState::Commit(f.first.clone())
        )
    );
    // The working file's hash resolves without being recorded.
    let v4 = content_hash("v4: working edit {{user}}\n");
    assert_eq!(
        resolve(
            &f,
            &format!("welcome@#{}", v4.short()),
            &SessionVersions::new()
        )
        .await,
        ("v4: working edit {{user}}\n".into(), GitState::Uncommitted)
    );
}

#[tokio::test]
async fn bad_references_give_clear_errors() {
    let f = fixture();
    let none = SessionVersions::new();
    let err = |s: &str| {
        let dir = f.dir.clone();
        let r = Reference::parse(s).unwrap();
        let none = none.clone();
        async move { resolve_reference(&dir, &r, &none).await.unwrap_err() }
    };
    assert_eq!(
        err("welcome@no-such-rev").await,
        PromptError::UnknownRevision {
            rev: "no-such-rev".into()
        }
    );
    assert_eq!(
        err("new@HEAD").await,
        PromptError::NotInRevision {
            name: "new".into(),
            rev: "HEAD".into()
        }
    );
    assert_eq!(
        err("welcome@#ffffffff").await,
        PromptError::UnknownHash {
            name: "welcome".into(),
            hash: "ffffffff".into()
        }
    );
    assert!(matches!(err("missing").await, PromptError::NotFound { .. }));
    let message = err("new@HEAD").await.to_string();
    assert_eq!(
        message,
        "prompt \"new\" does not exist at revision HEAD (see `promptdeck prompts`)"
    );
}

#[tokio::test]
async fn directory_outside_git_has_only_working_versions() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("prompts");
    write(&dir.join("solo.txt"), "alone {{x}}\n");
    let mut session = SessionVersions::new();
    session.record("solo", &Arc::from("an older try\n"));

    let listing = versions(&dir, "solo", &session).await.unwrap();
    assert_eq!(
        listing.history,
        History::NoRepo(NoRepoReason::NotARepository)
    );
    let kinds: Vec<VersionKind> = listing.versions.iter().map(|v| v.kind.clone()).collect();
    assert_eq!(
        kinds,
        vec![
            VersionKind::Working {
                status: WorkingStatus::NoRepo(NoRepoReason::NotARepository)
            },
            VersionKind::Session { index: 1 },
        ]
    );
    let loaded = load(&dir, "solo").await.unwrap();
    assert_eq!(loaded.provenance.git, GitState::NoRepo);
    assert_eq!(
        loaded.provenance.as_reference(),
        format!("solo@#{}", content_hash("alone {{x}}\n").short())
    );
    let r = Reference::parse("solo@HEAD").unwrap();
    let e = resolve_reference(&dir, &r, &session).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "solo@HEAD needs git history, but the prompts directory is not inside a git \
         repository, so there is no history"
    );

    let report = list_report(&dir).await.unwrap();
    assert!(report.contains("not inside a git repository"), "{report}");
    assert!(report.contains("solo  #"), "{report}");
    assert!(report.contains("no git repo  variables: {{x}}"), "{report}");
}

#[tokio::test]
async fn report_lists_prompts_with_history() {
    let f = fixture();
    let report = list_report(&f.dir).await.unwrap();
    let v4 = content_hash("v4: working edit {{user}}\n");
    for expected in [
        "(git repository ".to_string(),
        format!(
            "welcome  #{}  uncommitted  variables: {{{{user}}}}",
            v4.short()
        ),
        format!("  {}  2026-01-04  Bo  welcome: third", &f.third[..12]),
        format!("  {}  2026-01-01  Ann  greet: first draft", &f.first[..12]),
        // Control characters in a subject never reach the terminal.
        format!(
            "  {}  2026-01-02  Bo  greet: warmer | \"quoted\"  odd chars",
            &f.second[..12]
        ),
        "new  #".to_string(),
        "  untracked".to_string(),
        "ns/deep  #".to_string(),
    ] {
        assert!(
            report.contains(&expected),
            "{expected:?} missing in:\n{report}"
        );
    }
    // Sorted by name.
    let order: Vec<usize> = ["\nnew", "\nns/deep", "\nother", "\nwelcome"]
        .iter()
        .map(|n| report.find(n).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{report}");
}

#[tokio::test]
async fn empty_repository_has_no_commits_yet() {
    let tmp = tempfile::tempdir().unwrap();
    git(tmp.path(), &["init", "-q"]);
    write(&tmp.path().join("a.txt"), "first\n");
    let listing = versions(tmp.path(), "a", &SessionVersions::new())
        .await
        .unwrap();
    assert_eq!(listing.versions.len(), 1);
    assert_eq!(
        listing.versions[0].kind,
        VersionKind::Working {
            status: WorkingStatus::Untracked
        }
    );
    let report = list_report(tmp.path()).await.unwrap();
    assert!(report.contains("(no commits yet)"), "{report}");
    let r = Reference::parse("a@HEAD").unwrap();
    assert!(matches!(
        resolve_reference(tmp.path(), &r, &SessionVersions::new()).await,
        Err(PromptError::UnknownRevision { .. })
    ));
}

#[tokio::test]
async fn shipped_example_prompts_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
    let names: Vec<String> = promptdeck::prompts::scan(&dir)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, vec!["code-review", "summarize", "support/triage"]);
    for name in &names {
        let loaded = load(&dir, name).await.unwrap();
        assert!(!loaded.text.trim().is_empty());
    }
    let triage = load(&dir, "support/triage").await.unwrap();
    assert_eq!(
        promptdeck::prompts::variables(&triage.text),
        vec!["product", "tone"]
    );
}
