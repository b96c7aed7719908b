//! The full-screen chat's start: its flags, the lanes of a compare given on the command line,
//! the limiter, the history database and the model, then the app's event loop.

use std::io::IsTerminal;
use std::sync::Arc;

use promptdeck::app::AppConfig;
use promptdeck::cli::exit;
use promptdeck::config::{ProviderKind, Resolved};
use promptdeck::data_dir::Access;
use promptdeck::llm::Provider;
use promptdeck::model::compare::LaneStart;
use promptdeck::model::history::ResumeTarget;
use promptdeck::model::prompt::{PromptState, Tracking};
use promptdeck::model::{Model, Session, StartKind, Status, StatusTone};
use promptdeck::store::ConversationId;

use crate::{PromptChoice, limiter_failure, limiter_for, logging};

/// The chat's own flags.
pub(crate) struct ChatOptions {
    /// Every `--model` (several open a compare).
    pub(crate) models: Vec<String>,
    /// `--resume [ID]`.
    pub(crate) resume: Option<String>,
    /// `--repeat N`.
    pub(crate) repeat: u32,
    /// `--max-fps N`.
    pub(crate) max_fps: u32,
}

/// The chat's lanes for several `--prompt` × `--model` (empty for one lane, whose prompt the
/// chat resolves itself): each prompt resolved now, so that a wrong one is named before the
/// screen opens.
async fn chat_lanes(
    resolved: &Resolved,
    prompt: &PromptChoice,
    models: &[String],
) -> Result<Vec<LaneStart>, u8> {
    let lanes = prompt.references.len().max(1) * models.len().max(1);
    if lanes < 2 {
        return Ok(Vec::new());
    }
    if lanes > promptdeck::model::compare::MAX_LANES {
        eprintln!(
            "promptdeck: {lanes} lanes asked for (--prompt × --model); the chat shows {} at most",
            promptdeck::model::compare::MAX_LANES
        );
        return Err(exit::USAGE);
    }
    let references = if prompt.references.is_empty() {
        vec![None]
    } else {
        prompt.references.clone()
    };
    let models = if models.is_empty() {
        vec![resolved.model.clone()]
    } else {
        models.to_vec()
    };
    let session = promptdeck::prompts::SessionVersions::new();
    let mut out = Vec::new();
    for reference in &references {
        let loaded = match reference {
            Some(reference) => {
                let loaded = promptdeck::store::resolve::resolve_with_history(
                    &resolved.prompts_dir,
                    reference,
                    &session,
                    None,
                )
                .await
                .map_err(|e| {
                    eprintln!("promptdeck: {e}");
                    exit::USAGE
                })?;
                let tracking = match reference.selector {
                    promptdeck::prompts::Selector::Working => Tracking::WorkingTree,
                    _ => Tracking::Pinned,
                };
                Some((loaded, tracking))
            }
            None => None,
        };
        for model in &models {
            out.push(LaneStart {
                prompt: loaded.clone(),
                model: model.clone(),
            });
        }
    }
    Ok(out)
}

pub(crate) async fn interactive(
    resolved: Resolved,
    access: &Access,
    provider: Arc<dyn Provider>,
    prompt: PromptChoice,
    options: ChatOptions,
) -> u8 {
    let ChatOptions {
        models,
        resume,
        repeat,
        max_fps,
    } = options;
    if !std::io::stdout().is_terminal() {
        eprintln!(
            "promptdeck: the chat needs a terminal; use `promptdeck ask \"message\"` in scripts"
        );
        return exit::USAGE;
    }
    let resume = match resume.as_deref() {
        None => None,
        Some("latest") => Some(ResumeTarget::Latest),
        Some(id) => match id.parse::<i64>() {
            Ok(id) => Some(ResumeTarget::Id(ConversationId(id))),
            Err(_) => {
                eprintln!(
                    "promptdeck: --resume takes a conversation id (see `promptdeck conversations`)"
                );
                return exit::USAGE;
            }
        },
    };
    // Several --prompt / --model: one lane each, their prompts resolved before the screen opens.
    let lanes = match chat_lanes(&resolved, &prompt, &models).await {
        Ok(lanes) => lanes,
        Err(code) => return code,
    };
    // Nothing may be sent unlimited: without a limiter the chat does not start.
    let (limiter, limiter_warning) = match limiter_for(&resolved).await {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("promptdeck: {}", limiter_failure(access, &e));
            return exit::CONFIG;
        }
    };
    // The UI owns the terminal: database errors go to the log file, and to the status line.
    let (warn, database_messages) = tokio::sync::mpsc::unbounded_channel::<String>();
    let on_error: promptdeck::store::ErrorSink = Box::new(move |e| {
        tracing::warn!("history database: {e}");
        let _ = warn.send(e.to_string());
    });
    let (writer, store_warning) = match access.warning() {
        Some(warning) => (None, Some(warning)),
        None => match promptdeck::store::open_writer_async(&resolved.data_dir, on_error).await {
            Ok(writer) => (Some(writer), None),
            Err(e) => (
                None,
                Some(format!(
                    "history database unavailable ({e}): replies are not saved"
                )),
            ),
        },
    };
    let config_path = resolved
        .config_path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "config.toml".into());
    let session = Session {
        provider: provider.name().to_string(),
        provider_label: provider.label().map(str::to_string),
        model: resolved.model.clone(),
        max_tokens: resolved.max_tokens,
        temperature: resolved.temperature,
        system: resolved.system.clone(),
        start: if resolved.first_run {
            StartKind::FirstRun { config_path }
        } else {
            StartKind::Configured
        },
    };
    let prompts = PromptState::new(resolved.prompts_dir.display().to_string(), prompt.vars);
    let mut model = Model::new(session)
        .with_prompts(prompts)
        .with_prices(Arc::clone(&resolved.prices))
        .with_fallback(resolved.retry.fallback_models.clone())
        .with_compare_seed(format!("{}-", promptdeck::compare::compare_id()))
        .with_repeat(repeat)
        .with_lanes(lanes)
        .with_draft_autosave();
    if resolved.provider != ProviderKind::Demo {
        model = model.with_limits(*limiter.limits(), limiter.describe());
    }
    let log_warning = logging::LOG_WARNING.get().cloned();
    let warnings: Vec<String> = [
        log_warning,
        store_warning,
        limiter_warning.map(|w| w.to_string()),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(warning) = (!warnings.is_empty()).then(|| warnings.join(" · ")) {
        model.status = Some(Status {
            tone: StatusTone::Warning,
            text: warning,
        });
    }
    let config = AppConfig {
        provider,
        policy: resolved.retry.clone(),
        theme: resolved.theme.clone(),
        data_dir: resolved.data_dir.clone(),
        prompts_dir: resolved.prompts_dir.clone(),
        // A compare's prompts are resolved already.
        initial_prompt: if prompt.references.len() > 1 || models.len() > 1 {
            None
        } else {
            prompt.reference
        },
        limiter: Some(limiter),
        store: writer.as_ref().map(|w| w.handle()),
        store_warnings: Some(database_messages),
        resume,
        max_fps,
        theme_path: resolved.theme_path.clone(),
        prices: Arc::clone(&resolved.prices),
    };
    let result = promptdeck::app::run(model, config).await;
    if let Some(writer) = writer {
        // Finishes every pending write (the last checkpoints) before exiting.
        let _ = tokio::task::spawn_blocking(move || writer.close()).await;
    }
    match result {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("promptdeck: {e}");
            exit::INTERNAL
        }
    }
}
