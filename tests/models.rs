//! The endpoint's model list over real HTTP: `GET /v1/models` on both APIs, and a chat request
//! for a model the endpoint does not serve answered with the models it does.

mod common;

use std::time::Duration;

use futures_util::StreamExt;
use pretty_assertions::assert_eq;
use serde_json::json;

use common::mock::{MockResponse, MockServer};
use promptdeck::llm::anthropic::AnthropicProvider;
use promptdeck::llm::http::{ApiKey, Endpoint};
use promptdeck::llm::openai::OpenAiProvider;
use promptdeck::llm::{ChatRequest, LlmError, Message, Provider, Role, StreamEvent, Timeouts};

const KEY: &str = "sk-test-models-0123456789";

fn endpoint(base_url: String) -> Endpoint {
    Endpoint {
        base_url,
        api_key: ApiKey::new(KEY),
        timeouts: Timeouts {
            connect: Duration::from_secs(5),
            response_headers: Duration::from_secs(10),
            idle_read: Duration::from_secs(10),
        },
    }
}

fn request(model: &str) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        system: None,
        messages: vec![Message {
            role: Role::User,
            content: "hello".into(),
        }],
        max_tokens: 64,
        temperature: None,
    }
}

async fn errors(provider: &dyn Provider, model: &str) -> Vec<LlmError> {
    provider
        .stream(request(model))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .filter_map(|e: Result<StreamEvent, LlmError>| e.err())
        .collect()
}

#[tokio::test]
async fn anthropic_model_not_found_lists_the_endpoint_s_models_closest_first() {
    let server = MockServer::start().await;
    server.serve_models(&["claude-opus-5", "claude-haiku-5-5", "claude-sonnet-5-5"]);
    server.push(MockResponse::error(
        404,
        json!({"type":"error","error":{"type":"not_found_error","message":"model: claude-sonnet-4-5"}}),
    ));
    let provider = AnthropicProvider::new(endpoint(server.base_url())).unwrap();
    let errors = errors(&provider, "claude-sonnet-4-5").await;
    assert_eq!(
        errors,
        vec![LlmError::ModelNotFound {
            model: "claude-sonnet-4-5".into(),
            message: "model: claude-sonnet-4-5".into(),
            available: vec![
                "claude-sonnet-5-5".into(),
                "claude-opus-5".into(),
                "claude-haiku-5-5".into()
            ],
        }]
    );
    assert_eq!(
        errors[0].to_string(),
        "model \"claude-sonnet-4-5\" not found: model: claude-sonnet-4-5 — this endpoint \
         offers: claude-sonnet-5-5, claude-opus-5, claude-haiku-5-5; choose one with --model \
         NAME (or Alt-M in the chat)"
    );
    assert_eq!(errors[0].kind(), "model_not_found");
    assert_eq!(server.model_listings(), 1);
}

#[tokio::test]
async fn openai_model_not_found_lists_the_endpoint_s_models() {
    let server = MockServer::start().await;
    server.serve_models(&["gpt-5.6-terra", "gpt-5.6-luna"]);
    server.push(MockResponse::error(
        404,
        json!({"error":{"message":"The model `gpt-4.1-mini` does not exist or you do not have access to it.",
                        "type":"invalid_request_error","param":null,"code":"model_not_found"}}),
    ));
    let provider = OpenAiProvider::new(endpoint(server.openai_base_url())).unwrap();
    let errors = errors(&provider, "gpt-4.1-mini").await;
    let [
        LlmError::ModelNotFound {
            model, available, ..
        },
    ] = errors.as_slice()
    else {
        panic!("expected one model-not-found error, got {errors:?}");
    };
    assert_eq!(model, "gpt-4.1-mini");
    assert_eq!(
        available,
        &vec!["gpt-5.6-terra".to_string(), "gpt-5.6-luna".into()]
    );
    assert_eq!(server.model_listings(), 1);
}

#[tokio::test]
async fn listing_models_sends_each_api_s_headers_and_never_leaks_the_key() {
    let server = MockServer::start().await;
    server.serve_models(&["b-model", "a-model", "b-model"]);
    let anthropic = AnthropicProvider::new(endpoint(server.base_url())).unwrap();
    assert_eq!(
        anthropic.list_models().await,
        Ok(vec!["b-model".to_string(), "a-model".into()]),
        "server order, duplicates dropped"
    );
    let openai = OpenAiProvider::new(endpoint(server.openai_base_url())).unwrap();
    assert_eq!(
        openai.list_models().await,
        Ok(vec!["b-model".to_string(), "a-model".into()])
    );
    assert_eq!(server.model_listings(), 2);
    // An endpoint without a listing: a clear error, no key in it.
    let bare = MockServer::start().await;
    let error = OpenAiProvider::new(endpoint(bare.openai_base_url()))
        .unwrap()
        .list_models()
        .await
        .expect_err("no listing");
    assert!(!error.to_string().contains(KEY), "{error}");
}

#[tokio::test]
async fn a_404_for_a_listed_model_stays_a_plain_not_found() {
    // The model exists: the 404 is about something else (a proxy's wrong path).
    let server = MockServer::start().await;
    server.serve_models(&["claude-sonnet-5-5"]);
    server.push(MockResponse::error(
        404,
        json!({"type":"error","error":{"type":"not_found_error","message":"no route"}}),
    ));
    let provider = AnthropicProvider::new(endpoint(server.base_url())).unwrap();
    assert_eq!(
        errors(&provider, "claude-sonnet-5-5").await,
        vec![LlmError::NotFound {
            message: "no route".into()
        }]
    );
}
