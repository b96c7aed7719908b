//! The `promptdeck` binary: parse flags, load configuration, set up logging, run.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

mod chat;
mod headless;
mod logging;

use std::collections::BTreeMap;

use promptdeck::cli::{Cli, Command, GlobalArgs, PromptsArgs, PromptsCommand, RequestArgs, exit};
use promptdeck::commands::{self, CommandError};
use promptdeck::config::{self, ConfigError, FileConfig, Overrides, ProviderKind, Resolved};
use promptdeck::data_dir::Access;
use promptdeck::limit::{LimitConfig, LimitSetting, Limiter};
use promptdeck::llm::Provider;
use promptdeck::llm::anthropic::AnthropicProvider;
use promptdeck::llm::demo::DemoProvider;
use promptdeck::llm::openai::OpenAiProvider;
use promptdeck::prompts::{Reference, parse_var};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Generated from the command-line definition: no configuration, no data dir, no log.
    match &cli.command {
        Some(Command::Completions(args)) => return ExitCode::from(print_completions(args.shell)),
        Some(Command::Man) => return ExitCode::from(print_man()),
        _ => {}
    }
    let request = request_args(&cli);
    // Only the chat, `ask` and `compare` send anything: a provider without its key must not
    // stand between the user and their log or their prompts.
    let sends = matches!(
        cli.command,
        None | Some(Command::Ask(_) | Command::Compare(_))
    );
    let resolved = match load_config(&cli.global, &request, cli.chat.theme.as_ref(), !sends) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("promptdeck: {e}");
            return ExitCode::from(exit::CONFIG);
        }
    };
    // One look at the data dir, so that a file there (or a read-only directory) is said once
    // and clearly, not by each of the files kept there.
    let access = match promptdeck::data_dir::check(&resolved.data_dir) {
        Ok(access) => access,
        Err(e) => {
            eprintln!("promptdeck: {e}");
            return ExitCode::from(exit::CONFIG);
        }
    };
    let log_dir = config::log_dir(
        &resolved.data_dir,
        data_dir_given(&cli.global, &resolved),
        config::default_state_dir(),
    );
    let _log_guard = match access {
        // Said with the history below (or by the command that reads it): no second warning.
        Access::ReadOnly { .. } if log_dir == resolved.data_dir => None,
        _ => logging::init(&log_dir),
    };
    // The price dataset is decoded off the first reply's path.
    let prices = std::sync::Arc::clone(&resolved.prices);
    std::thread::spawn(move || prices.warm_up());
    // One thread runs the UI, the requests' streams and their bookkeeping. A streamed token
    // then costs one wake-up: a multi-thread runtime read it on a worker and woke the main
    // thread (or another worker) for it, ~15% of the CPU a token costs at 80 tokens/s
    // (scripts/bench-tty.py). Nothing here needs a second core: SQLite and the price dataset
    // have their own threads, the limiter's file store runs on the blocking pool.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("promptdeck: cannot start the async runtime: {e}");
            return ExitCode::from(exit::INTERNAL);
        }
    };
    if let Some(code) = history_command(&cli, &resolved, &runtime) {
        return ExitCode::from(code);
    }
    if let Some(Command::Prompts(args)) = &cli.command {
        return ExitCode::from(runtime.block_on(prompts_command(args, &resolved)));
    }
    let provider = match build_provider(&resolved) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("promptdeck: {e}");
            return ExitCode::from(exit::CONFIG);
        }
    };
    // `compare` and the chat take several --prompt / --model (one lane each).
    let comparing = matches!(cli.command, Some(Command::Compare(_)) | None);
    if !comparing && request.model.len() > 1 {
        eprintln!("promptdeck: only `compare` and the chat take several --model");
        return ExitCode::from(exit::USAGE);
    }
    let prompt = match PromptChoice::from_args(&request, comparing) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("promptdeck: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let code = match cli.command {
        Some(Command::Ask(args)) => {
            runtime.block_on(headless::ask(args, &resolved, &access, provider, prompt))
        }
        Some(Command::Compare(args)) => {
            // `--repeat N` before the command counts too (`promptdeck --repeat 3 … compare`).
            let repeat = args.repeat.or(cli.chat.repeat).unwrap_or(1);
            runtime.block_on(headless::compare(
                args, repeat, &resolved, &access, provider, &request,
            ))
        }
        Some(
            Command::Prompts(_)
            | Command::Log(_)
            | Command::Conversations(_)
            | Command::Export(_)
            | Command::Completions(_)
            | Command::Man,
        ) => exit::INTERNAL,
        None => runtime.block_on(chat::interactive(
            resolved,
            &access,
            provider,
            prompt,
            chat::ChatOptions {
                models: request.model.clone(),
                resume: cli.chat.resume,
                repeat: cli.chat.repeat.unwrap_or(1),
                max_fps: cli
                    .chat
                    .max_fps
                    .unwrap_or(promptdeck::frames::DEFAULT_MAX_FPS),
            },
        )),
    };
    ExitCode::from(code)
}

