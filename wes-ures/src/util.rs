//! Small I/O helpers.

use std::io::{self, Read};

/// Reads until `buf` is full or the reader is at its end; returns the bytes read. Only a
/// short count at the end of the data is possible, so a chunk boundary never depends on how
/// the reader splits its output.
pub(crate) fn read_full(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Chunks hashed per batch by the stores: 8 chunks, 2 MiB. Memory use per put or read is one
/// batch, whatever the size of the content.
pub(crate) const BATCH_CHUNKS: usize = 8;

/// Threads used for hashing: the machine's parallelism, capped at the batch size.
fn hash_threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(BATCH_CHUNKS)
    })
}

/// The digest of each chunk, computed on up to [`hash_threads`] threads while `io` runs on
/// this one (e.g. writing the same chunks to a file). SHA3 is the bottleneck of every put and
/// verified read; this spreads it over the cores and overlaps it with the I/O.
pub(crate) fn digests_while<R>(
    chunks: &[&[u8]],
    io: impl FnOnce() -> R,
) -> (Vec<wes_core::Hash>, R) {
    let threads = hash_threads().min(chunks.len());
    if threads <= 1 {
        let r = io();
        let digests = chunks
            .iter()
            .map(|c| crate::content::chunk_digest(c))
            .collect();
        return (digests, r);
    }
    let per_thread = chunks.len().div_ceil(threads);
    std::thread::scope(|s| {
        let workers: Vec<_> = chunks
            .chunks(per_thread)
            .map(|group| {
                s.spawn(move || {
                    group
                        .iter()
                        .map(|c| crate::content::chunk_digest(c))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let r = io();
        let mut digests = Vec::with_capacity(chunks.len());
        for worker in workers {
            match worker.join() {
                Ok(group) => digests.extend(group),
                // Hashing does not panic; if it ever did, surface it unchanged.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        (digests, r)
    })
}
