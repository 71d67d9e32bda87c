-- Orleans' ADO.NET providers on PostgreSQL: clustering, grain state and reminders.
--
-- The providers run only the statements stored in OrleansQuery. What they rely on is the
-- query key, the parameter names they bind and the result column names they read (quoted
-- below so that they keep their case); the tables behind the queries are ours.
--
-- Every query text is a single statement, so it is atomic on its own; none contains a
-- transaction statement. Versions are compare-and-swap: an UPDATE ... WHERE version = @Version
-- locks the row, and a concurrent writer re-checks the condition after the first one commits.

-- Orleans reads this table as "SELECT QueryKey, QueryText FROM OrleansQuery", which
-- PostgreSQL folds to lower case.
CREATE TABLE orleansquery
(
  querykey text NOT NULL PRIMARY KEY,
  querytext text NOT NULL
);

-- Clustering ------------------------------------------------------------------------------

CREATE TABLE orleans_membership_version
(
  deployment_id text NOT NULL PRIMARY KEY,
  version integer NOT NULL DEFAULT 0,
  changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orleans_membership
(
  deployment_id text NOT NULL REFERENCES orleans_membership_version (deployment_id) ON DELETE CASCADE,
  address text NOT NULL,
  port integer NOT NULL,
  generation integer NOT NULL,
  silo_name text NOT NULL,
  host_name text NOT NULL,
  status integer NOT NULL,
  proxy_port integer NOT NULL,
  suspect_times text,
  start_time timestamptz NOT NULL,
  i_am_alive_time timestamptz NOT NULL,
  PRIMARY KEY (deployment_id, address, port, generation)
);

-- Inserting a silo or changing its status bumps the table version in the same statement,
-- and only if the version the caller read is still current. The heartbeat does not.
INSERT INTO orleansquery (querykey, querytext) VALUES
('InsertMembershipVersionKey', $q$
WITH inserted AS (
  INSERT INTO orleans_membership_version (deployment_id)
  VALUES (@DeploymentId)
  ON CONFLICT (deployment_id) DO NOTHING
  RETURNING 1
)
SELECT count(*)::integer AS "Inserted" FROM inserted;
$q$),

('InsertMembershipKey', $q$
WITH bumped AS (
  UPDATE orleans_membership_version
  SET version = version + 1, changed_at = now()
  WHERE deployment_id = @DeploymentId AND version = @Version
    AND NOT EXISTS (
      SELECT 1 FROM orleans_membership
      WHERE deployment_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation)
  RETURNING deployment_id
), inserted AS (
  INSERT INTO orleans_membership
    (deployment_id, address, port, generation, silo_name, host_name, status, proxy_port, start_time, i_am_alive_time)
  SELECT
    deployment_id, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime
  FROM bumped
  RETURNING 1
)
SELECT count(*)::integer AS "Inserted" FROM inserted;
$q$),

('UpdateMembershipKey', $q$
WITH bumped AS (
  UPDATE orleans_membership_version
  SET version = version + 1, changed_at = now()
  WHERE deployment_id = @DeploymentId AND version = @Version
    AND EXISTS (
      SELECT 1 FROM orleans_membership
      WHERE deployment_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation)
  RETURNING deployment_id
), updated AS (
  UPDATE orleans_membership AS m
  SET status = @Status, suspect_times = @SuspectTimes, i_am_alive_time = @IAmAliveTime
  FROM bumped
  WHERE m.deployment_id = bumped.deployment_id
    AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
  RETURNING 1
)
SELECT count(*)::integer AS "Updated" FROM updated;
$q$),

('UpdateIAmAlivetimeKey', $q$
UPDATE orleans_membership
SET i_am_alive_time = @IAmAliveTime
WHERE deployment_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation;
$q$),

('MembershipReadRowKey', $q$
SELECT
  v.version AS "Version",
  m.address AS "Address", m.port AS "Port", m.generation AS "Generation",
  m.silo_name AS "SiloName", m.host_name AS "HostName", m.status AS "Status", m.proxy_port AS "ProxyPort",
  m.suspect_times AS "SuspectTimes", m.start_time AS "StartTime", m.i_am_alive_time AS "IAmAliveTime"
FROM orleans_membership_version AS v
LEFT JOIN orleans_membership AS m
  ON m.deployment_id = v.deployment_id
  AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
WHERE v.deployment_id = @DeploymentId;
$q$),

('MembershipReadAllKey', $q$
SELECT
  v.version AS "Version",
  m.address AS "Address", m.port AS "Port", m.generation AS "Generation",
  m.silo_name AS "SiloName", m.host_name AS "HostName", m.status AS "Status", m.proxy_port AS "ProxyPort",
  m.suspect_times AS "SuspectTimes", m.start_time AS "StartTime", m.i_am_alive_time AS "IAmAliveTime"
FROM orleans_membership_version AS v
LEFT JOIN orleans_membership AS m ON m.deployment_id = v.deployment_id
WHERE v.deployment_id = @DeploymentId;
$q$),

('GatewaysQueryKey', $q$
SELECT address AS "Address", proxy_port AS "ProxyPort", generation AS "Generation"
FROM orleans_membership
WHERE deployment_id = @DeploymentId AND status = @Status AND proxy_port > 0;
$q$),

-- The silo rows go with the version row (ON DELETE CASCADE).
('DeleteMembershipTableEntriesKey', $q$
DELETE FROM orleans_membership_version WHERE deployment_id = @DeploymentId;
$q$),

-- Status 3 is SiloStatus.Active: every other silo that stopped heartbeating is defunct.
('CleanupDefunctSiloEntriesKey', $q$
DELETE FROM orleans_membership
WHERE deployment_id = @DeploymentId AND i_am_alive_time < @IAmAliveTime AND status <> 3;
$q$);

-- Grain state -----------------------------------------------------------------------------

-- A grain's state is found by the two hashes Orleans computes (the narrow index) and then
-- told apart from hash collisions by the full key. "version" is the ETag: a write must
-- name the version it read, and a write that does not match returns no row, which Orleans
-- turns into an InconsistentStateException.
CREATE TABLE orleans_grain_state
(
  service_id text NOT NULL,
  grain_type_hash integer NOT NULL,
  grain_id_hash integer NOT NULL,
  grain_type text NOT NULL,
  grain_id_n0 bigint NOT NULL,
  grain_id_n1 bigint NOT NULL,
  grain_id_extension text,
  payload bytea,
  version integer NOT NULL,
  modified_at timestamptz NOT NULL
);

CREATE INDEX orleans_grain_state_by_hash ON orleans_grain_state (grain_id_hash, grain_type_hash);

-- Returns the new version, or NULL when the caller's version is stale.
-- A first write (no version read) takes a transaction-scoped advisory lock on the grain's
-- hashes, so that two activations of one grain (a split brain) cannot both insert: the
-- second one's NOT EXISTS runs after the first one committed.
CREATE FUNCTION orleans_write_grain_state(
  p_service_id text,
  p_grain_type_hash integer,
  p_grain_id_hash integer,
  p_grain_type text,
  p_grain_id_n0 bigint,
  p_grain_id_n1 bigint,
  p_grain_id_extension text,
  p_expected_version integer,
  p_payload bytea)
RETURNS integer
LANGUAGE plpgsql
AS $fn$
DECLARE
  new_version integer;
BEGIN
  IF p_expected_version IS NOT NULL THEN
    UPDATE orleans_grain_state
    SET payload = p_payload, version = version + 1, modified_at = now()
    WHERE grain_id_hash = p_grain_id_hash AND grain_type_hash = p_grain_type_hash
      AND service_id = p_service_id AND grain_type = p_grain_type
      AND grain_id_n0 = p_grain_id_n0 AND grain_id_n1 = p_grain_id_n1
      AND grain_id_extension IS NOT DISTINCT FROM p_grain_id_extension
      AND version = p_expected_version
    RETURNING version INTO new_version;
  ELSE
    PERFORM pg_advisory_xact_lock(p_grain_id_hash, p_grain_type_hash);
    INSERT INTO orleans_grain_state
      (service_id, grain_type_hash, grain_id_hash, grain_type, grain_id_n0, grain_id_n1, grain_id_extension,
       payload, version, modified_at)
    SELECT
      p_service_id, p_grain_type_hash, p_grain_id_hash, p_grain_type, p_grain_id_n0, p_grain_id_n1,
      p_grain_id_extension, p_payload, 1, now()
    WHERE NOT EXISTS (
      SELECT 1 FROM orleans_grain_state
      WHERE grain_id_hash = p_grain_id_hash AND grain_type_hash = p_grain_type_hash
        AND service_id = p_service_id AND grain_type = p_grain_type
        AND grain_id_n0 = p_grain_id_n0 AND grain_id_n1 = p_grain_id_n1
        AND grain_id_extension IS NOT DISTINCT FROM p_grain_id_extension)
    RETURNING version INTO new_version;
  END IF;
  RETURN new_version;
END;
$fn$;

INSERT INTO orleansquery (querykey, querytext) VALUES
('ReadFromStorageKey', $q$
SELECT payload AS "PayloadBinary", version AS "Version"
FROM orleans_grain_state
WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
  AND service_id = @ServiceId AND grain_type = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND grain_id_extension IS NOT DISTINCT FROM @GrainIdExtensionString;
$q$),

('WriteToStorageKey', $q$
SELECT written AS "NewGrainStateVersion"
FROM orleans_write_grain_state(
  @ServiceId, @GrainTypeHash, @GrainIdHash, @GrainTypeString, @GrainIdN0, @GrainIdN1, @GrainIdExtensionString,
  @GrainStateVersion, @PayloadBinary) AS written
WHERE written IS NOT NULL;
$q$),

-- ClearState keeps the row (and so the version sequence) with no payload.
('ClearStorageKey', $q$
UPDATE orleans_grain_state
SET payload = NULL, version = version + 1, modified_at = now()
WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
  AND service_id = @ServiceId AND grain_type = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND grain_id_extension IS NOT DISTINCT FROM @GrainIdExtensionString
  AND version = @GrainStateVersion
RETURNING version AS "NewGrainStateVersion";
$q$),

-- Used instead of ClearStorageKey when DeleteStateOnClear is set. Orleans expects the
-- deleted version + 1 back, as if the row had been cleared.
('DeleteStorageKey', $q$
DELETE FROM orleans_grain_state
WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
  AND service_id = @ServiceId AND grain_type = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND grain_id_extension IS NOT DISTINCT FROM @GrainIdExtensionString
  AND version = @GrainStateVersion
RETURNING version + 1 AS "NewGrainStateVersion";
$q$);

-- Reminders -------------------------------------------------------------------------------

-- grain_hash is the grain's uniform hash as a signed 32-bit integer; each silo reads the
-- reminders of its own range of the hash ring.
CREATE TABLE orleans_reminder
(
  service_id text NOT NULL,
  grain_id text NOT NULL,
  reminder_name text NOT NULL,
  start_time timestamptz NOT NULL,
  period_ms bigint NOT NULL,
  grain_hash integer NOT NULL,
  version integer NOT NULL,
  PRIMARY KEY (service_id, grain_id, reminder_name)
);

CREATE INDEX orleans_reminder_by_hash ON orleans_reminder (service_id, grain_hash);

INSERT INTO orleansquery (querykey, querytext) VALUES
('UpsertReminderRowKey', $q$
INSERT INTO orleans_reminder AS r (service_id, grain_id, reminder_name, start_time, period_ms, grain_hash, version)
VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 1)
ON CONFLICT (service_id, grain_id, reminder_name) DO UPDATE
SET start_time = excluded.start_time, period_ms = excluded.period_ms, grain_hash = excluded.grain_hash,
  version = r.version + 1
RETURNING r.version AS "Version";
$q$),