/// The request flags in force: those before the command with the command's own (`ask`,
/// `compare`), or its `--prompts DIR` (`log`, `prompts`).
fn request_args(cli: &Cli) -> RequestArgs {
    let before = &cli.chat.request;
    let with_dir = |dir: &Option<std::path::PathBuf>| RequestArgs {
        prompts_dir: dir.clone().or_else(|| before.prompts_dir.clone()),
        ..before.clone()
    };
    match &cli.command {
        Some(Command::Ask(args)) => before.merged(&args.request),
        Some(Command::Compare(args)) => before.merged(&args.request),
        Some(Command::Log(args)) => with_dir(&args.prompts_dir),
        Some(Command::Prompts(args)) => with_dir(&args.prompts_dir),
        _ => before.clone(),
    }
}

/// Whether the data dir was chosen (`--data-dir`, `PROMPTDECK_DATA_DIR`, `data_dir` in the
/// config file) rather than the platform default.
fn data_dir_given(global: &GlobalArgs, resolved: &Resolved) -> bool {
    global.data_dir.is_some()
        || std::env::var_os("PROMPTDECK_DATA_DIR").is_some_and(|v| !v.is_empty())
        || config::default_data_dir().as_deref() != Some(resolved.data_dir.as_path())
}

/// `promptdeck completions SHELL`: the script, from the command-line definition.
fn print_completions(shell: clap_complete::Shell) -> u8 {
    let mut command = promptdeck::cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "promptdeck", &mut out);
    write_stdout(&out)
}

/// `promptdeck man`: the man page (roff), from the command-line definition.
fn print_man() -> u8 {
    let mut out = Vec::new();
    if let Err(e) = clap_mangen::Man::new(promptdeck::cli::command()).render(&mut out) {
        eprintln!("promptdeck: cannot render the man page: {e}");
        return exit::INTERNAL;
    }
    write_stdout(&out)
}

/// Writes `bytes` to stdout; a reader gone away (`| head`) is not a failure.
fn write_stdout(bytes: &[u8]) -> u8 {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => exit::OK,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::OK,
        Err(e) => {
            eprintln!("promptdeck: cannot write the output: {e}");
            exit::INTERNAL
        }
    }
}

/// Runs `log`, `conversations` or `export` (they read the database; no provider). `None`
/// for other commands.
fn history_command(
    cli: &Cli,
    resolved: &Resolved,
    runtime: &tokio::runtime::Runtime,
) -> Option<u8> {
    let mut out = std::io::stdout().lock();
    let result = match &cli.command {
        Some(Command::Log(args)) => {
            // `--prompt REF` after the command, else before it.
            let given = args.prompt.as_ref().or(cli.chat.request.prompt.first());
            let filter = match given.map(|p| Reference::parse(p)) {
                None => None,
                Some(Ok(reference)) => Some(reference),
                Some(Err(e)) => {
                    eprintln!("promptdeck: {e}");
                    return Some(exit::USAGE);
                }
            };
            runtime.block_on(commands::log(resolved, args, filter.as_ref(), &mut out))
        }
        Some(Command::Conversations(args)) => commands::conversations(resolved, args, &mut out),
        Some(Command::Export(args)) => commands::export(resolved, args, &mut out),
        _ => return None,
    };
    Some(match result {
        Ok(()) => exit::OK,
        Err(e) => report_command_error(&e),
    })
}

/// `promptdeck prompts [--json]` and `promptdeck prompts show REF`.
async fn prompts_command(args: &PromptsArgs, resolved: &Resolved) -> u8 {
    match &args.command {
        Some(PromptsCommand::Show(show)) => {
            let reference = match Reference::parse(&show.reference) {
                Ok(reference) => reference,
                Err(e) => {
                    eprintln!("promptdeck: {e}");
                    return exit::USAGE;
                }
            };
            let on_terminal = std::io::stdout().is_terminal();
            let mut out = std::io::stdout().lock();
            match commands::prompt_show(resolved, &reference, &mut out, on_terminal).await {
                Ok(()) => exit::OK,
                Err(e) => report_command_error(&e),
            }
        }
        None => list_prompts(resolved, args.json).await,
    }
}

fn report_command_error(e: &CommandError) -> u8 {
    let status = e.exit_status();
    if status != exit::OK {
        eprintln!("promptdeck: {e}");
    }
    status
}

/// `--prompt` and `--var`, parsed.
struct PromptChoice {
    /// The first `--prompt` (`ask` and a one-lane chat).
    reference: Option<Reference>,
    /// Every `--prompt`, `None` for `none` (a lane without a prompt): the chat's lanes.
    references: Vec<Option<Reference>>,
    vars: BTreeMap<String, String>,
}

