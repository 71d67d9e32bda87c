-- Blob ownership and quota: the account that uploaded each blob, and what a running upload holds of its quota.
-- Written by PostgresBlobStore; rows from before this migration have no owner and count against no one.
--
-- blobs.owner     the uploading account ('+1555…'); NULL for blobs stored before ownership existed
-- blobs.reserved  bytes an upload holds of its owner's quota while it runs (its Content-Length, or what is left);
--                 once the blob is complete its length counts instead

ALTER TABLE blobs ADD COLUMN owner text;

ALTER TABLE blobs ADD COLUMN reserved bigint;

-- An account's usage: its unexpired blobs.
CREATE INDEX blobs_owner ON blobs (owner, expires_at);
