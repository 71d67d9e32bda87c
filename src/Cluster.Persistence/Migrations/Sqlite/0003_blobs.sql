-- Blobs (encrypted history bundles): a row per blob, its content in chunks of 1 MiB, each chunk committed on its
-- own so that an upload never holds the write lock while the client is slow. Written by SqliteBlobStore.
--
-- blobs.id            the blob id (base64url of 16 random bytes)
-- blobs.expires_at    Unix ms; while the upload runs, when it counts as abandoned; then when the blob expires
-- blobs.length        total bytes; NULL while the upload runs (the blob is not readable until set)
-- blobs.chunk_count   how many chunks; NULL while the upload runs
-- blob_chunks.seq     0, 1, ... in content order
--
-- No foreign key: SQLite enforces them only with PRAGMA foreign_keys on every connection. The store inserts a chunk
-- only while its pending row exists, and deletes chunks with their row.

CREATE TABLE blobs
(
  id TEXT NOT NULL PRIMARY KEY,
  expires_at INTEGER NOT NULL,
  length INTEGER,
  chunk_count INTEGER
) STRICT;

-- The expiry sweep.
CREATE INDEX blobs_expires_at ON blobs (expires_at);

CREATE TABLE blob_chunks
(
  blob_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (blob_id, seq)
) STRICT;
