-- Events arrive in received_at order, so a block-range index finds the
-- old ones the pruner deletes as well as a B-tree did, without a B-tree
-- entry written with every event (the newest pages are summarized by
-- vacuum, not by each insert).

-- +goose Up
CREATE INDEX events_received_brin ON events USING brin (received_at);
DROP INDEX events_received;

-- +goose Down
CREATE INDEX events_received ON events (received_at);
DROP INDEX events_received_brin;
