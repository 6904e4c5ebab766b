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
//! assert_eq!(pulse::repo::paths::content_path(&name), "prompts/team-a/code.reviewer.md");
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
//! Every store (the git repository today) is opened from its address through one door,
//! and reading a release checks its SHA-256 on the way out:
//!
//! ```no_run
//! use pulse::{Name, Selector, StoreExt};
//!
//! let store = pulse::store::open(".", &Default::default())?;
//! let name = Name::parse("reviewer")?;
//! let version = store.resolve(&name, &Selector::parse("production")?)?;
//! let content: Vec<u8> = store.fetch(&name, &version)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

// Domain values, which depend on nothing above them.
pub mod digest;
pub mod error;
pub mod integrity;
pub mod meta;
pub mod name;
pub mod selector;
pub mod version;

// Building blocks.
pub mod bounded;
pub mod config;
pub mod crypt;
pub mod diff;
pub mod fsutil;
pub mod lint;
pub mod parallel;
pub mod template;

// The git engine, the stores built on it and beside it, and remotes.
pub mod client;
pub mod consumer;
pub mod mirror;
pub mod remote;
pub mod repo;
pub mod report;
pub mod search;
pub mod store;
pub mod sync;

// The registry: a store served over HTTP.
pub mod serve;

// What the fuzz targets and their seed corpus run.
#[doc(hidden)]
pub mod fuzzing;

// The command line.
pub mod cli;

pub use digest::Digest;
pub use error::{Error, Hint, Kind, Result};
pub use name::{Label, Name, NamePrefix};
pub use repo::PromptRepo;
pub use selector::Selector;
pub use store::{Store, StoreExt};
pub use version::{Version, latest};
