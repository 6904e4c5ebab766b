//! Integration tests: the real `pulse` binary on real git repositories in temp dirs.
//! One test target with modules, so the binary and fixtures are built once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod bounds;
mod cache;
mod check;
mod cli;
mod concurrency;
mod config;
mod conformance;
mod consumer;
mod crash;
mod encryption;
mod errors;
mod fuzz_corpus;
mod hardening;
mod hostile_remotes;
mod http_faults;
mod import_export;
mod labels;
mod large;
mod light_reads;
mod lint;
mod openapi;
mod props;
mod readme;
mod remotes;
mod resolution;
mod roundtrip;
mod s3_servers;
mod s3_stores;
mod search;
mod serve;
mod signing;
mod sync;
mod templates;
mod verify;
mod web;
mod worktree;
