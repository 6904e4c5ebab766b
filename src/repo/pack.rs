//! Writing many objects at once as pack files instead of thousands of loose files.
//!
//! `import` makes tens of thousands of objects. Written loose, each is a file that every
//! later read must open, map and inflate separately; git would pack them on its next
//! `gc`. pulse writes them into memory through gix's object memory and then out as a
//! pack with its index (gix's own indexer), in batches so memory stays bounded.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use super::PromptRepo;
use crate::error::{Error, GitResultExt, Result};

/// How much content is buffered before it is written out as a pack.
pub(crate) const BATCH_BYTES: usize = 8 * 1024 * 1024;

/// The packs written by one operation; their `.keep` files are removed once refs point to them.
#[derive(Debug, Default)]
pub(crate) struct Packs {
    keeps: Vec<PathBuf>,
}

impl PromptRepo {
    /// A handle on the same repository whose object writes stay in memory until a
    /// [`Packs::flush`] (reads see both the memory and the repository).
    pub(crate) fn buffered(&self) -> PromptRepo {
        PromptRepo {
            repo: self.repo.clone().with_object_memory(),
            shared: None,
        }
    }
}

fn entry_header(out: &mut Vec<u8>, kind: gix::object::Kind, size: usize) {
    let type_id: u8 = match kind {
        gix::object::Kind::Commit => 1,
        gix::object::Kind::Tree => 2,
        gix::object::Kind::Blob => 3,
        gix::object::Kind::Tag => 4,
    };
    let mut size = size as u64;
    let mut byte = (type_id << 4) | (size & 0x0f) as u8;
    size >>= 4;
    while size != 0 {
        out.push(byte | 0x80);
        byte = (size & 0x7f) as u8;
        size >>= 7;
    }
    out.push(byte);
}

impl Packs {
    /// Write every object buffered in `repo`'s memory into one new pack with its index,
    /// and forget them from memory. Does nothing when nothing is buffered.
    pub(crate) fn flush(&mut self, repo: &PromptRepo) -> Result<()> {
        let Some(storage) = repo.repo.objects.reset_object_memory() else {
            return Ok(());
        };
        if storage.is_empty() {
            return Ok(());
        }
        let count = u32::try_from(storage.len())
            .map_err(|_| Error::other("too many objects for one pack"))?;
        let mut pack = Vec::with_capacity(1024 * 1024);
        pack.extend_from_slice(b"PACK");
        pack.extend_from_slice(&2u32.to_be_bytes());
        pack.extend_from_slice(&count.to_be_bytes());
        let mut deflate =
            gix::zlib::stream::deflate::Write::new(Vec::new(), gix::zlib::Compression::BEST_SPEED);
        for (kind, data) in storage.values() {
            entry_header(&mut pack, *kind, data.len());
            deflate.reset();
            deflate
                .write_all(data)
                .and_then(|()| deflate.flush())
                .map_err(|e| Error::io("cannot compress an object", e))?;
            let compressed = std::mem::replace(
                &mut deflate,
                gix::zlib::stream::deflate::Write::new(
                    Vec::new(),
                    gix::zlib::Compression::BEST_SPEED,
                ),
            )
            .into_inner();
            pack.extend_from_slice(&compressed);
        }
        let mut hasher = gix::hash::hasher(repo.repo.object_hash());
        hasher.update(&pack);
        let checksum = hasher
            .try_finalize()
            .git_ctx(|| "cannot checksum the pack")?;
        pack.extend_from_slice(checksum.as_bytes());
        let dir = repo.repo.objects.store_ref().path().join("pack");
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("cannot create '{}'", dir.display()), e))?;
        let outcome = gix::odb::pack::Bundle::write_to_directory(
            &mut &pack[..],
            Some(&dir),
            &mut gix::progress::Discard,
            &AtomicBool::new(false),
            None::<gix::objs::find::Never>,
            repo.repo.object_hash(),
            gix::odb::pack::bundle::write::Options {
                thread_limit: Some(1),
                ..Default::default()
            },
        )
        .git_ctx(|| format!("cannot write a pack of {count} objects"))?;
        self.keeps.extend(outcome.keep_path);
        Ok(())
    }

    /// Remove the `.keep` files, once refs point to the packed objects.
    pub(crate) fn release_keeps(self) {
        for keep in self.keeps {
            let _ = std::fs::remove_file(keep);
        }
    }
}
