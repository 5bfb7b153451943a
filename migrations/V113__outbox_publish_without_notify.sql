-- V113: publishing an event no longer sends NOTIFY (issue #16).
--
-- PostgreSQL serialises the commits of every transaction that ran NOTIFY: at commit each takes
-- the notification queue's lock (an AccessExclusiveLock on object 0 of pg_database) and holds
-- it through its WAL flush, so commits that publish an event queue behind one another instead
-- of sharing a flush. Measured here with pgbench, 16 clients: a one-row INSERT ran at 12 900
-- tps, the same INSERT followed by pg_notify in one transaction at 2 900 tps, 11 to 14 of the
-- 16 backends waiting on `Lock: object` (docs/benchmarks.md). Every write that publishes an
-- event (checkouts, webhooks, redemptions, invitations, sign-ins) paid it.
--
-- Consumers now learn of new events from a watcher in each process that reads the outbox's
-- highest id every 20 ms (shared/platform/src/outbox.rs, `Watcher`), one cheap index lookup,
-- and poll as before as a fallback. What an event is and when it is readable do not change:
-- it exists if and only if its transaction committed, and consumers read it in (txid, id)
-- order once every older transaction has ended (V35).
create or replace function wolo.publish_event(p_topic text, p_payload jsonb, p_source text default null)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
    new_id bigint;
begin
    insert into wolo.outbox (topic, payload, source)
    values (p_topic, p_payload, p_source)
    returning id into new_id;
    return new_id;
end;
$$;

comment on function wolo.publish_event(text, jsonb, text) is
    'Appends an event to wolo.outbox in the caller''s transaction (no NOTIFY: consumers watch the outbox, V113).';
