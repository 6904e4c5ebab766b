//! Blobs of any size, read and written with bounded memory.
//!
//! gix reads an object whole: it maps the compressed file, inflates it into one buffer and
//! offers a copy to its object cache. That suits the small objects pulse reads most (trees,
//! tags, sidecars, settings), and they keep that path. A prompt of hundreds of megabytes
//! would cost its size two or three times over, so a large blob is read here instead:
//! inflated in chunks from its loose object file, or from its entry in a pack file, straight
//! into whatever wants the bytes (a hasher, a temporary file, or a buffer sized once from
//! the object's header). Only a large blob stored as a delta in a pack is left to gix
//! (without its object cache): rebuilding it needs its base in memory anyway. Large
//! content is written the same way: streamed into a loose object while its SHA-256 is
//! checked.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use gix::ObjectId;

use super::PromptRepo;
use crate::digest::{Digest, Hasher};
use crate::error::{Error, GitResultExt, Result};

/// Blobs at least this large are streamed; smaller ones are read whole through gix.
pub(crate) const STREAM_FROM: u64 = 1024 * 1024;

/// How much is read from a file or inflated at a time.
const CHUNK: usize = 64 * 1024;

/// A blob opened for reading: its size is known before its bytes are read.
pub(crate) struct BlobReader {
    id: ObjectId,
    size: u64,
    source: Source,
}

enum Source {
    /// The bytes, read whole by gix.
    Whole(Vec<u8>),
    /// A zlib stream in a loose object file or a pack, inflated as it is read.
    Stream(Inflating),
}

/// A zlib stream in a file being inflated: the compressed input not consumed yet, and the
/// start of the body that came out while a loose object's header was read.
struct Inflating {
    path: PathBuf,
    file: File,
    inflate: gix::zlib::Decompress,
    input: Vec<u8>,
    consumed: usize,
    eof: bool,
    body_start: Vec<u8>,
}

impl BlobReader {
    /// Copy every byte of the blob into `out`; returns how many were copied.
    pub(crate) fn copy_to(self, out: &mut dyn Write) -> Result<u64> {
        let BlobReader { id, size, source } = self;
        let written = |e| Error::io(format!("cannot pass on the content of blob {id}"), e);
        match source {
            Source::Whole(bytes) => {
                out.write_all(&bytes).map_err(written)?;
                Ok(bytes.len() as u64)
            }
            Source::Stream(mut stream) => {
                // First the start of the body that came with the header, then the rest.
                let mut chunk = std::mem::take(&mut stream.body_start);
                let (mut n, mut end) = (chunk.len(), false);
                chunk.resize(CHUNK.max(n), 0);
                let mut total = 0u64;
                loop {
                    total += n as u64;
                    if total > size {
                        return Err(corrupt(
                            id,
                            &stream.path,
                            "it holds more than its header says",
                        ));
                    }
                    out.write_all(&chunk[..n]).map_err(written)?;
                    if end {
                        break;
                    }
                    (n, end) = stream.inflate_into(&mut chunk, id)?;
                }
                if total != size {
                    return Err(corrupt(
                        id,
                        &stream.path,
                        &format!("it holds {total} bytes, its header says {size}"),
                    ));
                }
                Ok(total)
            }
        }
    }

    /// The first `max` bytes of the blob (all of it if it is smaller); a large blob is
    /// inflated only as far as needed.
    pub(crate) fn head(self, max: usize) -> Result<Vec<u8>> {
        let id = self.id;
        match self.source {
            Source::Whole(mut bytes) => {
                bytes.truncate(max);
                Ok(bytes)
            }
            Source::Stream(mut stream) => {
                let mut out = std::mem::take(&mut stream.body_start);
                let mut chunk = vec![0; CHUNK];
                let mut end = false;
                while out.len() < max && !end {
                    let (n, ended) = stream.inflate_into(&mut chunk, id)?;
                    out.extend_from_slice(&chunk[..n]);
                    end = ended;
                }
                out.truncate(max);
                Ok(out)
            }
        }
    }

    /// The blob's bytes in one buffer, allocated once at the size its header gives.
    pub(crate) fn into_vec(self) -> Result<Vec<u8>> {
        if let Source::Whole(bytes) = self.source {
            return Ok(bytes);
        }
        let mut buf = Vec::new();
        let size = usize::try_from(self.size).ok();
        size.and_then(|s| buf.try_reserve_exact(s).ok())
            .ok_or_else(|| {
                Error::other(format!(
                    "blob {} ({} bytes) does not fit in memory",
                    self.id, self.size
                ))
            })?;
        self.copy_to(&mut buf)?;
        Ok(buf)
    }
}

