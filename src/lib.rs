//! pulse: a Git-native manager for LLM instruction prompts.
//!
//! Prompts are plain files in a git repository; every release is an annotated tag
//! `name@x.y.z`; labels such as `production` are movable pointers kept on the branch.
//! The library holds the whole model (names, versions, selectors, the repository, the
//! stores); the `pulse` binary is a thin shell over [`cli::run`].

#![deny(missing_docs)]

pub mod cli;
pub mod config;
pub mod error;
pub mod layout;
pub mod meta;
pub mod name;
pub mod repo;
pub mod store;
pub mod version;

pub use error::{Error, Kind, Result};
pub use name::{Label, Name};
pub use repo::PromptRepo;
pub use version::{Selector, Version};
