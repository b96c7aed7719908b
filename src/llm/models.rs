//! What models an endpoint offers, and what to say when it does not offer the one asked for.
//!
//! Both APIs answer `GET /v1/models` (Anthropic: `{"data": [{"id", "display_name", …}],
//! "has_more", "last_id"}`, paged; OpenAI and the servers that copy it — Ollama, llama.cpp,
//! vLLM — `{"data": [{"id", …}]}`). The list feeds two things:
//!
//! - the model switcher in the chat (loaded once per session, off the event loop);
//! - a model-not-found error: when the chat endpoint answers 404, the provider lists the
//!   endpoint's models and the error names the model asked for and the closest ones offered,
//!   so the fix is one flag away ([`explain_not_found`]).
//!
//! Model ids come from a server: each is sanitized (no control characters) and bounded in
//! length and count before anything shows it.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::StreamExt;
use serde::Deserialize;

use super::anthropic::ANTHROPIC_VERSION;
use super::error::{clean_server_text, error_from_response};
use super::http::Endpoint;
use super::{EventStream, LlmError};

/// A model list being fetched.
pub type ModelListFuture = Pin<Box<dyn Future<Output = Result<Vec<String>, LlmError>> + Send>>;

/// Most pages read from a paged listing (Anthropic: 1,000 models a page).
const MAX_PAGES: usize = 10;
/// Most models kept from a listing.
const MAX_MODELS: usize = 5_000;
/// Most model names quoted in a model-not-found message.
pub const NAMES_IN_ERROR: usize = 8;

/// Which API's listing to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFlavor {
    /// `GET {base}/v1/models` with `x-api-key` and `anthropic-version`, paged by `after_id`.
    Anthropic,
    /// `GET {base}/models` (the base URL carries `/v1`) with a bearer key.
    OpenAi,
}

#[derive(Debug, Deserialize)]
struct Page {
    #[serde(default)]
    data: Vec<Entry>,
    #[serde(default)]
    has_more: bool,
    last_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    id: String,
}

/// The model ids of one listing page, sanitized, in the server's order (Anthropic lists the
/// newest first). A body that is not a listing is [`LlmError::Protocol`].
pub fn parse_page(body: &[u8]) -> Result<(Vec<String>, Option<String>), LlmError> {
    let page: Page = serde_json::from_slice(body).map_err(|e| LlmError::Protocol {
        message: format!("the model list is not the expected JSON: {e}"),
    })?;
    let ids = page
        .data
        .into_iter()
        .map(|m| clean_server_text(&m.id))
        .filter(|id| !id.is_empty())
        .collect();
    let next = page.last_id.filter(|_| page.has_more);
    Ok((ids, next))
}

/// Lists the models `endpoint` offers. Every page must arrive within the endpoint's
/// response-headers timeout; the API key is redacted from any error.
pub fn list(client: reqwest::Client, endpoint: Endpoint, flavor: ApiFlavor) -> ModelListFuture {
    Box::pin(async move {
        let key = endpoint.api_key.clone();
        let result = list_pages(&client, &endpoint, flavor).await;
        result.map_err(|e| match &key {
            Some(key) => e.redact(key.expose()),
            None => e,
        })
    })
}

async fn list_pages(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    flavor: ApiFlavor,
) -> Result<Vec<String>, LlmError> {
    let mut ids: Vec<String> = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut builder = match flavor {
            ApiFlavor::Anthropic => {
                let url = match after.as_deref() {
                    Some(after) => endpoint.url(&format!("/v1/models?limit=1000&after_id={after}")),
                    None => endpoint.url("/v1/models?limit=1000"),
                };
                let mut b = client
                    .get(url)
                    .header("anthropic-version", ANTHROPIC_VERSION);
                if let Some(key) = &endpoint.api_key {
                    b = b.header("x-api-key", key.expose());
                }
                b
            }
            ApiFlavor::OpenAi => {
                let mut b = client.get(endpoint.url("/models"));
                if let Some(key) = &endpoint.api_key {
                    b = b.bearer_auth(key.expose());
                }
                b
            }
        };
        builder = builder.header(reqwest::header::ACCEPT, "application/json");
        let body = fetch(builder, endpoint.timeouts.response_headers).await?;
        let (page, next) = parse_page(&body)?;
        for id in page {
            if ids.len() < MAX_MODELS && !ids.contains(&id) {
                ids.push(id);
            }
        }
        // Model ids are `[a-z0-9.-]`: anything else is not sent back as a cursor.
        let cursor = |c: &String| {
            c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._@:".contains(&b))
        };
        match next.filter(cursor) {
            Some(next) if flavor == ApiFlavor::Anthropic => after = Some(next),
            _ => break,
        }
    }
    Ok(ids)
}

