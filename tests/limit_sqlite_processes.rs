//! Several promptdeck processes share one SQLite window: they race to admit on one
//! `ratelimit.db` and exactly N requests get through in total.
//!
//! The parent test re-runs this test binary once per child with `--exact limit_sqlite_child`
//! and an env var naming the data dir; without that env var the child test does nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use promptdeck::limit::{
    LimitConfig, LimitSetting, Limiter, RateLimit, SqliteStore, system_now_ms,
};

const CHILD_DIR_ENV: &str = "PROMPTDECK_LIMIT_CHILD_DIR";
const CHILD_ID_ENV: &str = "PROMPTDECK_LIMIT_CHILD_ID";
const NAMESPACE: &str = "race";
const PROCESSES: usize = 4;
const ATTEMPTS_PER_PROCESS: usize = 10;
const MAX_REQUESTS: u32 = 7;

fn limits() -> LimitConfig {
    LimitConfig {
        requests: LimitSetting::Limit(RateLimit {
            max_requests: MAX_REQUESTS,
            window: Duration::from_secs(600),
        }),
        ..LimitConfig::default()
    }
}

fn start_file(dir: &Path) -> PathBuf {
    dir.join("start")
}

fn ready_file(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("ready-{id}"))
}

/// Child mode: open the store, say ready, wait for the start signal, race.
#[test]
fn limit_sqlite_child() {
    let (Ok(dir), Ok(id)) = (std::env::var(CHILD_DIR_ENV), std::env::var(CHILD_ID_ENV)) else {
        return; // Not a child: nothing to do.
    };
    let dir = PathBuf::from(dir);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let admitted = runtime.block_on(async {
        let limiter = Limiter::sqlite(&dir, NAMESPACE, limits()).await.unwrap();
        std::fs::write(ready_file(&dir, &id), b"").unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !start_file(&dir).exists() {
            assert!(Instant::now() < deadline, "child {id}: no start signal");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let mut admitted = 0;
        for _ in 0..ATTEMPTS_PER_PROCESS {
            if limiter.admit(system_now_ms()).await.unwrap().is_admitted() {
                admitted += 1;
            }
        }
        admitted
    });
    println!("\nLIMIT_CHILD_ADMITTED={admitted}");
}

#[test]
fn limit_sqlite_processes_share_one_window() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..PROCESSES)
        .map(|i| {
            Command::new(&exe)
                .args([
                    "limit_sqlite_child",
                    "--exact",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_DIR_ENV, dir.path())
                .env(CHILD_ID_ENV, i.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Start them together once all have opened the store, so that they really race.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(0..PROCESSES).all(|i| ready_file(dir.path(), &i.to_string()).exists()) {
        assert!(Instant::now() < deadline, "children did not get ready");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::write(start_file(dir.path()), b"").unwrap();

    let mut total = 0;
    let mut per_child = Vec::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "child failed: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let admitted: usize = stdout
            .lines()
            .find_map(|line| line.split_once("LIMIT_CHILD_ADMITTED=").map(|(_, n)| n))
            .and_then(|n| n.split_whitespace().next())
            .unwrap_or_else(|| panic!("no count in child output: {stdout}"))
            .parse()
            .unwrap();
        per_child.push(admitted);
        total += admitted;
    }
    eprintln!("admitted per process: {per_child:?}");
    assert_eq!(
        total, MAX_REQUESTS as usize,
        "admitted per process: {per_child:?}"
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open_async(dir.path(), NAMESPACE)
            .await
            .unwrap();
        assert_eq!(
            store.admission_count().await.unwrap(),
            u64::from(MAX_REQUESTS)
        );
        // A further process-local check: the shared window is full now.
        let limiter = Limiter::sqlite(dir.path(), NAMESPACE, limits())
            .await
            .unwrap();
        assert!(!limiter.admit(system_now_ms()).await.unwrap().is_admitted());
    });
}