('ReadReminderRowKey', $q$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
  period_ms AS "Period", version AS "Version"
FROM orleans_reminder
WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName;
$q$),

('ReadReminderRowsKey', $q$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
  period_ms AS "Period", version AS "Version"
FROM orleans_reminder
WHERE service_id = @ServiceId AND grain_id = @GrainId;
$q$),

-- The range (BeginHash, EndHash] does not wrap around.
('ReadRangeRows1Key', $q$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
  period_ms AS "Period", version AS "Version"
FROM orleans_reminder
WHERE service_id = @ServiceId AND grain_hash > @BeginHash AND grain_hash <= @EndHash;
$q$),

-- The range wraps around the end of the ring: (BeginHash, max] and [min, EndHash].
('ReadRangeRows2Key', $q$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
  period_ms AS "Period", version AS "Version"
FROM orleans_reminder
WHERE service_id = @ServiceId AND (grain_hash > @BeginHash OR grain_hash <= @EndHash);
$q$),

('DeleteReminderRowKey', $q$
WITH deleted AS (
  DELETE FROM orleans_reminder
  WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName AND version = @Version
  RETURNING 1
)
SELECT count(*)::integer AS "Deleted" FROM deleted;
$q$),

('DeleteReminderRowsKey', $q$
DELETE FROM orleans_reminder WHERE service_id = @ServiceId;
$q$);