/// Sends one listing request and reads its body (at most 4 MiB), all within `limit`.
async fn fetch(request: reqwest::RequestBuilder, limit: Duration) -> Result<Vec<u8>, LlmError> {
    const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
    let read = async {
        let response = request.send().await.map_err(|e| LlmError::Connection {
            message: clean_server_text(&without_url(&e)),
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        let mut chunks = response.bytes_stream();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|e| LlmError::Connection {
                message: clean_server_text(&without_url(&e)),
            })?;
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BODY_BYTES {
                return Err(LlmError::Protocol {
                    message: "the model list is larger than 4 MiB".into(),
                });
            }
        }
        if !status.is_success() {
            return Err(error_from_response(status.as_u16(), &headers, &body));
        }
        Ok(body)
    };
    match tokio::time::timeout(limit, read).await {
        Ok(result) => result,
        Err(_) => Err(LlmError::Stalled { after: limit }),
    }
}

/// A reqwest error's text without its URL (which holds no key, but a query string is noise).
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), url.path());
    }
    text
}

/// `available` reordered so the names closest to `wanted` come first: the longest shared
/// prefix (case-insensitive) first, the server's order otherwise. `claude-sonnet-4-5` asked,
/// `claude-sonnet-5-5` comes before `claude-opus-5`.
pub fn closest_first(wanted: &str, available: &[String]) -> Vec<String> {
    let wanted = wanted.to_ascii_lowercase();
    let shared = |name: &str| {
        wanted
            .bytes()
            .zip(name.to_ascii_lowercase().bytes())
            .take_while(|(a, b)| a == b)
            .count()
    };
    let mut ranked: Vec<(usize, usize, &String)> = available
        .iter()
        .enumerate()
        .map(|(i, name)| (shared(name), i, name))
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked.into_iter().map(|(_, _, n)| n.clone()).collect()
}

/// Whether `error`, the answer to a chat request, may mean the model does not exist: a 404
/// (Anthropic `not_found_error`, OpenAI `model_not_found`, Ollama "model … not found", vLLM
/// `NotFoundError`) or a 400 whose message says the model does not exist.
pub fn may_be_unknown_model(error: &LlmError) -> bool {
    match error.without_hint() {
        LlmError::NotFound { .. } => true,
        LlmError::BadRequest { message, .. } => {
            let m = message.to_ascii_lowercase();
            m.contains("model_not_found")
                || (m.contains("model")
                    && (m.contains("does not exist") || m.contains("not found")))
        }
        _ => false,
    }
}

/// What a model-not-found answer becomes once the endpoint's list is known: the list says
/// the model is not there → [`LlmError::ModelNotFound`] with the closest names; the list
/// holds the model → the original error (something else was not found); the list failed →
/// [`LlmError::ModelNotFound`] without names.
pub fn explain(model: &str, error: LlmError, listed: Result<Vec<String>, LlmError>) -> LlmError {
    let message = match error.without_hint() {
        LlmError::NotFound { message } | LlmError::BadRequest { message, .. } => message.clone(),
        _ => return error,
    };
    match listed {
        Ok(names) if names.iter().any(|n| n == model) => error,
        Ok(names) => LlmError::ModelNotFound {
            model: clean_server_text(model),
            message,
            available: closest_first(model, &names),
        },
        // The list could not be read (an endpoint without `/v1/models`): the model is still
        // named, with the advice to check it.
        Err(_) => LlmError::ModelNotFound {
            model: clean_server_text(model),
            message,
            available: Vec::new(),
        },
    }
}

