-- App state sync (issue 20): per account, a few named collections, each a strictly increasing sequence of opaque,
-- client-encrypted patches plus at most one snapshot. Written by PostgresAppStateStore.
--
-- app_state_collections  one row per (account, collection): the head. Every upload updates it conditionally
--                        (version = n - 1), so two uploads of the same version can never both succeed, on any silo.
--   version              the latest version (0: nothing stored yet)
--   snapshot_version     the version of the snapshot (0: none); patches up to it are deleted with it
--   bytes                what the collection holds: the snapshot's bytes plus those of the patches after it
-- app_state_patches      one row per version; its primary key (account, collection, version) is the second guard
--                        against a fork
-- app_state_snapshots    at most one per collection
--
-- Account deletion (issue 18) must delete the account's rows in all three tables.

CREATE TABLE app_state_collections (
    account_id       text   NOT NULL,
    collection       text   NOT NULL,
    version          bigint NOT NULL,
    snapshot_version bigint NOT NULL DEFAULT 0,
    bytes            bigint NOT NULL,
    PRIMARY KEY (account_id, collection)
);

CREATE TABLE app_state_patches (
    account_id text   NOT NULL,
    collection text   NOT NULL,
    version    bigint NOT NULL,
    data       bytea  NOT NULL,
    PRIMARY KEY (account_id, collection, version)
);

CREATE TABLE app_state_snapshots (
    account_id text   NOT NULL,
    collection text   NOT NULL,
    version    bigint NOT NULL,
    data       bytea  NOT NULL,
    PRIMARY KEY (account_id, collection)
);
