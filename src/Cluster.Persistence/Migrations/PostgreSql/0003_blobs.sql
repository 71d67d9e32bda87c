-- Blobs (encrypted history bundles): a row per blob, its content in chunks of 1 MiB, each chunk committed on its
-- own, so no transaction stays open while a client uploads. Written by PostgresBlobStore.
--
-- blobs.id            the blob id (base64url of 16 random bytes)
-- blobs.expires_at    Unix ms; while the upload runs, when it counts as abandoned; then when the blob expires
-- blobs.length        total bytes; NULL while the upload runs (the blob is not readable until set)
-- blobs.chunk_count   how many chunks; NULL while the upload runs
-- blob_chunks.seq     0, 1, ... in content order

CREATE TABLE blobs
(
  id text NOT NULL,
  expires_at bigint NOT NULL,
  length bigint,
  chunk_count integer,
  CONSTRAINT blobs_pkey PRIMARY KEY (id)
);

-- The expiry sweep.
CREATE INDEX blobs_expires_at ON blobs (expires_at);

-- The foreign key keeps a chunk from landing on a blob that the sweep removed mid-upload; the cascade removes a
-- blob's chunks with it.
CREATE TABLE blob_chunks
(
  blob_id text NOT NULL,
  seq integer NOT NULL,
  data bytea NOT NULL,
  CONSTRAINT blob_chunks_pkey PRIMARY KEY (blob_id, seq),
  CONSTRAINT blob_chunks_blob_fkey FOREIGN KEY (blob_id) REFERENCES blobs (id) ON DELETE CASCADE
);

-- The content is end-to-end encrypted, so it does not compress: never try.
ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
