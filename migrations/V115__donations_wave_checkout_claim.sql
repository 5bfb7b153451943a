-- V115: a checkout waits on Wave without holding a connection or a row lock (issue #16).
--
-- Until now step (2) of `POST /donations/checkout` locked the donation row `for update` and
-- called Wave inside that transaction, so a slow Wave pinned one pooled connection and one row
-- lock per checkout (ten slow checkouts emptied the donations pool). Now a request claims the
-- donation's Wave call with one short conditional UPDATE, commits, calls Wave with no
-- connection held, and stores the session with another conditional UPDATE. The claim is a
-- lease: other requests for the same donation (same Idempotency-Key) see it and wait for its
-- outcome instead of creating a second session; if the claimer dies, the lease runs out and
-- the next request takes over (search by client_reference first, so never two sessions).
--
--   wave_claim_id     the claiming request (random); only it stores or fails the donation
--   wave_claim_until  when the claim lapses (twice the Wave timeout and a margin after it was
--                     taken); null when nobody is calling Wave for this donation

alter table donations.donations
    add column wave_claim_id uuid,
    add column wave_claim_until timestamp with time zone;

comment on column donations.donations.wave_claim_id is
    'The checkout request calling Wave for this donation now (V115); null when none.';
comment on column donations.donations.wave_claim_until is
    'When the Wave call claim of wave_claim_id lapses (V115).';
