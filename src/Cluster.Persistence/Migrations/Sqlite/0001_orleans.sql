-- Orleans' ADO.NET providers on SQLite: clustering, grain state and reminders.
--
-- The providers run only the statements stored in OrleansQuery. What they rely on is the
-- query key, the parameter names they bind and the result column names they read; the
-- tables behind the queries are ours.
--
-- Rules for the query texts:
-- * No BEGIN/COMMIT. Orleans opens a pooled connection per query; a text that fails
--   between BEGIN and COMMIT would return that connection to the pool inside a transaction.
--   Each text is therefore one atomic statement, or several statements of which at most
--   one can write for a given set of parameters (the rest only read, e.g. changes()).
-- * Membership versioning is done by triggers, so a row change and its version bump are
--   one statement. SQLite runs one writer at a time, so "WHERE the version still matches"
--   inside that statement is a compare-and-swap.
-- * Times are bound by Microsoft.Data.Sqlite as ISO-8601 text in UTC, which sorts and
--   compares correctly as text.

CREATE TABLE OrleansQuery
(
  QueryKey TEXT NOT NULL PRIMARY KEY,
  QueryText TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- Clustering ------------------------------------------------------------------------------

CREATE TABLE orleans_membership_version
(
  deployment_id TEXT NOT NULL PRIMARY KEY,
  version INTEGER NOT NULL DEFAULT 0,
  changed_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
) STRICT, WITHOUT ROWID;

CREATE TABLE orleans_membership
(
  deployment_id TEXT NOT NULL,
  address TEXT NOT NULL,
  port INTEGER NOT NULL,
  generation INTEGER NOT NULL,
  silo_name TEXT NOT NULL,
  host_name TEXT NOT NULL,
  status INTEGER NOT NULL,
  proxy_port INTEGER NOT NULL,
  suspect_times TEXT,
  start_time TEXT NOT NULL,
  i_am_alive_time TEXT NOT NULL,
  PRIMARY KEY (deployment_id, address, port, generation)
) STRICT, WITHOUT ROWID;

-- A new silo row or a status/suspicion change is a new membership table version.
-- The heartbeat (i_am_alive_time only) is not.
CREATE TRIGGER orleans_membership_inserted AFTER INSERT ON orleans_membership
BEGIN
  UPDATE orleans_membership_version
  SET version = version + 1, changed_at = CURRENT_TIMESTAMP
  WHERE deployment_id = NEW.deployment_id;
END;

CREATE TRIGGER orleans_membership_changed AFTER UPDATE OF status, suspect_times ON orleans_membership
BEGIN
  UPDATE orleans_membership_version
  SET version = version + 1, changed_at = CURRENT_TIMESTAMP
  WHERE deployment_id = NEW.deployment_id;
END;

-- Deleting a deployment's version row takes its silo rows with it, in the same statement.
CREATE TRIGGER orleans_membership_version_deleted BEFORE DELETE ON orleans_membership_version
BEGIN
  DELETE FROM orleans_membership WHERE deployment_id = OLD.deployment_id;
END;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
('InsertMembershipVersionKey', '
INSERT INTO orleans_membership_version (deployment_id)
VALUES (@DeploymentId)
ON CONFLICT (deployment_id) DO NOTHING;
SELECT changes() AS inserted;
'),

('InsertMembershipKey', '
INSERT INTO orleans_membership
  (deployment_id, address, port, generation, silo_name, host_name, status, proxy_port, start_time, i_am_alive_time)
SELECT
  @DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime
WHERE EXISTS
  (SELECT 1 FROM orleans_membership_version WHERE deployment_id = @DeploymentId AND version = @Version)
ON CONFLICT DO NOTHING;
SELECT changes() AS inserted;
'),

('UpdateMembershipKey', '
UPDATE orleans_membership
SET status = @Status, suspect_times = @SuspectTimes, i_am_alive_time = @IAmAliveTime
WHERE deployment_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation
  AND EXISTS
    (SELECT 1 FROM orleans_membership_version WHERE deployment_id = @DeploymentId AND version = @Version);
SELECT changes() AS updated;
'),

('UpdateIAmAlivetimeKey', '
UPDATE orleans_membership
SET i_am_alive_time = @IAmAliveTime
WHERE deployment_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation;
'),

('MembershipReadRowKey', '
SELECT
  v.version AS Version,
  m.address AS Address, m.port AS Port, m.generation AS Generation,
  m.silo_name AS SiloName, m.host_name AS HostName, m.status AS Status, m.proxy_port AS ProxyPort,
  m.suspect_times AS SuspectTimes, m.start_time AS StartTime, m.i_am_alive_time AS IAmAliveTime
FROM orleans_membership_version AS v
LEFT JOIN orleans_membership AS m
  ON m.deployment_id = v.deployment_id
  AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
WHERE v.deployment_id = @DeploymentId;
'),

('MembershipReadAllKey', '
SELECT
  v.version AS Version,
  m.address AS Address, m.port AS Port, m.generation AS Generation,
  m.silo_name AS SiloName, m.host_name AS HostName, m.status AS Status, m.proxy_port AS ProxyPort,
  m.suspect_times AS SuspectTimes, m.start_time AS StartTime, m.i_am_alive_time AS IAmAliveTime
FROM orleans_membership_version AS v
LEFT JOIN orleans_membership AS m ON m.deployment_id = v.deployment_id
WHERE v.deployment_id = @DeploymentId;
'),

('GatewaysQueryKey', '
SELECT address AS Address, proxy_port AS ProxyPort, generation AS Generation
FROM orleans_membership
WHERE deployment_id = @DeploymentId AND status = @Status AND proxy_port > 0;
'),

('DeleteMembershipTableEntriesKey', '
DELETE FROM orleans_membership_version WHERE deployment_id = @DeploymentId;
'),

-- Status 3 is SiloStatus.Active: every other silo that stopped heartbeating is defunct.
('CleanupDefunctSiloEntriesKey', '
DELETE FROM orleans_membership
WHERE deployment_id = @DeploymentId AND i_am_alive_time < @IAmAliveTime AND status <> 3;
');

-- Grain state -----------------------------------------------------------------------------

-- A grain's state is found by the two hashes Orleans computes (the narrow index) and then
-- told apart from hash collisions by the full key. "version" is the ETag: a write must
-- name the version it read, and a write that does not match returns no row, which Orleans
-- turns into an InconsistentStateException.
CREATE TABLE orleans_grain_state
(
  service_id TEXT NOT NULL,
  grain_type_hash INTEGER NOT NULL,
  grain_id_hash INTEGER NOT NULL,
  grain_type TEXT NOT NULL,
  grain_id_n0 INTEGER NOT NULL,
  grain_id_n1 INTEGER NOT NULL,
  grain_id_extension TEXT,
  payload BLOB,
  version INTEGER NOT NULL,
  modified_at TEXT NOT NULL
) STRICT;

CREATE INDEX orleans_grain_state_by_hash ON orleans_grain_state (grain_id_hash, grain_type_hash);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
('ReadFromStorageKey', '
SELECT payload AS PayloadBinary, version AS Version
FROM orleans_grain_state
WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
  AND service_id = @ServiceId AND grain_type = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND grain_id_extension IS @GrainIdExtensionString;
'),

-- Exactly one of the two statements can write: the UPDATE when the grain read a version,
-- the INSERT when it read nothing (and nothing has been written since).
('WriteToStorageKey', '
UPDATE orleans_grain_state
SET payload = @PayloadBinary, version = version + 1, modified_at = CURRENT_TIMESTAMP
WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
  AND service_id = @ServiceId AND grain_type = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND grain_id_extension IS @GrainIdExtensionString
  AND version = @GrainStateVersion
RETURNING version AS NewGrainStateVersion;

INSERT INTO orleans_grain_state
  (service_id, grain_type_hash, grain_id_hash, grain_type, grain_id_n0, grain_id_n1, grain_id_extension,
   payload, version, modified_at)
SELECT
  @ServiceId, @GrainTypeHash, @GrainIdHash, @GrainTypeString, @GrainIdN0, @GrainIdN1, @GrainIdExtensionString,
  @PayloadBinary, 1, CURRENT_TIMESTAMP
WHERE @GrainStateVersion IS NULL
  AND NOT EXISTS
    (SELECT 1 FROM orleans_grain_state
     WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
       AND service_id = @ServiceId AND grain_type = @GrainTypeString
       AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
       AND grain_id_extension IS @GrainIdExtensionString)
RETURNING version AS NewGrainStateVersion;
'),

-- ClearState keeps the row (and so the version sequence) with no payload.
('ClearStorageKey', '
UPDATE orleans_grain_state
SET payload = NULL, version = version + 1, modified_at = CURRENT_TIMESTAMP
WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
  AND service_id = @ServiceId AND grain_type = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND grain_id_extension IS @GrainIdExtensionString
  AND version = @GrainStateVersion
RETURNING version AS NewGrainStateVersion;
'),

-- Used instead of ClearStorageKey when DeleteStateOnClear is set. Orleans expects the
-- deleted version + 1 back, as if the row had been cleared.
('DeleteStorageKey', '
DELETE FROM orleans_grain_state
WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
  AND service_id = @ServiceId AND grain_type = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND grain_id_extension IS @GrainIdExtensionString
  AND version = @GrainStateVersion
RETURNING version + 1 AS NewGrainStateVersion;
');

-- Reminders -------------------------------------------------------------------------------

-- grain_hash is the grain's uniform hash as a signed 32-bit integer; each silo reads the
-- reminders of its own range of the hash ring.
CREATE TABLE orleans_reminder
(
  service_id TEXT NOT NULL,
  grain_id TEXT NOT NULL,
  reminder_name TEXT NOT NULL,
  start_time TEXT NOT NULL,
  period_ms INTEGER NOT NULL,
  grain_hash INTEGER NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (service_id, grain_id, reminder_name)
) STRICT, WITHOUT ROWID;

CREATE INDEX orleans_reminder_by_hash ON orleans_reminder (service_id, grain_hash);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
('UpsertReminderRowKey', '
INSERT INTO orleans_reminder (service_id, grain_id, reminder_name, start_time, period_ms, grain_hash, version)
VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 1)
ON CONFLICT (service_id, grain_id, reminder_name) DO UPDATE
SET start_time = excluded.start_time, period_ms = excluded.period_ms, grain_hash = excluded.grain_hash,
  version = orleans_reminder.version + 1
RETURNING version AS Version;
'),

('ReadReminderRowKey', '
SELECT grain_id AS GrainId, reminder_name AS ReminderName, start_time AS StartTime, period_ms AS Period,
  version AS Version
FROM orleans_reminder
WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName;
'),

('ReadReminderRowsKey', '
SELECT grain_id AS GrainId, reminder_name AS ReminderName, start_time AS StartTime, period_ms AS Period,
  version AS Version
FROM orleans_reminder
WHERE service_id = @ServiceId AND grain_id = @GrainId;
'),

-- The range (BeginHash, EndHash] does not wrap around.
('ReadRangeRows1Key', '
SELECT grain_id AS GrainId, reminder_name AS ReminderName, start_time AS StartTime, period_ms AS Period,
  version AS Version
FROM orleans_reminder
WHERE service_id = @ServiceId AND grain_hash > @BeginHash AND grain_hash <= @EndHash;
'),

-- The range wraps around the end of the ring: (BeginHash, max] and [min, EndHash].
('ReadRangeRows2Key', '
SELECT grain_id AS GrainId, reminder_name AS ReminderName, start_time AS StartTime, period_ms AS Period,
  version AS Version
FROM orleans_reminder
WHERE service_id = @ServiceId AND (grain_hash > @BeginHash OR grain_hash <= @EndHash);
'),

('DeleteReminderRowKey', '
DELETE FROM orleans_reminder
WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName AND version = @Version;
SELECT changes() AS deleted;
'),

('DeleteReminderRowsKey', '
DELETE FROM orleans_reminder WHERE service_id = @ServiceId;
');
