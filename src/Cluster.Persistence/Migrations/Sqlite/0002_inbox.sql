-- The per-device inbox: one row per envelope until the device acks it, it expires, or the
-- queue overflows. Written by SqliteInboxStore's single writer, in group commits.
--
-- device      'accountId.deviceId'
-- seq         per-device sequence, assigned by the device's grain; the delivery order
-- id          the envelope id (16-byte uuid); unique per device, so a retried append stores once
-- expires_at  Unix ms after which the envelope is dropped undelivered
-- envelope    the envelope as the device receives it (UTF-8 JSON), opaque here

CREATE TABLE inbox
(
  device TEXT NOT NULL,
  seq INTEGER NOT NULL,
  id BLOB NOT NULL,
  expires_at INTEGER NOT NULL,
  envelope BLOB NOT NULL,
  PRIMARY KEY (device, seq)
) STRICT;

-- Acks and duplicate detection.
CREATE UNIQUE INDEX inbox_device_id ON inbox (device, id);

-- The expiry sweep.
CREATE INDEX inbox_expires_at ON inbox (expires_at);
