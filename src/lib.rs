//! promptdeck: a terminal workbench for LLM prompts.
//!
//! The binary (`src/main.rs`) is a thin edge over this library: configuration, the pure
//! state machine ([`model`]), rendering ([`ui`]), the event loop ([`app`]) and the providers
//! ([`llm`]) all live here so that tests can drive each of them without a terminal.

pub mod app;
pub mod ask;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod config;
pub mod data_dir;
pub mod event;
pub mod frames;
pub mod keys;
pub mod limit;
pub mod llm;
pub mod model;
pub mod prompts;
pub mod records;
pub mod request;
pub mod store;
pub mod text;
pub mod tui;
pub mod ui;

#[cfg(test)]
mod resume_tests;
