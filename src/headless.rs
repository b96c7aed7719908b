//! `ask` and `compare`: the headless commands' wiring (prompt, message, the request path).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read};
use std::sync::Arc;

use promptdeck::ask::OutputMode;
use promptdeck::ask::continuation::{Continuation, StoredPrompt, continuation};
use promptdeck::cli::{AskArgs, CompareArgs, Continue, RequestArgs, exit};
use promptdeck::config::Resolved;
use promptdeck::data_dir::Access;
use promptdeck::llm::{ChatRequest, Message, Provider, Role};
use promptdeck::prompts::{Reference, SessionVersions, parse_var};
use promptdeck::request::{Pump, RequestSpec};
use promptdeck::store::resolve::resolve_with_history;
use promptdeck::store::{ConversationId, StoreError};
use promptdeck::text;

use crate::{PromptChoice, limiter_failure, limiter_for};

/// A system prompt as a request sends it: its text, version, raw text and the variable
/// values it used.
struct SystemPrompt {
    text: Option<String>,
    provenance: Option<promptdeck::prompts::Provenance>,
    raw: Option<Arc<str>>,
    variables: BTreeMap<String, String>,
}

/// The system prompt `reference` names (else the configured inline text), filled with
/// `vars`; on failure the message is printed and the exit status returned.
async fn system_prompt(
    resolved: &Resolved,
    reference: Option<&Reference>,
    vars: &BTreeMap<String, String>,
    store: Option<&promptdeck::store::StoreHandle>,
) -> Result<SystemPrompt, u8> {
    let Some(reference) = reference else {
        return Ok(SystemPrompt {
            text: resolved.system.clone(),
            provenance: resolved
                .system
                .as_deref()
                .map(promptdeck::prompts::Provenance::inline),
            raw: resolved.system.as_deref().map(Arc::from),
            variables: BTreeMap::new(),
        });
    };
    let session = SessionVersions::new();
    let loaded = resolve_with_history(&resolved.prompts_dir, reference, &session, store)
        .await
        .map_err(|e| {
            eprintln!("promptdeck: {e}");
            exit::USAGE
        })?;
    let (text, variables) = promptdeck::prompts::fill(&loaded.text, vars).map_err(|missing| {
        eprintln!("promptdeck: {missing}");
        exit::USAGE
    })?;
    Ok(SystemPrompt {
        text: Some(text),
        provenance: Some(loaded.provenance),
        raw: Some(Arc::from(loaded.text.as_str())),
        variables,
    })
}

/// The message of `ask` and `compare`: the words given, or stdin when none (or `-`).
async fn read_message(words: Vec<String>) -> Result<String, u8> {
    let message = if words.is_empty() || words == ["-"] {
        if std::io::stdin().is_terminal() {
            eprintln!("promptdeck: reading the message from stdin (end with Ctrl-D)…");
        }
        let read = tokio::task::spawn_blocking(|| {
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input).map(|_| input)
        })
        .await;
        match read {
            Ok(Ok(input)) => input,
            Ok(Err(e)) => {
                eprintln!("promptdeck: cannot read the message from stdin: {e}");
                return Err(exit::USAGE);
            }
            Err(e) => {
                eprintln!("promptdeck: cannot read the message from stdin: {e}");
                return Err(exit::INTERNAL);
            }
        }
    } else {
        words.join(" ")
    };
    if message.trim().is_empty() {
        eprintln!("promptdeck: the message is empty");
        return Err(exit::USAGE);
    }
    Ok(message)
}

/// The spec of a one-message request (a new conversation) for `ask` and `compare`.
fn first_message(
    resolved: &Resolved,
    model: &str,
    system: SystemPrompt,
    message: &str,
) -> RequestSpec {
    RequestSpec {
        request: ChatRequest {
            model: model.to_string(),
            system: system.text,
            messages: vec![Message {
                role: Role::User,
                content: message.to_string(),
            }],
            max_tokens: resolved.max_tokens,
            temperature: resolved.temperature,
        },
        prompt: system.provenance,
        prompt_text: system.raw,
        variables: system.variables,
        conversation: None,
        user_text: Some(message.to_string()),
        // The message may have come from stdin and exist nowhere else.
        store_even_if_refused: true,
        compare_id: None,
    }
}

fn output_mode(json: bool) -> OutputMode {
    if json {
        OutputMode::Json
    } else {
        OutputMode::Text
    }
}