impl PromptChoice {
    /// `comparing`: the command takes several `--prompt` (`compare` parses them itself; the
    /// chat opens one lane per `--prompt` × `--model`).
    fn from_args(global: &RequestArgs, comparing: bool) -> Result<PromptChoice, String> {
        if global.prompt.len() > 1 && !comparing {
            return Err("only `compare` and the chat take several --prompt".into());
        }
        let mut references = Vec::new();
        for p in &global.prompt {
            references.push(match p.as_str() {
                "none" if comparing => None,
                p => Some(Reference::parse(p).map_err(|e| e.to_string())?),
            });
        }
        let reference = references.first().cloned().flatten();
        let mut vars = BTreeMap::new();
        for var in &global.vars {
            let (name, value) = parse_var(var).map_err(|e| e.to_string())?;
            vars.insert(name, value);
        }
        Ok(PromptChoice {
            reference,
            references,
            vars,
        })
    }
}

async fn list_prompts(resolved: &Resolved, json: bool) -> u8 {
    let dir = &resolved.prompts_dir;
    let listing = if json {
        promptdeck::prompts::report::list_json(dir)
            .await
            .map(|prompts| {
                // One JSON array, control characters escaped as in every JSON output.
                serde_json::to_string_pretty(&prompts)
                    .map(|json| promptdeck::text::json_terminal_safe(json) + "\n")
            })
    } else {
        promptdeck::prompts::list_report(dir).await.map(Ok)
    };
    match listing {
        Ok(Ok(report)) => write_stdout(report.as_bytes()),
        Ok(Err(e)) => {
            eprintln!("promptdeck: cannot encode the listing: {e}");
            exit::INTERNAL
        }
        Err(e) => {
            eprintln!("promptdeck: {e}");
            exit::CONFIG
        }
    }
}

fn load_config(
    global: &GlobalArgs,
    request: &RequestArgs,
    theme: Option<&std::path::PathBuf>,
    history_only: bool,
) -> Result<Resolved, ConfigError> {
    let (path, required) = match &global.config {
        Some(p) => (Some(p.clone()), true),
        None => (config::default_config_path(), false),
    };
    let file = match &path {
        Some(p) => FileConfig::load(p, required)?,
        None => FileConfig::default(),
    };
    let env: HashMap<String, String> = std::env::vars().collect();
    let overrides = Overrides {
        provider: if history_only {
            Some(ProviderKind::Demo)
        } else {
            request.provider
        },
        model: request.model.first().cloned(),
        max_tokens: request.max_tokens,
        system: request.system.clone(),
        data_dir: global.data_dir.clone(),
        prompts_dir: request.prompts_dir.clone(),
        rate_limit: request.rate_limit,
        theme: theme.cloned(),
    };
    config::resolve(&overrides, &file, &env, path)
}

fn build_provider(resolved: &Resolved) -> Result<Arc<dyn Provider>, String> {
    let endpoint = || {
        resolved
            .endpoint
            .clone()
            .ok_or_else(|| "internal: no endpoint for an HTTP provider".to_string())
    };
    Ok(match resolved.provider {
        ProviderKind::Demo => Arc::new(DemoProvider::default()),
        ProviderKind::Anthropic => {
            Arc::new(AnthropicProvider::new(endpoint()?).map_err(|e| e.to_string())?)
        }
        ProviderKind::Openai => Arc::new(
            OpenAiProvider::new(endpoint()?)
                .map_err(|e| e.to_string())?
                .with_max_tokens_field(resolved.openai_max_tokens_field),
        ),
    })
}

/// Why nothing is sent when the limiter cannot open: in a data dir that cannot be written,
/// that is the reason, with the ways out.
fn limiter_failure(access: &Access, e: &promptdeck::limit::LimitError) -> String {
    match access {
        Access::ReadOnly { path, reason } => format!(
            "the data dir {} is not writable ({reason}), so the rate limiter cannot keep its \
             counts and nothing is sent; make it writable, give another --data-dir, or use \
             --rate-limit off",
            path.display()
        ),
        Access::Writable => format!("cannot open the rate limiter, so nothing is sent: {e}"),
    }
}

/// The rate limiter for this run. The demo provider sends nothing and costs nothing, so it
/// is not limited (a new user trying every screen never waits for a slot).
async fn limiter_for(
    resolved: &Resolved,
) -> Result<(Limiter, Option<promptdeck::limit::Warning>), promptdeck::limit::LimitError> {
    if resolved.provider == ProviderKind::Demo {
        let unlimited = LimitConfig {
            requests: LimitSetting::Off,
            tokens: None,
            daily_usd: None,
        };
        return Ok((Limiter::memory(unlimited), None));
    }
    config::connect_limiter(resolved).await
}
