-- The suite's own pages (issue #17): the pot page names its owner by first name, never a
-- minor's (services/pots/src/public.rs reads profiles.is_minor as the pots service).
grant execute on function profiles.is_minor(date, timestamp with time zone) to wolo_svc_pots;

-- A counter code for every QR code: ten characters of Crockford's base32 (no I, L, O, U),
-- typed by partner staff when a scanner cannot read the screen (POST /qr/redeem accepts it,
-- services/qr/src/code.rs reads it as people type it). Drawn from gen_random_uuid()'s
-- strong random bytes, five bits each (32 symbols: no bias); unique, so a code names one row.
create function qr.new_short_code() returns varchar
language sql volatile
as $$
    select string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', (get_byte(b, i) & 31) + 1, 1), '' order by i)
    from (select uuid_send(gen_random_uuid()) as b) r, generate_series(0, 9) as i
$$;
comment on function qr.new_short_code() is
    'A new counter code: ten Crockford base32 characters from strong random bytes (V117).';

alter table qr.qr_codes add column short_code varchar(12);
update qr.qr_codes set short_code = qr.new_short_code() where short_code is null;
alter table qr.qr_codes alter column short_code set default qr.new_short_code();
alter table qr.qr_codes alter column short_code set not null;
create unique index idx_qr_codes_short_code on qr.qr_codes (short_code);
comment on column qr.qr_codes.short_code is
    'Counter code: what staff type instead of the code when a scanner cannot read it (V117).';
