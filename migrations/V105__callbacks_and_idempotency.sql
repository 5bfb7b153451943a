-- V105: idempotency keys answer only the same request of the same caller; delivery
-- receipts are remembered so a replay changes nothing (issue 13, items 7 and 13).
--
-- donations.donations (beyond the spec):
--   idempotency_scope         whose key it is: 'user:<uuid>' for a signed-in donor,
--                             'anon:<client ip>' for an anonymous one (docs/donations.md)
--   idempotency_request_hash  SHA-256 (hex) of the canonical checkout request first sent
--                             with the key: the same key with another request is refused (422)
--   unique (idempotency_scope, idempotency_key) replaces unique (idempotency_key): two
--   callers using the same key get two independent donations.
-- notifications.receipt_replays: one row per signed receipt request accepted (its signature),
--   kept for a day (the signature's window is five minutes), so a replay answers 200 with
--   nothing applied.

alter table donations.donations
    add column idempotency_scope varchar(100),
    add column idempotency_request_hash char(64);

-- Keys stored before V105 belong to the donor who sent them.
update donations.donations
   set idempotency_scope = case
           when donor_user_id is not null then 'user:' || donor_user_id::text
           else 'anon:' || coalesce(host(ip_address), '')
       end
 where idempotency_key is not null;

alter table donations.donations
    drop constraint uq_donations_idempotency_key,
    add constraint uq_donations_idempotency unique (idempotency_scope, idempotency_key),
    add constraint check_donations_idempotency_scope
        check ((idempotency_key is null) = (idempotency_scope is null)),
    add constraint check_donations_idempotency_request_hash
        check (idempotency_request_hash ~ '^[0-9a-f]{64}$');

comment on column donations.donations.idempotency_key is
    'Idempotency-Key header of POST /donations/checkout, unique per idempotency_scope: the same caller, key and request always answer the same donation.';
comment on column donations.donations.idempotency_scope is
    'Whose Idempotency-Key this is: user:<uuid> (signed-in donor) or anon:<client ip> (anonymous donor).';
comment on column donations.donations.idempotency_request_hash is
    'SHA-256 (hex) of the canonical checkout request first sent with the key; another request with the same key is refused (422).';

create table notifications.receipt_replays (
    signature char(64) primary key,
    provider varchar(20) not null,
    received_at timestamp with time zone not null default now()
);

create index idx_receipt_replays_received_at on notifications.receipt_replays (received_at);

comment on table notifications.receipt_replays is
    'Signed delivery receipt requests already accepted (HMAC hex of t, path and body), kept a day: a replay inside the five-minute window answers 200 and applies nothing. Written by the notifications service only.';

-- No API role is granted anything on it (no grant: REST callers cannot read or write it).