impl Inflating {
    /// Start inflating `file` from where it is positioned.
    fn new(path: PathBuf, file: File) -> Inflating {
        Inflating {
            path,
            file,
            inflate: gix::zlib::Decompress::new(),
            input: vec![0u8; CHUNK],
            consumed: CHUNK,
            eof: false,
            body_start: Vec::new(),
        }
    }

    /// Open a loose object file and inflate its header: `None` if there is no such file.
    fn loose(path: PathBuf, id: ObjectId) -> Result<Option<(Inflating, gix::object::Kind, u64)>> {
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("cannot read '{}'", path.display()), e)),
        };
        let mut loose = Inflating::new(path, file);
        // The header (`blob <size>\0`) is at most a few dozen bytes; the body follows.
        let mut head = vec![0u8; 4096];
        let mut have = 0;
        let (kind, size, header_len) = loop {
            let (n, end) = loose.inflate_into(&mut head[have..], id)?;
            have += n;
            if let Some(nul) = head[..have].iter().position(|b| *b == 0) {
                let parsed = gix::objs::decode::loose_header(&head[..=nul])
                    .map_err(|_| corrupt(id, &loose.path, "its header is malformed"))?;
                break parsed;
            }
            if end || have == head.len() {
                return Err(corrupt(id, &loose.path, "it has no header"));
            }
        };
        loose.body_start = head[header_len..have].to_vec();
        Ok(Some((loose, kind, size)))
    }

    /// Find `id` in the pack files of `objects` (through their indexes) and position a
    /// reader on its entry: `None` if no pack holds it whole (as a blob, not a delta).
    fn packed(objects: &Path, id: ObjectId) -> Result<Option<(Inflating, u64)>> {
        let dir = objects.join("pack");
        let listing = match std::fs::read_dir(&dir) {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("cannot list '{}'", dir.display()), e)),
        };
        for entry in listing {
            let idx = entry
                .map_err(|e| Error::io(format!("cannot list '{}'", dir.display()), e))?
                .path();
            if idx.extension().is_none_or(|x| x != "idx") {
                continue;
            }
            // An index that cannot be read here is left to gix, which reads it or reports it.
            let Ok(index) = gix::odb::pack::index::File::at(&idx, id.kind()) else {
                continue;
            };
            let Some(at) = index.lookup(id) else {
                continue;
            };
            let offset = index.pack_offset_at_index(at);
            let path = idx.with_extension("pack");
            let Ok(mut file) = File::open(&path) else {
                return Ok(None);
            };
            let read = |e| Error::io(format!("cannot read '{}'", path.display()), e);
            file.seek(SeekFrom::Start(offset)).map_err(read)?;
            let entry =
                gix::odb::pack::data::Entry::from_read(&mut file, offset, id.kind().len_in_bytes())
                    .map_err(read)?;
            if !matches!(entry.header, gix::odb::pack::data::entry::Header::Blob) {
                return Ok(None);
            }
            file.seek(SeekFrom::Start(entry.data_offset))
                .map_err(read)?;
            return Ok(Some((Inflating::new(path, file), entry.decompressed_size)));
        }
        Ok(None)
    }

    /// Inflate into `out`; returns the bytes produced and whether the stream ended.
    fn inflate_into(&mut self, out: &mut [u8], id: ObjectId) -> Result<(usize, bool)> {
        loop {
            if self.consumed == self.input.len() && !self.eof {
                self.input.resize(CHUNK, 0);
                let n = read_some(&mut self.file, &mut self.input)
                    .map_err(|e| Error::io(format!("cannot read '{}'", self.path.display()), e))?;
                self.input.truncate(n);
                self.consumed = 0;
                self.eof = n == 0;
            }
            let (before_in, before_out) = (self.inflate.total_in(), self.inflate.total_out());
            let flush = if self.eof {
                gix::zlib::FlushDecompress::Finish
            } else {
                gix::zlib::FlushDecompress::None
            };
            let status = self
                .inflate
                .decompress(&self.input[self.consumed..], out, flush)
                .map_err(|e| corrupt(id, &self.path, &format!("it does not inflate ({e})")))?;
            let used = usize::try_from(self.inflate.total_in() - before_in).unwrap_or(usize::MAX);
            let made = usize::try_from(self.inflate.total_out() - before_out).unwrap_or(usize::MAX);
            self.consumed = self.consumed.saturating_add(used).min(self.input.len());
            match status {
                gix::zlib::Status::StreamEnd => return Ok((made, true)),
                _ if made > 0 || out.is_empty() => return Ok((made, false)),
                _ if self.eof => return Err(corrupt(id, &self.path, "it is cut short")),
                _ => {}
            }
        }
    }
}

