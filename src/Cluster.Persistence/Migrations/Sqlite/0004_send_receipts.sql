-- Idempotency receipts: one row per successful send that carried a clientMessageId, so that a retry within the
-- window (Messages:IdempotencyWindow, 24 h) is answered like the first call and stores nothing, whatever happened
-- to the silo in between. Written in the inbox's group commits (SqliteInboxStore), checked before fan-out.
--
-- sender             the sending device, 'accountId.deviceId'
-- destination        the destination account
-- client_message_id  the client's key (1 to 128 characters)
-- needs_sync         the first answer's needsSync (0 or 1): what a retry answers
-- expires_at         Unix ms after which the receipt no longer counts; deleted by the expiry sweep

CREATE TABLE send_receipts
(
  sender TEXT NOT NULL,
  destination TEXT NOT NULL,
  client_message_id TEXT NOT NULL,
  needs_sync INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (sender, destination, client_message_id)
) STRICT;

-- The expiry sweep.
CREATE INDEX send_receipts_expires_at ON send_receipts (expires_at);
