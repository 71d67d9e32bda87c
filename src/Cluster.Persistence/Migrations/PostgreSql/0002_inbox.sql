-- The per-device inbox: one row per envelope until the device acks it, it expires, or the
-- queue overflows. Written by PostgresInboxStore's writer loops, in group commits.
--
-- device      'accountId.deviceId'
-- seq         per-device sequence, assigned by the device's grain; the delivery order
-- id          the envelope id; unique per device, so a retried append stores once
-- expires_at  Unix ms after which the envelope is dropped undelivered
-- envelope    the envelope as the device receives it (UTF-8 JSON), opaque here

CREATE TABLE inbox
(
  device text NOT NULL,
  seq bigint NOT NULL,
  id uuid NOT NULL,
  expires_at bigint NOT NULL,
  envelope bytea NOT NULL,
  CONSTRAINT inbox_pkey PRIMARY KEY (device, seq),
  CONSTRAINT inbox_device_id UNIQUE (device, id)
);

-- The content is end-to-end encrypted, so it does not compress: never try.
ALTER TABLE inbox ALTER COLUMN envelope SET STORAGE EXTERNAL;

-- The expiry sweep.
CREATE INDEX inbox_expires_at ON inbox (expires_at);
