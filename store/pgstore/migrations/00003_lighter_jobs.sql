-- Intake writes a job with every event it accepts: the jobs' foreign key
-- to events cost each insert a lookup and a lock of its event's row, and
-- the unique index on seq a fourth index entry (seq is an identity column,
-- unique by construction). The pruner deletes an event's jobs with it.

-- +goose Up
ALTER TABLE jobs DROP CONSTRAINT jobs_event_id_fkey;
ALTER TABLE jobs DROP CONSTRAINT jobs_seq_key;

-- +goose Down
ALTER TABLE jobs ADD CONSTRAINT jobs_seq_key UNIQUE (seq);
DELETE FROM jobs j WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = j.event_id);
ALTER TABLE jobs ADD CONSTRAINT jobs_event_id_fkey FOREIGN KEY (event_id) REFERENCES events ON DELETE CASCADE;