pub(crate) async fn ask(
    args: AskArgs,
    resolved: &Resolved,
    access: &Access,
    provider: Arc<dyn Provider>,
    prompt: PromptChoice,
) -> u8 {
    let Some(services) = ask_services(resolved, access, provider).await else {
        return exit::CONFIG;
    };
    let store = services.pump.store.as_ref();
    let continued = match args.continuing() {
        None => None,
        Some(target) => match continued(store, target).await {
            Ok(continued) => Some(continued),
            Err(code) => return code,
        },
    };
    let system = match &continued {
        Some(continued) => continued_prompt(resolved, continued, &prompt, store).await,
        None => system_prompt(resolved, prompt.reference.as_ref(), &prompt.vars, store).await,
    };
    let system = match system {
        Ok(system) => system,
        Err(code) => return code,
    };
    let message = match read_message(args.message).await {
        Ok(message) => message,
        Err(code) => return code,
    };
    let mut spec = first_message(resolved, &resolved.model, system, &message);
    if let Some(continued) = continued {
        let mut messages = continued.history;
        messages.append(&mut spec.request.messages);
        spec.request.messages = promptdeck::model::normalize_history(messages);
        spec.conversation = Some(continued.conversation);
    }
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    let mode = output_mode(args.json);
    let code = promptdeck::ask::run(&services.pump, spec, mode, &mut stdout, &mut stderr).await;
    drop(services);
    code
}

/// The stored conversation `ask --continue` / `--resume ID` continues; on failure the message
/// is printed and the exit status returned (2 for an id that is not there).
async fn continued(
    store: Option<&promptdeck::store::StoreHandle>,
    target: Continue,
) -> Result<Continuation, u8> {
    let Some(store) = store else {
        eprintln!(
            "promptdeck: cannot continue a conversation: the history database is unavailable"
        );
        return Err(exit::CONFIG);
    };
    let failed = |e: StoreError| {
        eprintln!("promptdeck: cannot read the conversation: {e}");
        exit::INTERNAL
    };
    let id = match target {
        Continue::Id(id) => ConversationId(id),
        Continue::Latest => match store.list_conversations(1).wait().await {
            Ok(rows) => match rows.first() {
                Some(row) => row.id,
                None => {
                    eprintln!("promptdeck: there is no conversation to continue yet");
                    return Err(exit::USAGE);
                }
            },
            Err(e) => return Err(failed(e)),
        },
    };
    match store.load_conversation(id).wait().await {
        Ok(loaded) => Ok(continuation(&loaded)),
        Err(StoreError::NotFound { .. }) => {
            eprintln!(
                "promptdeck: there is no conversation {} (see `promptdeck conversations`)",
                id.0
            );
            Err(exit::USAGE)
        }
        Err(e) => Err(failed(e)),
    }
}

/// The system prompt of a continued conversation: the version and variable values of its
/// last request (`--var` overrides a value), unless `--prompt` chooses another (said on
/// stderr).
async fn continued_prompt(
    resolved: &Resolved,
    continued: &Continuation,
    chosen: &PromptChoice,
    store: Option<&promptdeck::store::StoreHandle>,
) -> Result<SystemPrompt, u8> {
    let mut vars = continued.variables.clone();
    vars.extend(chosen.vars.clone());
    if let Some(reference) = &chosen.reference {
        let was = match continued.prompt.reference() {
            Some(was) => format!("its prompt {}", text::sanitize(&was)),
            None => "its prompt (none)".to_string(),
        };
        eprintln!(
            "promptdeck: note: conversation {} goes on with --prompt {} instead of {was}",
            continued.conversation.0,
            text::sanitize(&reference.to_string())
        );
        return system_prompt(resolved, Some(reference), &vars, store).await;
    }
    match &continued.prompt {
        StoredPrompt::None | StoredPrompt::Inline => {
            system_prompt(resolved, None, &vars, store).await
        }
        StoredPrompt::Text { provenance, text } => {
            let (filled, variables) =
                promptdeck::prompts::fill(text, &vars).map_err(|missing| {
                    eprintln!("promptdeck: {missing}");
                    exit::USAGE
                })?;
            Ok(SystemPrompt {
                text: Some(filled),
                provenance: Some(provenance.clone()),
                raw: Some(Arc::from(text.as_str())),
                variables,
            })
        }
        StoredPrompt::Reference(stored) => {
            let reference = Reference::parse(stored).map_err(|e| {
                eprintln!("promptdeck: the conversation's prompt {stored}: {e}");
                exit::USAGE
            })?;
            system_prompt(resolved, Some(&reference), &vars, store).await
        }
    }
}

