//! The Redis store against a real `redis-server`, which each test starts on a free loopback
//! port and kills when done.
//!
//! Without `redis-server` on the PATH these tests print a message and pass, unless
//! `PROMPTDECK_REQUIRE_REDIS=1` (set in CI), which turns a missing server into a failure.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use promptdeck::limit::{
    Admission, LimitConfig, LimitSetting, Limiter, RateLimit, RefusalReason, StoreSpec, TokenBudget,
};

const T0: u64 = 1_764_201_600_000;
const REQUIRE_ENV: &str = "PROMPTDECK_REQUIRE_REDIS";

/// A `redis-server` child on 127.0.0.1, killed on drop.
struct RedisServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts a server, or returns `None` (after saying why) when `redis-server` is missing
    /// and not required.
    fn start() -> Option<RedisServer> {
        let found = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            if std::env::var(REQUIRE_ENV).as_deref() == Ok("1") {
                panic!("redis-server is not installed but {REQUIRE_ENV}=1");
            }
            eprintln!("skipping: redis-server is not installed (set {REQUIRE_ENV}=1 to fail)");
            return None;
        }
        // The port is free when we look; another process could take it before the server
        // binds, so try a few.
        for _ in 0..5 {
            let port = free_port();
            let dir = tempfile::tempdir().unwrap();
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut server = RedisServer {
                child,
                port,
                _dir: dir,
            };
            if server.wait_for_ping(Duration::from_secs(10)) {
                return Some(server);
            }
        }
        panic!("redis-server did not start");
    }

    fn wait_for_ping(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false; // Exited: probably the port was taken.
            }
            if ping(self.port) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn spec(&self) -> StoreSpec {
        StoreSpec::Redis(self.url())
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

fn limits(n: u32, secs: u64) -> LimitConfig {
    LimitConfig {
        requests: LimitSetting::Limit(RateLimit {
            max_requests: n,
            window: Duration::from_secs(secs),
        }),
        ..LimitConfig::default()
    }
}

async fn connect(server: &RedisServer, namespace: &str, limits: LimitConfig) -> Limiter {
    let dir = tempfile::tempdir().unwrap();
    let (limiter, warning) = Limiter::connect(&server.spec(), dir.path(), namespace, limits)
        .await
        .unwrap();
    assert_eq!(warning, None);
    limiter
}

#[tokio::test]
async fn limit_redis_admits_exactly_n_with_exact_retry() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let limiter = connect(&server, "promptdeck", limits(3, 60)).await;
    assert_eq!(limiter.describe(), format!("redis {} 3/1m", server.url()));
    let mut got = Vec::new();
    for i in 0..5 {
        got.push(limiter.admit(T0 + i * 1000).await.unwrap());
    }
    assert_eq!(
        got,
        vec![
            Admission::Admitted {
                remaining: 2,
                reset_at_ms: T0 + 60_000
            },
            Admission::Admitted {
                remaining: 1,
                reset_at_ms: T0 + 60_000
            },
            Admission::Admitted {
                remaining: 0,
                reset_at_ms: T0 + 60_000
            },
            Admission::Refused {
                retry_at_ms: T0 + 60_000,
                reason: RefusalReason::Requests
            },
            Admission::Refused {
                retry_at_ms: T0 + 60_000,
                reason: RefusalReason::Requests
            },
        ]
    );
    assert!(!limiter.admit(T0 + 59_999).await.unwrap().is_admitted());
    assert_eq!(
        limiter.admit(T0 + 60_000).await.unwrap(),
        Admission::Admitted {
            remaining: 0,
            reset_at_ms: T0 + 1000 + 60_000
        }
    );
    let status = limiter.status(T0 + 60_000).await.unwrap();
    assert_eq!((status.used, status.remaining), (3, 0));
    assert_eq!(status.next_free_at_ms, Some(T0 + 1000 + 60_000));
    assert!(limiter.take_warnings().is_empty());
}

#[tokio::test]
async fn limit_redis_two_machines_share_the_window() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let a = connect(&server, "team", limits(4, 60)).await;
    let b = connect(&server, "team", limits(4, 60)).await;
    let mut admitted = 0;
    for i in 0..5 {
        for limiter in [&a, &b] {
            if limiter.admit(T0 + i).await.unwrap().is_admitted() {
                admitted += 1;
            }
        }
    }
    assert_eq!(admitted, 4);
    assert_eq!(b.status(T0 + 10).await.unwrap().used, 4);
}

#[tokio::test]
async fn limit_redis_namespaces_isolate() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let a = connect(&server, "alpha", limits(1, 60)).await;
    let b = connect(&server, "beta", limits(1, 60)).await;
    assert!(a.admit(T0).await.unwrap().is_admitted());
    assert!(!a.admit(T0).await.unwrap().is_admitted());
    assert!(b.admit(T0).await.unwrap().is_admitted());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_redis_concurrent_tasks_admit_exactly_n() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let mut limiters = Vec::new();
    for _ in 0..3 {
        limiters.push(connect(&server, "race", limits(7, 600)).await);
    }
    let mut tasks = Vec::new();
    for i in 0..60u64 {
        let limiter = limiters[(i % 3) as usize].clone();
        tasks.push(tokio::spawn(async move {
            limiter.admit(T0 + i % 5).await.unwrap().is_admitted()
        }));
    }
    let mut admitted = 0;
    for task in tasks {
        if task.await.unwrap() {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 7);
}