/// Read into `buf`, retrying when interrupted.
fn read_some(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match file.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

fn corrupt(id: ObjectId, path: &std::path::Path, why: &str) -> Error {
    Error::integrity(format!(
        "object {id} ('{}') is corrupt: {why}",
        path.display()
    ))
    .with_hint("run 'git fsck' to see what else is damaged")
}

/// A reader that passes on exactly `size` bytes with SHA-256 `sha256`, or fails before
/// its last byte is taken: a writer fed from it stores nothing that does not match.
struct Checked<'a> {
    inner: &'a mut dyn Read,
    size: u64,
    sha256: Digest,
    seen: Hasher,
    mismatch: bool,
}

impl Read for Checked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.seen.update(&buf[..n]);
        let too_long = self.seen.len() > self.size;
        let ended_wrong =
            n == 0 && (self.seen.len() != self.size || self.seen.clone().finish() != self.sha256);
        if too_long || ended_wrong {
            self.mismatch = true;
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the content does not match its checksum and size",
            ));
        }
        Ok(n)
    }
}

impl PromptRepo {
    /// The path a loose object with `id` has (whether or not it exists).
    fn loose_path(&self, id: ObjectId) -> PathBuf {
        let hex = id.to_hex().to_string();
        let (dir, file) = hex.split_at(2);
        self.repo.objects.store_ref().path().join(dir).join(file)
    }

    /// Open the blob `id` for reading, however large it is. Small blobs are read whole
    /// through gix (and its cache); large ones are inflated from their loose file or pack
    /// entry as they are read; a large delta is read whole by gix without its object cache.
    pub(crate) fn open_blob(&self, id: ObjectId) -> Result<BlobReader> {
        let what = || format!("cannot read blob {id}");
        let header = self.repo.find_header(id).git_ctx(what)?;
        if header.kind() != gix::object::Kind::Blob {
            return Err(Error::integrity(format!(
                "object {id} is a {}, not a blob",
                header.kind()
            )));
        }
        let size = header.size();
        if size < STREAM_FROM {
            let mut blob = self.repo.find_blob(id).git_ctx(what)?;
            return Ok(BlobReader {
                id,
                size,
                source: Source::Whole(blob.take_data()),
            });
        }
        let streamed = match header {
            gix::odb::find::Header::Loose { .. } => Inflating::loose(self.loose_path(id), id)?
                .map(|(reader, kind, size)| (reader, Some(kind), size)),
            gix::odb::find::Header::Packed(p) if p.num_deltas == 0 => {
                Inflating::packed(self.repo.objects.store_ref().path(), id)?
                    .map(|(reader, size)| (reader, None, size))
            }
            gix::odb::find::Header::Packed(_) => None,
        };
        if let Some((reader, kind, size)) = streamed {
            if let Some(kind) = kind.filter(|k| *k != gix::object::Kind::Blob) {
                return Err(Error::integrity(format!(
                    "object {id} is a {kind}, not a blob"
                )));
            }
            return Ok(BlobReader {
                id,
                size,
                source: Source::Stream(reader),
            });
        }
        // A delta (or an object in an alternate): gix reads it whole, but without offering
        // a copy to its object cache.
        let mut objects = self.repo.objects.clone();
        objects.unset_object_cache();
        let mut buf = Vec::new();
        gix::objs::Find::try_find(&objects, &id, &mut buf)
            .git_ctx(what)?
            .ok_or_else(|| Error::integrity(format!("blob {id} is missing")))?;
        let size = buf.len() as u64;
        Ok(BlobReader {
            id,
            size,
            source: Source::Whole(buf),
        })
    }

    /// Copy every byte of the blob `id` into `out`, however large it is; returns how many.
    pub(crate) fn copy_blob(&self, id: ObjectId, out: &mut dyn Write) -> Result<u64> {
        self.open_blob(id)?.copy_to(out)
    }

    /// Write `size` bytes read from `from` as a blob, streamed into a loose object, and
    /// check on the way that they have SHA-256 `sha256`: nothing is stored otherwise (an
    /// integrity failure, exit 5, named after `what`).
    pub(crate) fn write_blob_stream(
        &self,
        from: &mut dyn Read,
        size: u64,
        sha256: &Digest,
        what: &str,
    ) -> Result<ObjectId> {
        let mut checked = Checked {
            inner: from,
            size,
            sha256: *sha256,
            seen: Hasher::new(),
            mismatch: false,
        };
        let written = gix::objs::Write::write_stream(
            &self.repo.objects,
            gix::object::Kind::Blob,
            size,
            &mut checked,
        );
        match written {
            Ok(id) => Ok(id),
            Err(_) if checked.mismatch => Err(Error::integrity(format!(
                "the content of {what} changed while it was read"
            ))),
            Err(e) => Err(Error::git(format!("cannot write {what}"), e)),
        }
    }
}