/// `compare`: one lane per `--prompt` × `--model`, run at once through the one request path.
pub(crate) async fn compare(
    args: CompareArgs,
    repeat: u32,
    resolved: &Resolved,
    access: &Access,
    provider: Arc<dyn Provider>,
    global: &RequestArgs,
) -> u8 {
    let mut vars = BTreeMap::new();
    for var in &global.vars {
        match parse_var(var) {
            Ok((name, value)) => {
                vars.insert(name, value);
            }
            Err(e) => {
                eprintln!("promptdeck: {e}");
                return exit::USAGE;
            }
        }
    }
    let mut references = Vec::new();
    for p in &global.prompt {
        if p == "none" {
            references.push(None);
            continue;
        }
        match Reference::parse(p) {
            Ok(reference) => references.push(Some(reference)),
            Err(e) => {
                eprintln!("promptdeck: {e}");
                return exit::USAGE;
            }
        }
    }
    if references.is_empty() {
        references.push(None);
    }
    let models = if global.model.is_empty() {
        vec![resolved.model.clone()]
    } else {
        global.model.clone()
    };
    if references.len() * models.len() < 2 && repeat < 2 {
        eprintln!(
            "promptdeck: compare needs two lanes or more: give several --prompt and/or --model (or --repeat N)"
        );
        return exit::USAGE;
    }
    let Some(services) = ask_services(resolved, access, provider).await else {
        return exit::CONFIG;
    };
    let message = match read_message(args.message).await {
        Ok(message) => message,
        Err(code) => return code,
    };
    let mut lanes = Vec::new();
    for reference in &references {
        for model in &models {
            let store = services.pump.store.as_ref();
            let system = match system_prompt(resolved, reference.as_ref(), &vars, store).await {
                Ok(system) => system,
                Err(code) => return code,
            };
            lanes.push(first_message(resolved, model, system, &message));
        }
    }
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    let code = promptdeck::compare::run(
        &services.pump,
        lanes,
        repeat,
        args.json,
        &mut stdout,
        &mut stderr,
    )
    .await;
    drop(services);
    code
}

/// The limiter and the history database for `ask`. `None` (after a message) when not even
/// the local limiter can be opened: nothing may be sent unlimited. A database that cannot be
/// opened only warns: the reply matters more than its record.
async fn ask_services(
    resolved: &Resolved,
    access: &Access,
    provider: Arc<dyn Provider>,
) -> Option<AskServicesGuard> {
    let limiter = match limiter_for(resolved).await {
        Ok((limiter, warning)) => {
            if let Some(warning) = warning {
                eprintln!("promptdeck: warning: {warning}");
            }
            limiter
        }
        Err(e) => {
            eprintln!("promptdeck: {}", limiter_failure(access, &e));
            return None;
        }
    };
    // A data dir that cannot be written: said once; the reply is still printed.
    if let Some(warning) = access.warning() {
        eprintln!("promptdeck: warning: {warning}");
        return Some(AskServicesGuard {
            pump: pump(resolved, provider, Some(limiter), None),
            writer: None,
        });
    }
    let on_error: promptdeck::store::ErrorSink = Box::new(|e| {
        tracing::warn!("history database: {e}");
        eprintln!("promptdeck: warning: history database: {e}");
    });
    let writer = match promptdeck::store::open_writer_async(&resolved.data_dir, on_error).await {
        Ok(writer) => Some(writer),
        Err(e) => {
            tracing::warn!("history database: {e}");
            eprintln!(
                "promptdeck: warning: cannot open the history database in {} ({e}); this \
                 request is not being saved",
                resolved.data_dir.display()
            );
            None
        }
    };
    Some(AskServicesGuard {
        pump: pump(
            resolved,
            provider,
            Some(limiter),
            writer.as_ref().map(|w| w.handle()),
        ),
        writer,
    })
}

fn pump(
    resolved: &Resolved,
    provider: Arc<dyn Provider>,
    limiter: Option<promptdeck::limit::Limiter>,
    store: Option<promptdeck::store::StoreHandle>,
) -> Pump {
    Pump {
        provider,
        policy: Arc::new(resolved.retry.clone()),
        store,
        limiter,
        prices: Arc::clone(&resolved.prices),
        shutting_down: Arc::default(),
    }
}

/// The request path for `ask` with the database thread it writes to; dropping it finishes
/// every pending write.
struct AskServicesGuard {
    pump: Pump,
    writer: Option<promptdeck::store::StoreWriter>,
}

impl Drop for AskServicesGuard {
    fn drop(&mut self) {
        if let Some(writer) = self.writer.take() {
            // `ask::run` already flushed; this only joins the (idle) database thread.
            writer.close();
        }
    }
}
