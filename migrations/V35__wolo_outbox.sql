-- V35: the transactional outbox shared by every service (schema `wolo`).
--
-- A service appends an event in the same transaction as the change it describes
-- (`wolo.publish_event(topic, payload)`); consumers in other services read events
-- in commit-safe order, each with its own cursor, and apply each at most once
-- (shared/platform/src/outbox.rs).
--
-- Commit-safe order: ids come from a sequence, so a transaction can take a smaller
-- id than another yet commit later. Each event records the id of the transaction
-- that wrote it (`txid`); a consumer only reads events whose transaction is older
-- than the oldest transaction still running (the snapshot's xmin), in (txid, id)
-- order. No event can appear later behind a consumer's cursor.

create table wolo.outbox (
    id bigserial primary key,
    txid bigint not null default (pg_current_xact_id()::text::bigint),
    topic varchar(100) not null,
    payload jsonb not null,
    source varchar(50),
    created_at timestamp with time zone not null default now()
);

create index idx_outbox_txid_id on wolo.outbox (txid, id);

comment on table wolo.outbox is
    'Events appended by services in the same transaction as their change; read by consumers in (txid, id) order.';

-- One row per consumer: how far it has applied.
create table wolo.outbox_cursors (
    consumer varchar(100) primary key,
    last_txid bigint not null default 0,
    last_id bigint not null default 0,
    updated_at timestamp with time zone default now()
);

-- Failed attempts per consumer and event; a row with parked_at set is a poison event the
-- consumer gave up on (kept with its error for an operator to look at).
create table wolo.outbox_failures (
    consumer varchar(100) not null,
    event_id bigint not null references wolo.outbox(id) on delete cascade,
    attempts integer not null default 0,
    last_error text,
    next_attempt_at timestamp with time zone,
    parked_at timestamp with time zone,
    updated_at timestamp with time zone default now(),
    primary key (consumer, event_id)
);

create index idx_outbox_failures_parked on wolo.outbox_failures (consumer) where parked_at is not null;

-- Nobody reads or writes these through the API; services publish through the function.
alter table wolo.outbox enable row level security;
alter table wolo.outbox_cursors enable row level security;
alter table wolo.outbox_failures enable row level security;

-- Appends an event and wakes the consumers (the notification is delivered at commit).
-- security definer: a request transaction running as an API role may publish, and do
-- nothing else with the outbox.
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
    perform pg_catalog.pg_notify('wolo_outbox', p_topic);
    return new_id;
end;
$$;

revoke all on function wolo.publish_event(text, jsonb, text) from public;
grant execute on function wolo.publish_event(text, jsonb, text) to wolo_anon, wolo_user, wolo_partner, wolo_admin;
