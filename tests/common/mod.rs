//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod cli;
pub mod git;
pub mod mock;
pub mod pty;
