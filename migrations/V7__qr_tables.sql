-- V7: qr / redemption service.
--
-- Owns schema `qr`: qr_codes, partner_settlements, qr_redemption_logs
-- (spec section 3.7 and the qr indexes of section 4).
-- Depends on V1 (identity.users, wolo.set_updated_at), V4 (pots.pots) and
-- V6 (packs.packs, packs.partners).

create schema if not exists qr;

-- QR codes for redemption
create table qr.qr_codes (
    id uuid primary key default gen_random_uuid(),
    pot_id uuid not null references pots.pots(id),
    pack_id uuid not null references packs.packs(id),

    -- QR code details
    code varchar(100) not null unique, -- The actual QR code value
    qr_image_url varchar(500), -- Generated QR image

    -- Redemption details
    redeemable_from timestamp with time zone not null, -- Birthday date
    expires_at timestamp with time zone not null, -- Based on pack validity

    -- Status tracking
    status varchar(20) default 'issued', -- 'issued', 'redeemed', 'expired', 'cancelled'

    -- Redemption tracking
    redeemed_at timestamp with time zone,
    redeemed_by_partner_id uuid references packs.partners(id),
    redeemed_at_venue jsonb, -- Venue details where redeemed
    partner_notes text,

    created_at timestamp with time zone default now(),

    -- The redemption window is non-empty.
    constraint check_valid_redemption_period check (expires_at > redeemable_from),

    -- Beyond the spec: exactly the values documented for status.
    constraint check_qr_codes_status check (
        status in ('issued', 'redeemed', 'expired', 'cancelled')
    )
);

-- Partner settlements and payments
create table qr.partner_settlements (
    id uuid primary key default gen_random_uuid(),
    partner_id uuid not null references packs.partners(id),

    -- Settlement period
    period_start date not null,
    period_end date not null,

    -- Financial details
    total_redemptions_count integer default 0,
    total_revenue_cfa integer default 0,
    partner_share_cfa integer default 0,
    wolo_commission_cfa integer default 0,

    -- Status
    status varchar(20) default 'pending', -- 'pending', 'approved', 'paid', 'disputed'

    -- Payment tracking
    approved_by_user_id uuid references identity.users(id),
    approved_at timestamp with time zone,
    payment_reference varchar(100),
    paid_at timestamp with time zone,

    -- Supporting documentation
    invoice_url varchar(500),
    receipt_url varchar(500),

    created_at timestamp with time zone default now(),
    updated_at timestamp with time zone default now(),

    -- One settlement per partner and period; also serves lookups by partner_id.
    unique (partner_id, period_start, period_end)
);

-- QR redemption audit trail (one row per scan attempt, successful or not)
create table qr.qr_redemption_logs (
    id uuid primary key default gen_random_uuid(),
    qr_code_id uuid not null references qr.qr_codes(id),

    -- Redemption attempt details
    partner_user_id uuid references identity.users(id), -- Partner admin who scanned
    attempt_timestamp timestamp with time zone default now(),

    -- Validation result
    validation_result varchar(20) not null, -- 'success', 'expired', 'already_used', 'invalid'
    error_message text,

    -- Context
    ip_address inet,
    user_agent text,
    venue_context jsonb,

    created_at timestamp with time zone default now(),

    -- Beyond the spec: the four values the spec documents plus the two the
    -- product also logs: 'not_yet_valid' (scanned before redeemable_from) and
    -- 'wrong_partner' (scanned by a partner the pack is not valid at).
    constraint check_qr_redemption_logs_validation_result check (
        validation_result in ('success', 'expired', 'already_used', 'invalid',
                              'not_yet_valid', 'wrong_partner')
    )
);

-- Indexes from spec section 4.
create index idx_qr_codes_code on qr.qr_codes(code);
create index idx_qr_codes_pot_id on qr.qr_codes(pot_id);
create index idx_qr_codes_status on qr.qr_codes(status);
create index idx_qr_codes_expires_at on qr.qr_codes(expires_at);

-- Beyond the spec: foreign keys the product queries by (redemption history of
-- a code, codes of a pack, redemptions at a partner for settlements).
create index idx_qr_codes_pack_id on qr.qr_codes(pack_id);
create index idx_qr_codes_redeemed_by_partner_id on qr.qr_codes(redeemed_by_partner_id) where redeemed_by_partner_id is not null;
create index idx_qr_redemption_logs_qr_code_id on qr.qr_redemption_logs(qr_code_id);

-- Keep updated_at current.
create trigger set_updated_at
    before update on qr.partner_settlements
    for each row execute function wolo.set_updated_at();
