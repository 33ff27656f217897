-- hookd's schema for a PostgreSQL store shared by several processes.

-- +goose Up

-- One row per open store (a process): its lease on the jobs it holds.
-- Rows are expired, not deleted, so a holder id never goes unknown.
CREATE TABLE processes (
	id          text PRIMARY KEY,
	node        text NOT NULL,
	started     timestamptz NOT NULL DEFAULT now(),
	lease_until timestamptz NOT NULL
);

CREATE SEQUENCE event_ids;
-- Job ids are handed out in blocks of 100 per process.
CREATE SEQUENCE job_ids INCREMENT BY 100;

CREATE TABLE events (
	id          bigint PRIMARY KEY,
	source      text NOT NULL,
	delivery_id text NOT NULL,
	event       text NOT NULL,
	received_at timestamptz NOT NULL,
	status      text NOT NULL,
	rules       text[] NOT NULL DEFAULT '{}',
	body        bytea,
	answer      json,
	doc         json NOT NULL, -- the event without its body and answer
	UNIQUE (source, delivery_id)
);
CREATE INDEX events_received ON events (received_at);

CREATE TABLE jobs (
	id       bigint PRIMARY KEY,
	seq      bigint GENERATED ALWAYS AS IDENTITY UNIQUE, -- arrival order across processes
	event_id bigint NOT NULL REFERENCES events ON DELETE CASCADE,
	rule     text NOT NULL,
	lane     text NOT NULL DEFAULT '',
	latest   boolean NOT NULL DEFAULT false,
	state    text NOT NULL,
	open     boolean GENERATED ALWAYS AS (state NOT IN ('done', 'failed', 'superseded', 'cancelled')) STORED,
	next_at  timestamptz,
	holder   text,
	created  timestamptz NOT NULL,
	updated  timestamptz NOT NULL,
	data     json NOT NULL
);

CREATE INDEX jobs_event ON jobs (event_id);
CREATE INDEX jobs_open ON jobs (seq) WHERE open;
CREATE INDEX jobs_lane ON jobs (lane, seq) WHERE open AND lane <> '';
CREATE INDEX jobs_next ON jobs (next_at) WHERE open AND next_at IS NOT NULL;
CREATE INDEX jobs_failed ON jobs (id) WHERE state = 'failed';

-- +goose Down
DROP TABLE jobs;
DROP TABLE events;
DROP SEQUENCE job_ids;
DROP SEQUENCE event_ids;
DROP TABLE processes;