/// Wraps a chat stream so that a model-not-found answer is explained with the models the
/// endpoint offers (`list` is only called then).
pub fn explain_not_found(
    events: EventStream,
    model: String,
    list: impl FnOnce() -> ModelListFuture + Send + 'static,
) -> EventStream {
    let mut list = Some(list);
    Box::pin(events.then(move |item| {
        let lister = match &item {
            Err(e) if may_be_unknown_model(e) => list.take(),
            _ => None,
        };
        let model = model.clone();
        async move {
            match (item, lister) {
                (Err(error), Some(list)) => Err(explain(&model, error, list().await)),
                (item, _) => item,
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn pages_parse_in_server_order_and_are_sanitized() {
        let body = br#"{"data":[{"id":"claude-sonnet-5-5","display_name":"Claude Sonnet 5.5"},
            {"id":"evil\u001b[2Jmodel"},{"id":""}],"has_more":true,"last_id":"claude-opus-5"}"#;
        let (ids, next) = parse_page(body).expect("a page");
        assert_eq!(ids, vec!["claude-sonnet-5-5", "evilmodel"]);
        assert_eq!(next.as_deref(), Some("claude-opus-5"));
        let (ids, next) = parse_page(br#"{"object":"list","data":[{"id":"gpt-5.6-terra"}]}"#)
            .expect("an OpenAI list");
        assert_eq!(ids, vec!["gpt-5.6-terra"]);
        assert_eq!(next, None);
        assert!(matches!(
            parse_page(b"<html>404</html>"),
            Err(LlmError::Protocol { .. })
        ));
    }

    #[test]
    fn closest_names_come_first() {
        let offered: Vec<String> = ["claude-opus-5", "claude-haiku-5-5", "claude-sonnet-5-5"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            closest_first("claude-sonnet-4-5", &offered),
            vec!["claude-sonnet-5-5", "claude-opus-5", "claude-haiku-5-5"]
        );
    }

    #[test]
    fn a_404_for_a_missing_model_names_it_and_what_is_offered() {
        let not_found = LlmError::NotFound {
            message: "not_found_error: model: claude-sonnet-4-5".into(),
        };
        let error = explain(
            "claude-sonnet-4-5",
            not_found.clone(),
            Ok(vec!["claude-opus-5".into(), "claude-sonnet-5-5".into()]),
        );
        assert_eq!(
            error,
            LlmError::ModelNotFound {
                model: "claude-sonnet-4-5".into(),
                message: "not_found_error: model: claude-sonnet-4-5".into(),
                available: vec!["claude-sonnet-5-5".into(), "claude-opus-5".into()],
            }
        );
        let text = error.to_string();
        assert!(text.contains("claude-sonnet-4-5"), "{text}");
        assert!(text.contains("claude-sonnet-5-5, claude-opus-5"), "{text}");
        assert!(text.contains("--model"), "{text}");
        // The model is offered: something else was not found (a wrong path).
        assert_eq!(
            explain(
                "claude-sonnet-4-5",
                not_found.clone(),
                Ok(vec!["claude-sonnet-4-5".into()])
            ),
            not_found
        );
        // The list failed too: the model is still named, with what to check.
        let failed = explain(
            "x",
            not_found,
            Err(LlmError::NotFound {
                message: "no route".into(),
            }),
        );
        assert_eq!(
            failed.to_string(),
            "model \"x\" not found: not_found_error: model: claude-sonnet-4-5 — check the \
             model name (--model NAME, or Alt-M in the chat) and the base URL"
        );
    }

    #[test]
    fn only_model_errors_are_explained() {
        assert!(may_be_unknown_model(&LlmError::NotFound {
            message: String::new()
        }));
        assert!(may_be_unknown_model(&LlmError::BadRequest {
            status: 400,
            message: "The model `gpt-9` does not exist".into()
        }));
        assert!(!may_be_unknown_model(&LlmError::BadRequest {
            status: 400,
            message: "max_tokens: too large".into()
        }));
        assert!(!may_be_unknown_model(&LlmError::Interrupted));
    }
}
