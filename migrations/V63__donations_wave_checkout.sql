-- V63: donations through Wave Checkout (issue 6).
--
-- Beyond the spec, on donations.donations:
--   donor_email              the donor's e-mail, if given at checkout
--   idempotency_key          the checkout's Idempotency-Key header: one key = one donation
--   wave_session_id          the Wave checkout session (cos-...), one per donation
--   wave_session_expires_at  the session's when_expires; the expiry job fails pending donations after it
--   failure_reason           why the donation failed (Wave error at checkout, session expired)
--   last_payment_error       the latest failed payment attempt reported by Wave ({code, message})
--   payment_attempts_failed  failed payment attempts reported by Wave (the donor may retry)
--   risk_reasons             the explanation of risk_score ([{rule, points, detail}])
-- On donations.refunds:
--   unique (donation_id)     one refund per donation (a failed one is retried on the same row)
--   error_message            Wave's answer when the refund call failed
-- Indexes for the expiry job and the risk velocity rules.

alter table donations.donations
    add column donor_email varchar(255),
    add column idempotency_key varchar(255),
    add column wave_session_id varchar(100),
    add column wave_session_expires_at timestamp with time zone,
    add column failure_reason text,
    add column last_payment_error jsonb,
    add column payment_attempts_failed integer not null default 0,
    add column risk_reasons jsonb not null default '[]'::jsonb,
    add constraint uq_donations_idempotency_key unique (idempotency_key),
    add constraint uq_donations_wave_session_id unique (wave_session_id),
    add constraint check_donations_risk_score check (risk_score between 0 and 100);

comment on column donations.donations.donor_email is 'Donor e-mail given at checkout (optional).';
comment on column donations.donations.idempotency_key is
    'Idempotency-Key header of POST /donations/checkout: the same key always answers the same donation.';
comment on column donations.donations.wave_session_id is 'Wave checkout session id (cos-...).';
comment on column donations.donations.wave_session_expires_at is
    'Wave session when_expires: a donation still pending after it is failed by the expiry job.';
comment on column donations.donations.failure_reason is 'Why the donation failed (wave_error, session_expired, ...).';
comment on column donations.donations.last_payment_error is 'Latest failed payment attempt reported by Wave: {code, message}.';
comment on column donations.donations.payment_attempts_failed is 'Failed payment attempts reported by Wave webhooks.';
comment on column donations.donations.risk_reasons is
    'Explanation of risk_score: [{rule, points, detail}] (docs/donations.md).';

create index idx_donations_pending_expiry on donations.donations (wave_session_expires_at)
    where status = 'pending';
create index idx_donations_phone_created on donations.donations (donor_phone, created_at)
    where donor_phone is not null;
create index idx_donations_ip_created on donations.donations (ip_address, created_at)
    where ip_address is not null;
create index idx_donations_confirmed_at on donations.donations (confirmed_at)
    where confirmed_at is not null;

alter table donations.refunds
    add column error_message text,
    add constraint uq_refunds_donation unique (donation_id),
    add constraint check_refunds_status check (
        wave_refund_status in ('pending', 'processing', 'completed', 'failed')
    ),
    add constraint check_refunds_reason check (
        reason in ('user_request', 'fraud', 'failed_pot', 'admin_action')
    );

comment on column donations.refunds.error_message is 'Wave''s answer when the refund call failed.';

comment on table donations.wave_webhook_events is
    'Every signed Wave webhook delivery, once per Wave event id; processing_error says why one changed nothing.';
comment on table donations.refunds is
    'Refunds of succeeded donations (admin action or a failed pot), one per donation, through Wave''s refund call.';
comment on table donations.donation_analytics is
    'Daily, weekly and monthly donation aggregates with the regional breakdown (job donation_analytics_once).';

-- Admins manage refunds through the REST layer too: audit their writes.
create trigger audit_row_change
    after insert or update or delete on donations.refunds
    for each row execute function wolo.audit_row_change();
