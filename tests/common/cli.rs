//! Running the real binary headless, with a clean environment.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use tokio::process::Command;

use super::mock::MockServer;

/// A command for the binary with a clean environment: no user config, data under `home`.
pub fn promptdeck(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_promptdeck"));
    cmd.env_clear()
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("PROMPTDECK_DATA_DIR", home.join("data"))
        .kill_on_drop(true);
    cmd
}

/// [`promptdeck`] configured for the mock Anthropic server with API key `key`.
pub fn anthropic_cmd(home: &Path, server: &MockServer, key: &str) -> Command {
    let mut cmd = promptdeck(home);
    cmd.env("ANTHROPIC_API_KEY", key)
        .env("ANTHROPIC_BASE_URL", server.base_url());
    cmd
}

/// Runs `cmd` with `args` to completion (bounded, so a hang fails the test).
pub async fn run(mut cmd: Command, args: &[&str]) -> Output {
    let fut = cmd.args(args).output();
    tokio::time::timeout(Duration::from_secs(60), fut)
        .await
        .expect("promptdeck finished")
        .expect("promptdeck ran")
}

/// Standard output as UTF-8.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

/// Standard error, lossily.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
