-- V119: every donor can give (issue #18): PayDunya (Orange Money, Free Money, cards) beside
-- Wave, a USSD menu for feature phones, SMS both ways, and pot short codes.
--
-- - pots.pots.short_code: six digits, easy to say aloud, unique, drawn by the database
--   (pots.new_short_code()); written by nobody else (the API roles have column grants that
--   do not name it).
-- - donations.donations names its provider (`wave` | `paydunya`), the method the donor paid
--   with, the channel it came through (`web` | `ussd` | `sms`) and PayDunya's invoice token.
--   A PayDunya payment counts as succeeded only through donations.apply_paydunya_confirmation,
--   called with the answer of PayDunya's confirm call (a notification is a trigger only).
-- - donations.paydunya_notifications: every notification received (its hash never kept).
-- - donations.ussd_sessions: what a USSD session stores under the gateway's session id.
-- - donations.sms_messages: text messages received from donors (one row per gateway id).
-- - admin config: the maximum amount, the unpaid donations a phone may start per hour.
-- - templates: the donor's payment instructions, receipt and failure, by SMS.
-- Depends on V5, V21, V30, V63, V105, V114, V115.

-- ---------------------------------------------------------------- pot short codes

create function pots.new_short_code()
returns text
language plpgsql
volatile
set search_path = ''
as $$
declare
    v text;
begin
    -- Six digits, no leading zero (read aloud as three pairs or two triples). A code in use
    -- is drawn again; two inserts drawing the same free code at once meet the unique index.
    loop
        v := (100000 + floor(random() * 900000))::int::text;
        exit when not exists (select 1 from pots.pots where short_code = v);
    end loop;
    return v;
end;
$$;

comment on function pots.new_short_code() is
    'A six-digit code no pot uses yet (V119): what a donor types on USSD or SMS.';

alter table pots.pots add column short_code text;
alter table pots.pots disable trigger user;
update pots.pots set short_code = pots.new_short_code() where short_code is null;
alter table pots.pots enable trigger user;
alter table pots.pots
    alter column short_code set default pots.new_short_code(),
    alter column short_code set not null,
    add constraint pots_short_code_digits check (short_code ~ '^[1-9][0-9]{5,7}$');
create unique index idx_pots_short_code on pots.pots (short_code);

comment on column pots.pots.short_code is
    'Digits only (V119), unique: the code a donor types on a USSD menu or in an SMS, shown on the pot page and in the owner''s messages.';

-- ---------------------------------------------------------------- donations: providers

alter table donations.donations
    add column payment_provider text not null default 'wave'
        check (payment_provider in ('wave', 'paydunya')),
    add column payment_method text
        check (payment_method in ('wave', 'orange_money', 'free_money', 'card')),
    add column channel text not null default 'web'
        check (channel in ('web', 'ussd', 'sms')),
    add column donor_locale text,
    add column provider_token varchar(100),
    add column provider_payment_url text,
    add column provider_status varchar(20),
    add column provider_checked_at timestamp with time zone,
    add constraint donations_wave_has_no_provider_token
        check (payment_provider <> 'wave' or provider_token is null);
create unique index idx_donations_provider_token on donations.donations (provider_token)
    where provider_token is not null;
-- The reconciliation job's work list, and the per-phone limit of unpaid USSD/SMS donations.
create index idx_donations_provider_pending on donations.donations (initiated_at)
    where status = 'pending' and payment_provider <> 'wave';
create index idx_donations_phone_channel on donations.donations (donor_phone, initiated_at)
    where channel <> 'web';

comment on column donations.donations.payment_provider is
    'Who takes the money (V119): wave (Wave Checkout) or paydunya (Orange Money, Free Money, cards).';
comment on column donations.donations.payment_method is
    'How the donor paid or chose to pay: wave, orange_money, free_money, card; null until known (a PayDunya page lets the donor choose).';
comment on column donations.donations.channel is
    'Where the donation was started: web (the web app or the pot page), ussd (the USSD menu), sms (a text message).';
comment on column donations.donations.provider_token is
    'PayDunya''s invoice token, stored before the donor is sent to pay; confirm is asked with it.';
comment on column donations.donations.provider_status is
    'The status PayDunya''s confirm call last answered (pending, completed, cancelled, failed).';

-- Who may read these columns through REST: wolo_admin (table-level select since V30); the
-- public column list of V30 does not name them.

-- ---------------------------------------------------------------- succeeded, whoever took the money

-- What a stranger on a phone (USSD menu, SMS, a donor's receipt) may know of whose pot it is:
-- the owner's first name, never a minor's, and nothing of a private pot (whose page shows
-- nothing without its owner's link, `platform::links`); null otherwise.
create function donations.pot_public_name(p_pot uuid)
returns text
language sql
stable
set search_path = ''
as $$
    select case when coalesce(p.visibility, 'private') = 'private'
                     or profiles.is_minor(pr.date_of_birth, now()) then null
                else nullif(split_part(btrim(pr.full_name), ' ', 1), '') end
      from pots.pots p
      left join profiles.profiles pr on pr.user_id = p.owner_user_id
     where p.id = p_pot
$$;

comment on function donations.pot_public_name(uuid) is
    'The owner''s first name as a stranger may see it (V119): null for a minor''s or a private pot.';

-- The events of a donation that has just become succeeded (the same as a Wave delivery
-- appends in V114): `donation.succeeded`, the owner's `donation_received`, and, for a donor
-- who gave by USSD or SMS, the donor's receipt by SMS.
create function donations.publish_succeeded(p_donation uuid)
returns void
language plpgsql
set search_path = ''
as $$
declare
    d record;
    v_pot record;
begin
    select id, pot_id, amount_cfa, donor_user_id, donor_phone, donor_name, confirmed_at,
           coalesce(is_anonymous, true) as is_anonymous, channel, donor_locale
      into d
      from donations.donations where id = p_donation;
    perform wolo.publish_event('donation.succeeded', jsonb_build_object(
        'donation_id', d.id,
        'pot_id', d.pot_id,
        'amount_cfa', d.amount_cfa,
        'donor_user_id', d.donor_user_id,
        'donor_phone', d.donor_phone,
        'donor_name', d.donor_name,
        'is_anonymous', d.is_anonymous,
        'confirmed_at', to_char(d.confirmed_at at time zone 'UTC',
                                'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')), 'donations');
    select p.owner_user_id, p.title, p.target_amount_cfa,
           (select coalesce(sum(amount_cfa) filter (where status = 'succeeded'), 0)::bigint
              from donations.donations where pot_id = p.id) as raised,
           donations.pot_public_name(p.id) as first_name,
           (select (regexp_match(pr.full_name, '\S+'))[1]
              from profiles.profiles pr where pr.user_id = p.owner_user_id) as own_first_name
      into v_pot
      from pots.pots p where p.id = d.pot_id;
    if v_pot.owner_user_id is not null then
        perform wolo.publish_event('notification.requested', jsonb_build_object(
            'user_id', v_pot.owner_user_id,
            'recipient', jsonb_build_object('phone', null, 'email', null),
            'message', 'donation_received',
            'locale', null,
            'channels', null,
            'data', jsonb_build_object(
                'first_name', coalesce(nullif(v_pot.own_first_name, ''), 'Bonjour'),
                'donor_name', case when d.is_anonymous then 'Un proche'
                                   else coalesce(d.donor_name, 'Un proche') end,
                'amount_cfa', d.amount_cfa,
                'pot_title', v_pot.title,
                'raised_cfa', v_pot.raised,
                'target_amount_cfa', v_pot.target_amount_cfa),
            'scheduled_at', null), 'donations');
    end if;
    if d.channel in ('ussd', 'sms') and d.donor_phone is not null then
        perform wolo.publish_event('notification.requested', jsonb_build_object(
            'user_id', null,
            'recipient', jsonb_build_object('phone', d.donor_phone, 'email', null),
            'message', 'donation_receipt',
            'locale', coalesce(d.donor_locale, 'fr-SN'),
            'channels', jsonb_build_array('sms'),
            'data', jsonb_build_object(
                'amount_cfa', d.amount_cfa,
                -- A minor's or a private pot's owner is never named to a stranger.
                'pot_name', coalesce(nullif(v_pot.first_name, ''), 'WOLO'),
                'reference', left(d.id::text, 8)),
            'scheduled_at', null), 'donations');
    end if;
end;
$$;

comment on function donations.publish_succeeded(uuid) is
    'Appends the events of a donation that has just succeeded (V119): donation.succeeded, the owner''s donation_received, the USSD/SMS donor''s receipt.';

-- ---------------------------------------------------------------- PayDunya

create table donations.paydunya_notifications (
    id uuid primary key default gen_random_uuid(),
    invoice_token varchar(100),
    status varchar(20),
    donation_id uuid references donations.donations (id),
    -- The form as received, without data[hash] (a secret's digest is never stored).
    payload jsonb not null,
    hash_valid boolean not null,
    -- What the confirm call that followed decided: applied, ignored, pending, error, deferred.
    outcome varchar(20),
    processing_error text,
    received_at timestamp with time zone not null default now()
);
create index idx_paydunya_notifications_token on donations.paydunya_notifications (invoice_token);
create index idx_paydunya_notifications_received on donations.paydunya_notifications (received_at);

comment on table donations.paydunya_notifications is
    'Every PayDunya notification (IPN) received (V119). A trigger only: a payment counts after WOLO''s own confirm call (donations.apply_paydunya_confirmation).';

-- Applies the answer of PayDunya's confirm call (`GET /checkout-invoice/confirm/{token}`) to
-- the donation it was asked for, in the caller's transaction. The donation becomes
-- `succeeded` once (from pending, processing or failed) when PayDunya says `completed` for
-- the donation's own token, with its amount and its id in custom_data; `failed` (from pending
-- or processing) when PayDunya says cancelled, failed or expired. A confirmation arriving
-- twice, late or out of order changes nothing more: the confirm call is the truth, and a
-- succeeded donation never goes back. Returns applied, ignored, pending or error: <reason>.
create function donations.apply_paydunya_confirmation(p_donation uuid, p_confirm jsonb)
returns text
language plpgsql
set search_path = ''
as $$
declare
    d record;
    v_status text := lower(coalesce(p_confirm ->> 'status', ''));
    v_amount text := p_confirm -> 'invoice' ->> 'total_amount';
    v_method text := case p_confirm -> 'customer' ->> 'payment_method'
                         when 'orange_money_senegal' then 'orange_money'
                         when 'orange-money-senegal' then 'orange_money'
                         when 'free_money_senegal' then 'free_money'
                         when 'free-money-senegal' then 'free_money'
                         when 'wave_senegal' then 'wave'
                         when 'wave-senegal' then 'wave'
                         when 'card' then 'card'
                         else null end;
    v_done timestamptz;
begin
    select id, pot_id, status, amount_cfa, provider_token, payment_provider
      into d from donations.donations where id = p_donation for update;
    if not found then
        return 'error: unknown donation';
    end if;
    if d.payment_provider <> 'paydunya' or d.provider_token is null then
        return 'error: not a PayDunya donation with an invoice';
    end if;
    if p_confirm -> 'invoice' ->> 'token' is distinct from d.provider_token then
        return 'error: token mismatch';
    end if;
    if p_confirm -> 'custom_data' ->> 'donation_id' is distinct from d.id::text then
        return 'error: custom_data names another donation';
    end if;
    update donations.donations
       set provider_status = left(v_status, 20), provider_checked_at = now()
     where id = d.id;
    if v_status = 'completed' then
        if v_amount is null or v_amount !~ '^[0-9]+(\.0+)?$'
           or v_amount::numeric <> d.amount_cfa then
            return format('error: amount mismatch: PayDunya %s, donation %s XOF',
                          coalesce(v_amount, 'null'), d.amount_cfa);
        end if;
        update donations.donations
           set status = 'succeeded', confirmed_at = now(), failure_reason = null,
               failed_at = null, payment_method = coalesce(v_method, payment_method)
         where id = d.id and status in ('pending', 'processing', 'failed')
        returning confirmed_at into v_done;
        if v_done is null then
            return 'ignored';
        end if;
        perform donations.publish_succeeded(d.id);
        return 'applied';
    elsif v_status in ('cancelled', 'failed', 'expired') then
        update donations.donations
           set status = 'failed', failed_at = now(), failure_reason = 'paydunya_' || v_status
         where id = d.id and status in ('pending', 'processing')
        returning failed_at into v_done;
        if v_done is null then
            return 'ignored';
        end if;
        perform donations.publish_failed(d.id);
        return 'applied';
    elsif v_status = 'pending' then
        return 'pending';
    end if;
    return format('error: unknown status %s', left(v_status, 40));
end;
$$;

-- `donation.failed`, and for a USSD/SMS donor an SMS saying nothing was taken.
create function donations.publish_failed(p_donation uuid)
returns void
language plpgsql
set search_path = ''
as $$
declare
    d record;
begin
    select id, pot_id, failure_reason, channel, donor_phone, donor_locale, amount_cfa
      into d from donations.donations where id = p_donation;
    perform wolo.publish_event('donation.failed', jsonb_build_object(
        'donation_id', d.id, 'pot_id', d.pot_id, 'reason', d.failure_reason), 'donations');
    if d.channel in ('ussd', 'sms') and d.donor_phone is not null then
        perform wolo.publish_event('notification.requested', jsonb_build_object(
            'user_id', null,
            'recipient', jsonb_build_object('phone', d.donor_phone, 'email', null),
            'message', 'donation_payment_failed',
            'locale', coalesce(d.donor_locale, 'fr-SN'),
            'channels', jsonb_build_array('sms'),
            'data', jsonb_build_object('amount_cfa', d.amount_cfa),
            'scheduled_at', null), 'donations');
    end if;
end;
$$;

comment on function donations.apply_paydunya_confirmation(uuid, jsonb) is
    'Applies the answer of PayDunya''s confirm call to a donation (V119): succeeded once, failed from pending; returns applied, ignored, pending or error: <reason>.';

-- ---------------------------------------------------------------- USSD and SMS

create table donations.ussd_sessions (
    session_id varchar(100) primary key check (char_length(session_id) >= 1),
    phone varchar(20) not null,
    network_code varchar(10),
    -- The Orange Money code the donor typed, until the payment is asked for (then erased).
    authorization_code varchar(12),
    donation_id uuid references donations.donations (id),
    -- Unknown pot codes typed in this session (the phone's misses are limited per hour).
    code_misses integer not null default 0,
    hops integer not null default 0,
    created_at timestamp with time zone not null default now(),
    updated_at timestamp with time zone not null default now()
);
create index idx_ussd_sessions_phone on donations.ussd_sessions (phone, created_at);
create index idx_ussd_sessions_created on donations.ussd_sessions (created_at);

comment on table donations.ussd_sessions is
    'What the USSD menu keeps under a gateway session id (V119): the caller, the Orange Money code until used, the donation confirmed. Purged after a day.';

create table donations.sms_messages (
    id uuid primary key default gen_random_uuid(),
    gateway_message_id varchar(100) not null unique,
    from_phone varchar(20) not null,
    to_number varchar(20),
    body text not null check (char_length(body) <= 1000),
    donation_id uuid references donations.donations (id),
    outcome varchar(40) not null,
    received_at timestamp with time zone not null default now()
);
create index idx_sms_messages_phone on donations.sms_messages (from_phone, received_at);

comment on table donations.sms_messages is
    'Text messages donors sent to WOLO''s number (V119), one per gateway id (a gateway retry is answered once), with what was done.';

-- Admins read these (support); the service writes them. Donors' phones: masked in the
-- admin console like every donor phone, purged with the rest of the donor's data.
revoke all on donations.paydunya_notifications, donations.ussd_sessions, donations.sms_messages
    from public;
grant select on donations.paydunya_notifications, donations.ussd_sessions, donations.sms_messages
    to wolo_admin;
alter table donations.paydunya_notifications enable row level security;
alter table donations.ussd_sessions enable row level security;
alter table donations.sms_messages enable row level security;
create policy admin_select on donations.paydunya_notifications
    for select to wolo_admin using (wolo.is_admin());
create policy admin_select on donations.ussd_sessions
    for select to wolo_admin using (wolo.is_admin());
create policy admin_select on donations.sms_messages
    for select to wolo_admin using (wolo.is_admin());

-- The profiles service exports and erases what a phone left here (account export, deletion).
grant select, delete on donations.ussd_sessions to wolo_svc_profiles;
grant select, update (from_phone, body) on donations.sms_messages to wolo_svc_profiles;

-- The donations service's own role writes every table of its schema (V102's default
-- privileges); it reads the pots' short codes and owners' first names already (V102), and
-- decides minors with profiles.is_minor.
grant execute on function profiles.is_minor(date, timestamp with time zone) to wolo_svc_donations;
revoke execute on function donations.pot_public_name(uuid) from public;
grant execute on function donations.pot_public_name(uuid) to wolo_svc_donations;
revoke execute on function donations.publish_succeeded(uuid), donations.publish_failed(uuid),
    donations.apply_paydunya_confirmation(uuid, jsonb), pots.new_short_code() from public;
grant execute on function donations.publish_succeeded(uuid), donations.publish_failed(uuid),
    donations.apply_paydunya_confirmation(uuid, jsonb) to wolo_svc_donations;
grant execute on function pots.new_short_code() to wolo_svc_pots, wolo_user, wolo_admin;

-- ---------------------------------------------------------------- settings

insert into admin.system_config
    (config_key, config_value, data_type, description, validation_rules)
values
(
    'donations.max_amount_cfa', '5000000', 'number',
    'Montant maximal d''une participation, en francs CFA (toutes méthodes : Wave, Orange Money, Free Money, USSD, SMS).',
    '{"type": "integer", "minimum": 100, "maximum": 5000000}'
),
(
    'donations.phone_unpaid_per_hour', '3', 'number',
    'Participations non payées qu''un même numéro peut lancer par heure depuis le menu USSD ou par SMS ; au-delà, il est prié d''attendre.',
    '{"type": "integer", "minimum": 1, "maximum": 50}'
),
(
    'donations.phone_code_misses_per_hour', '10', 'number',
    'Codes de cagnotte inconnus qu''un même numéro peut saisir par heure (menu USSD, SMS) avant d''être prié d''attendre.',
    '{"type": "integer", "minimum": 1, "maximum": 100}'
)
on conflict (config_key) do nothing;

insert into admin.feature_flags
    (flag_key, name, description, is_enabled, flag_type, rollout_percentage)
values
(
    'paydunya_payments', 'Paiements Orange Money / Free Money (PayDunya)',
    'Participation aux cagnottes par PayDunya : Orange Money, Free Money et carte sur le web, Orange Money et Free Money par USSD et SMS. Désactiver suspend ces nouvelles participations (Wave n''est pas concerné).',
    true, 'boolean', 100
)
on conflict (flag_key) do nothing;

-- ---------------------------------------------------------------- templates

insert into notifications.notification_templates
    (template_key, locale, name, description, channels, variables, subject, body_text, body_html)
values
(
    'donation_instructions.fr-SN', 'fr-SN', 'Instructions de paiement (donateur)',
    'SMS au donateur qui participe par USSD ou SMS : comment payer.',
    array['sms']::varchar(20)[],
    '{"amount_cfa": "cfa", "pot_name": "string", "instructions": "string"}',
    null,
    'WOLO : participation de {{amount_cfa}} FCFA pour {{pot_name}}. {{instructions}}',
    null
),
(
    'donation_instructions.wo-SN', 'wo-SN', 'Instructions de paiement (donateur) - wolof',
    'SMS au donateur qui participe par USSD ou SMS : comment payer.',
    array['sms']::varchar(20)[],
    '{"amount_cfa": "cfa", "pot_name": "string", "instructions": "string"}',
    null,
    'WOLO : sa ndimbal {{amount_cfa}} FCFA ngir {{pot_name}}. {{instructions}}',
    null
),
(
    'donation_instructions.en', 'en', 'Payment instructions (donor)',
    'SMS to a donor giving by USSD or SMS: how to pay.',
    array['sms']::varchar(20)[],
    '{"amount_cfa": "cfa", "pot_name": "string", "instructions": "string"}',
    null,
    'WOLO: your gift of {{amount_cfa}} FCFA for {{pot_name}}. {{instructions}}',
    null
),
(
    'sms_reply.fr-SN', 'fr-SN', 'Réponse à un SMS de donateur',
    'Réponse à un SMS reçu au numéro de WOLO (aide, code inconnu, montant invalide...).',
    array['sms']::varchar(20)[],
    '{"text": "string"}',
    null,
    'WOLO : {{text}}',
    null
),
(
    'donation_receipt.fr-SN', 'fr-SN', 'Reçu de participation (donateur)',
    'SMS au donateur USSD ou SMS quand son paiement est confirmé.',
    array['sms']::varchar(20)[],
    '{"amount_cfa": "cfa", "pot_name": "string", "reference": "string"}',
    null,
    'WOLO : merci ! Votre participation de {{amount_cfa}} FCFA pour la cagnotte de {{pot_name}} est bien reçue. Réf. {{reference}}',
    null
),
(
    'donation_receipt.wo-SN', 'wo-SN', 'Reçu de participation (donateur) - wolof',
    'SMS au donateur USSD ou SMS quand son paiement est confirmé.',
    array['sms']::varchar(20)[],
    '{"amount_cfa": "cfa", "pot_name": "string", "reference": "string"}',
    null,
    'WOLO : jerejef ! Sa ndimbal {{amount_cfa}} FCFA ngir cagnotte {{pot_name}} agsi na. Réf. {{reference}}',
    null
),
(
    'donation_receipt.en', 'en', 'Donation receipt (donor)',
    'SMS to a USSD or SMS donor once the payment is confirmed.',
    array['sms']::varchar(20)[],
    '{"amount_cfa": "cfa", "pot_name": "string", "reference": "string"}',
    null,
    'WOLO: thank you! Your gift of {{amount_cfa}} FCFA to {{pot_name}}''s pot has been received. Ref. {{reference}}',
    null
),
(
    'donation_payment_failed.fr-SN', 'fr-SN', 'Paiement non abouti (donateur)',
    'SMS au donateur USSD ou SMS quand le paiement est annulé ou échoue.',
    array['sms']::varchar(20)[],
    '{"amount_cfa": "cfa"}',
    null,
    'WOLO : votre participation de {{amount_cfa}} FCFA n''a pas abouti. Aucun montant n''a été prélevé. Vous pouvez réessayer.',
    null
),
(
    'donation_payment_failed.wo-SN', 'wo-SN', 'Paiement non abouti (donateur) - wolof',
    'SMS au donateur USSD ou SMS quand le paiement est annulé ou échoue.',
    array['sms']::varchar(20)[],
    '{"amount_cfa": "cfa"}',
    null,
    'WOLO : sa ndimbal {{amount_cfa}} FCFA antuwul. Dañu la jëlul dara. Mën nga ko jéemaat.',
    null
),
(
    'donation_payment_failed.en', 'en', 'Payment not completed (donor)',
    'SMS to a USSD or SMS donor when the payment is cancelled or fails.',
    array['sms']::varchar(20)[],
    '{"amount_cfa": "cfa"}',
    null,
    'WOLO: your gift of {{amount_cfa}} FCFA did not go through. Nothing was charged. You can try again.',
    null
)
on conflict (template_key) do nothing;

-- The owner's J-30 message gives the pot's short code (for relatives on feature phones).
update notifications.notification_templates
   set variables = variables || '{"short_code": "string"}'::jsonb,
       body_text = replace(body_text, '{{pot_url}}',
                           '{{pot_url}} (' || case locale
                               when 'wo-SN' then 'walla code {{short_code}} ci USSD walla SMS'
                               when 'en' then 'or code {{short_code}} by USSD or SMS'
                               else 'ou code {{short_code}} par USSD ou SMS' end || ')'),
       body_html = replace(body_html, '</a></p>',
                           '</a> (' || case locale
                               when 'wo-SN' then 'walla code <strong>{{short_code}}</strong> ci USSD walla SMS'
                               when 'en' then 'or code <strong>{{short_code}}</strong> by USSD or SMS'
                               else 'ou code <strong>{{short_code}}</strong> par USSD ou SMS' end || ')</p>')
 where template_key like 'pot_opened.%' and body_text not like '%{{short_code}}%';
