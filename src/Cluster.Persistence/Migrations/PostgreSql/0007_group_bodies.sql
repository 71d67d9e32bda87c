-- Group message bodies, stored once per group send however many devices receive it (issue 17). Each device's inbox
-- row of a group message holds its envelope without the content (body_at says where the content goes) and refers to
-- its body; reading a row splices the body back in, so a device receives the same envelope as before.
--
-- id          the body id, derived like the copies' envelope ids, so a retried send stores it once
-- expires_at  Unix ms; never earlier than any row that refers to the body (the expiry sweep deletes it then)
-- sealed      false while the send that stored it is fanning out (kept whatever its rows do); true once every copy
--             is stored: from then on the body is deleted as soon as no inbox row refers to it
-- content     the ciphertext as the sender uploaded it (raw bytes; the envelope carries it base64-encoded)

CREATE TABLE group_bodies
(
  id uuid NOT NULL,
  expires_at bigint NOT NULL,
  sealed boolean NOT NULL,
  content bytea NOT NULL,
  CONSTRAINT group_bodies_pkey PRIMARY KEY (id)
);

-- End-to-end encrypted: it does not compress.
ALTER TABLE group_bodies ALTER COLUMN content SET STORAGE EXTERNAL;

-- The expiry sweep.
CREATE INDEX group_bodies_expires_at ON group_bodies (expires_at);

-- body_id  the group_bodies row this envelope's content is, or NULL (a direct envelope, stored whole)
-- body_at  where in envelope the base64 content goes (a byte offset), with body_id
ALTER TABLE inbox ADD COLUMN body_id uuid;
ALTER TABLE inbox ADD COLUMN body_at integer;

-- "Does any row still refer to this body?" after an ack, a drop, a purge or an expiry.
CREATE INDEX inbox_body_id ON inbox (body_id) WHERE body_id IS NOT NULL;
