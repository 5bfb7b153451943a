-- V71: qr service — one code per pot, redemption attempts without a known
-- code, settlement carry-over, audited admin changes.
--
-- Depends on V7 (qr tables), V55 (wolo.audit_row_change), V70.
--
-- Beyond the spec:
-- - qr_codes.price_cfa: the pack's effective price when the code was issued
--   (what the partner is paid for at settlement, whatever the pack costs later).
-- - qr_codes.issuance_key (unique): the pot id for codes issued by the qr
--   service, so the service issues at most one code per pot (the spec allows
--   several codes per pot; rows inserted otherwise leave it NULL).
-- - qr.unmatched_scan_logs: scan attempts whose code identifies no QR code
--   (forged, mistyped, unknown): qr_redemption_logs.qr_code_id is NOT NULL in
--   the spec, so those attempts are logged here with the same context.
-- - partner_settlements.carried_in_cfa / payout_cfa / carried_out_cfa and the
--   status 'carried_over' (below the partner's minimum payout: nothing to pay,
--   the balance moves to the next period).

alter table qr.qr_codes add column price_cfa integer check (price_cfa is null or price_cfa >= 0);
comment on column qr.qr_codes.price_cfa is
    'The pack''s effective price (CFA) when the code was issued: the revenue counted at settlement.';

alter table qr.qr_codes add column issuance_key uuid;
alter table qr.qr_codes add constraint uq_qr_codes_issuance_key unique (issuance_key);
comment on column qr.qr_codes.issuance_key is
    'The pot id when the qr service issued this code on pot.funded / pot.closed: at most one such code per pot. NULL for codes inserted otherwise.';

create table qr.unmatched_scan_logs (
    id uuid primary key default gen_random_uuid(),
    code_prefix varchar(12), -- first characters typed/scanned (never the whole input)
    reason varchar(30) not null, -- 'bad_format', 'bad_tag', 'unknown_code'
    partner_user_id uuid references identity.users(id),
    attempt_timestamp timestamp with time zone default now(),
    ip_address inet,
    user_agent text,
    venue_context jsonb,
    created_at timestamp with time zone default now()
);

create index idx_unmatched_scan_logs_partner_user_id on qr.unmatched_scan_logs(partner_user_id);

comment on table qr.unmatched_scan_logs is
    'Scan attempts whose code matches no QR code (forged, mistyped or unknown): the counterpart of qr_redemption_logs for codes that cannot be referenced. Partner staff see their own attempts.';

grant select on qr.unmatched_scan_logs to wolo_partner, wolo_admin;
alter table qr.unmatched_scan_logs enable row level security;
create policy admin_all on qr.unmatched_scan_logs
    for all to wolo_admin using (wolo.is_admin()) with check (wolo.is_admin());
create policy partner_select on qr.unmatched_scan_logs
    for select to wolo_partner
    using (partner_user_id in (select wolo.partner_staff_user_ids()));

alter table qr.partner_settlements
    add column carried_in_cfa integer not null default 0 check (carried_in_cfa >= 0),
    add column payout_cfa integer not null default 0 check (payout_cfa >= 0),
    add column carried_out_cfa integer not null default 0 check (carried_out_cfa >= 0);

comment on column qr.partner_settlements.carried_in_cfa is
    'Partner share left unpaid by earlier periods (below the minimum payout), added to this one.';
comment on column qr.partner_settlements.payout_cfa is
    'What is paid for this settlement: partner_share_cfa + carried_in_cfa when it reaches the minimum payout, else 0.';
comment on column qr.partner_settlements.carried_out_cfa is
    'What moves on to the next period (partner_share_cfa + carried_in_cfa - payout_cfa).';

-- Every admin change made through the REST layer is audited.
create trigger audit_row_change
    after insert or update or delete on qr.partner_settlements
    for each row execute function wolo.audit_row_change();
create trigger audit_row_change
    after insert or update or delete on qr.qr_codes
    for each row execute function wolo.audit_row_change('code', 'qr_image_url');
