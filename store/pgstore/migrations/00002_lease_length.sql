-- Each process's lease length, so that after the database restarts a live
-- process has a whole lease to renew before its jobs count as abandoned.

-- +goose Up
ALTER TABLE processes ADD COLUMN lease interval NOT NULL DEFAULT interval '30 seconds';

-- +goose Down
ALTER TABLE processes DROP COLUMN lease;
