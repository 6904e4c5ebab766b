//! pulse: a Git-native manager for LLM instruction prompts.
//!
//! Prompts are plain files in a git repository; every release is an annotated tag
//! `name@x.y.z`; labels such as `production` are movable pointers kept on the branch.
//! The library holds the whole model (names, versions, selectors, the repository, the
//! stores); the `pulse` binary is a thin shell over [`cli::run`].
//!
//! Names, versions and selectors are plain values:
//!
//! ```
//! use pulse::{Name, Selector, Version};
//!
//! let name = Name::parse("team-a/code.reviewer")?;
//! assert_eq!(name.content_path(), "prompts/team-a/code.reviewer.md");
//!
//! // SemVer precedence, not string order; `latest` skips pre-releases.
//! let released: Vec<Version> = ["1.9.0", "1.10.0", "2.0.0-rc.1"]
//!     .iter()
//!     .map(|v| Version::parse(v))
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(Selector::parse("latest")?.pick(&released), Some(&released[1]));
//! assert_eq!(Selector::parse("^1.2")?.pick(&released), Some(&released[1]));
//! assert_eq!(Selector::parse("1.9.0")?.pick(&released), Some(&released[0]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Reading a release from a repository checks its SHA-256 on the way out:
//!
//! ```no_run
//! use pulse::{Name, PromptRepo, Selector};
//!
//! let repo = PromptRepo::discover(std::path::Path::new("."))?;
//! let name = Name::parse("reviewer")?;
//! let release = repo.resolve(&name, &Selector::parse("production")?, None)?;
//! let content: Vec<u8> = repo.release_content(&release)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

pub mod bounded;
pub mod cli;
pub mod config;
pub mod error;
pub mod layout;
pub mod meta;
pub mod mirror;
pub mod name;
pub mod remote;
pub mod repo;
pub mod store;
pub mod version;

pub use error::{Error, Kind, Result};
pub use name::{Label, Name};
pub use repo::PromptRepo;
pub use version::{Selector, Version};
