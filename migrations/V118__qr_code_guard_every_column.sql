-- V118: the guard of V108 named the columns an API role may not change, so V117's
-- short_code (the counter code) escaped it: an admin could have set a code's counter code
-- through REST. The guard now compares the whole row but the two fields it lets through
-- (status, partner_notes): a column added later is fixed without touching this function.
-- Depends on V108, V117.
create or replace function qr.guard_code_write()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if current_user not in ('wolo_anon', 'wolo_user', 'wolo_partner', 'wolo_admin') then
        return new; -- the qr service issues, redeems and expires codes
    end if;
    if to_jsonb(new) - 'status' - 'partner_notes'
       is distinct from to_jsonb(old) - 'status' - 'partner_notes' then
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
    'Before update on qr.qr_codes by an API role: only issued -> cancelled and partner_notes change, every other column fixed (23514; V118).';
