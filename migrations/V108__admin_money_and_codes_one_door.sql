-- V108: the money and the codes have one door each (issue 13, item 3).
--
-- Donations and refunds: a donation's status and amount change only through Wave's signed
-- webhook (the donations service) and the refund endpoint, which checks the donation,
-- claims the refund, calls Wave and records the outcome. Until now both could be written by
-- an admin through the REST layer too (V30's blanket grant): a donation marked succeeded
-- with no payment, a refund marked completed with no money returned. The refund endpoint
-- now writes as the donations service (rest::begin_as_service: the admin's claims stay set,
-- so the audit rows name them), and wolo_admin keeps reading both tables only.
--
-- QR codes: codes are issued by the qr service's job and redeemed by POST /qr/redeem. An
-- admin through REST may cancel an issued code (and annotate it), nothing else: no insert,
-- no delete, no redemption, no new window or pack.
--
-- Referral invitations written through REST (V81, V103) also follow the endpoint's input
-- rules: an E.164 phone, an e-mail address, a message of at most 500 characters.
-- Depends on V5, V7, V30, V31, V63, V81, V103.

revoke insert, update, delete on donations.donations from wolo_admin;
revoke insert, update, delete on donations.refunds from wolo_admin;

revoke insert, delete on qr.qr_codes from wolo_admin;

create or replace function qr.guard_code_write()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if current_user not in ('wolo_anon', 'wolo_user', 'wolo_partner', 'wolo_admin') then
        return new; -- the qr service issues, redeems and expires codes
    end if;
    if (new.id, new.pot_id, new.pack_id, new.code, new.qr_image_url, new.redeemable_from,
        new.expires_at, new.redeemed_at, new.redeemed_by_partner_id, new.redeemed_at_venue,
        new.created_at)
       is distinct from
       (old.id, old.pot_id, old.pack_id, old.code, old.qr_image_url, old.redeemable_from,
        old.expires_at, old.redeemed_at, old.redeemed_by_partner_id, old.redeemed_at_venue,
        old.created_at) then
        raise exception 'Un code QR ne change que par son émission et son utilisation (a QR code changes through issuance and redemption only)'
            using errcode = '23514', detail = 'code_fields_fixed',
                  hint = 'An admin may cancel an issued code: status = cancelled';
    end if;
    if new.status is distinct from old.status
       and not (old.status = 'issued' and new.status = 'cancelled') then
        raise exception 'Seul un code émis peut être annulé (only an issued code can be cancelled)'
            using errcode = '23514', detail = 'code_status_fixed',
                  hint = 'Redemption is POST /qr/redeem; expiry is the qr service''s job';
    end if;
    return new;
end;
$$;

comment on function qr.guard_code_write() is
    'Before update on qr.qr_codes by an API role: only issued -> cancelled and partner_notes change (23514).';

create trigger guard_code_write
    before update on qr.qr_codes
    for each row execute function qr.guard_code_write();

-- A trigger of its own beside V103's check_rest_referral (self-invitation), rather than a
-- second copy of that function.
create or replace function referral.check_rest_referral_contact()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if current_user not in ('wolo_anon', 'wolo_user', 'wolo_partner', 'wolo_admin') then
        return new; -- the referral service checks its own invitations
    end if;
    if new.invited_phone is not null and new.invited_phone !~ '^\+[1-9][0-9]{7,14}$' then
        raise exception 'Numéro invalide : format international attendu, ex. +221771234567 (invalid phone: E.164 expected)'
            using errcode = '23514', detail = 'invalid_phone';
    end if;
    if new.invited_email is not null
       and (new.invited_email !~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'
            or char_length(new.invited_email) > 254) then
        raise exception 'Adresse e-mail invalide (invalid e-mail address)'
            using errcode = '23514', detail = 'invalid_email';
    end if;
    if char_length(new.invitation_message) > 500 then
        raise exception 'Message trop long : 500 caractères au plus (message longer than 500 characters)'
            using errcode = '23514', detail = 'message_too_long';
    end if;
    return new;
end;
$$;

comment on function referral.check_rest_referral_contact() is
    'Before insert on referral.referrals by an API role: an E.164 phone, an e-mail address, a message of at most 500 characters (23514).';

create trigger check_rest_referral_contact
    before insert on referral.referrals
    for each row execute function referral.check_rest_referral_contact();