#[tokio::test]
async fn limit_redis_token_budget_and_usage_records() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let config = LimitConfig {
        tokens: Some(TokenBudget {
            max_tokens: 1000,
            window: Duration::from_secs(60),
        }),
        ..limits(10, 60)
    };
    let limiter = connect(&server, "budget", config).await;
    assert!(limiter.admit(T0).await.unwrap().is_admitted());
    limiter
        .record_usage("req-1", 1200, 0.5, T0 + 100)
        .await
        .unwrap();
    assert_eq!(
        limiter.admit(T0 + 200).await.unwrap(),
        Admission::Refused {
            retry_at_ms: T0 + 100 + 60_000,
            reason: RefusalReason::Tokens
        }
    );
    // The same key again replaces the record.
    limiter
        .record_usage("req-1", 300, 0.5, T0 + 100)
        .await
        .unwrap();
    assert!(limiter.admit(T0 + 200).await.unwrap().is_admitted());
    let status = limiter.status(T0 + 300).await.unwrap();
    assert_eq!(status.tokens_used, Some(300));
    assert_eq!((status.used, status.remaining), (2, 8));
    // Another machine sees the same usage.
    let other = connect(&server, "budget", config).await;
    assert_eq!(other.status(T0 + 300).await.unwrap().tokens_used, Some(300));
}

#[tokio::test]
async fn limit_redis_unreachable_falls_back_to_sqlite_with_a_warning() {
    // Nothing listens on this port: no redis-server needed.
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let spec = StoreSpec::Redis(format!("redis://:hunter2@127.0.0.1:{port}/0"));
    let started = Instant::now();
    let (limiter, warning) = Limiter::connect(&spec, dir.path(), "promptdeck", limits(2, 60))
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    let warning = warning
        .expect("a warning that redis is unreachable")
        .message;
    eprintln!("{warning}");
    assert!(
        warning.starts_with(&format!(
            "redis at redis://***@127.0.0.1:{port}/0 unreachable: "
        )),
        "{warning}"
    );
    assert!(
        warning.ends_with("; using the local sqlite limit"),
        "{warning}"
    );
    assert!(!warning.contains("hunter2"), "{warning}");
    assert_eq!(limiter.describe(), "sqlite 2/1m");
    // Still limited, never "no limit".
    assert!(limiter.admit(T0).await.unwrap().is_admitted());
    assert!(limiter.admit(T0).await.unwrap().is_admitted());
    assert!(!limiter.admit(T0).await.unwrap().is_admitted());
}

#[tokio::test]
async fn limit_redis_failure_at_admission_falls_back_for_that_call() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (limiter, warning) =
        Limiter::connect(&server.spec(), dir.path(), "promptdeck", limits(2, 60))
            .await
            .unwrap();
    assert_eq!(warning, None);
    assert!(limiter.admit(T0).await.unwrap().is_admitted());
    assert!(limiter.take_warnings().is_empty());
    server.kill();
    // Redis is gone: the local sqlite window (empty so far) decides, and says so.
    assert!(limiter.admit(T0 + 1).await.unwrap().is_admitted());
    assert!(limiter.admit(T0 + 2).await.unwrap().is_admitted());
    assert!(!limiter.admit(T0 + 3).await.unwrap().is_admitted());
    let warnings = limiter.take_warnings();
    eprintln!("{warnings:?}");
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(
        warnings[0].message.contains("failed: ")
            && warnings[0]
                .message
                .ends_with("; using the local sqlite limit for this admission"),
        "{warnings:?}"
    );
}

#[tokio::test]
async fn limit_redis_refusal_names_the_limit_that_frees_last() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let config = LimitConfig {
        daily_usd: Some(promptdeck::limit::DailyUsdBudget { max_usd: 1.0 }),
        ..limits(1, 60)
    };
    let limiter = connect(&server, "usd", config).await;
    assert!(limiter.admit(T0).await.unwrap().is_admitted());
    // Only the request window is full: it frees first.
    assert_eq!(
        limiter.admit(T0 + 10).await.unwrap(),
        Admission::Refused {
            retry_at_ms: T0 + 60_000,
            reason: RefusalReason::Requests
        }
    );
    // Both are exhausted: the day's budget frees last (T0 is a UTC midnight).
    limiter.record_usage("r1", 10, 1.5, T0 + 20).await.unwrap();
    assert_eq!(
        limiter.admit(T0 + 30).await.unwrap(),
        Admission::Refused {
            retry_at_ms: T0 + 86_400_000,
            reason: RefusalReason::DailyUsd
        }
    );
    assert_eq!(
        limiter.status(T0 + 30).await.unwrap().usd_spent_today,
        Some(1.5)
    );
    assert!(limiter.admit(T0 + 86_400_000).await.unwrap().is_admitted());
}

/// Every key of a namespace carries it as a Redis Cluster hash tag (`{ns}:…`), so a script
/// touching two keys stays in one slot; admissions written under the old names before the
/// tag still count once a client connects.
#[tokio::test]
async fn limit_redis_keys_share_one_slot_and_old_keys_move_over() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let client = redis::Client::open(server.url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let _: i64 = redis::cmd("ZADD")
        .arg("legacy:requests")
        .arg(T0)
        .arg("old-a")
        .arg(T0 + 1)
        .arg("old-b")
        .query_async(&mut raw)
        .await
        .unwrap();
    let limiter = connect(&server, "legacy", limits(3, 60)).await;
    assert!(limiter.admit(T0 + 10).await.unwrap().is_admitted());
    assert!(
        !limiter.admit(T0 + 20).await.unwrap().is_admitted(),
        "the two admissions from before the hash tag still count"
    );
    limiter
        .record_usage("req-1", 10, 0.01, T0 + 30)
        .await
        .unwrap();
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg("*legacy*")
        .query_async(&mut raw)
        .await
        .unwrap();
    keys.sort();
    assert!(
        keys.iter().all(|k| k.starts_with("{legacy}:")),
        "every key in the namespace's slot: {keys:?}"
    );
    assert!(keys.contains(&"{legacy}:requests".to_string()), "{keys:?}");
}
