-- V61: pots service — message templates for pot invitations (reference data,
-- conventions of V20) and one-row-per-day analytics support.
--
-- pot_invitation: sent to the recipient of POST /pots/{id}/invitations on the
-- channel the owner chose (whatsapp, sms or email). Variables:
--   inviter_name    the owner's display name (or "Un proche" when unknown)
--   pot_title       the pot's title
--   birthday_date   the birthday
--   custom_message  the owner's message ('' when none)
--   pot_url         WOLO_PUBLIC_WEB_URL/p/<pot_id>?i=<invitation_id>

insert into notifications.notification_templates
    (template_key, locale, name, description, channels, variables, subject, body_text, body_html)
values
(
    'pot_invitation.fr-SN', 'fr-SN',
    'Invitation à participer à une cagnotte',
    'Envoyée au destinataire choisi par le propriétaire de la cagnotte (WhatsApp, SMS ou e-mail).',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"inviter_name": "string", "pot_title": "string", "birthday_date": "date", "custom_message": "string", "pot_url": "string"}',
    '{{inviter_name}} vous invite à sa cagnotte « {{pot_title}} »',
    '{{inviter_name}} vous invite à participer à sa cagnotte d''anniversaire « {{pot_title}} » (anniversaire le {{birthday_date}}). {{custom_message}} Participez via Wave : {{pot_url}}',
    '<p>{{inviter_name}} vous invite à participer à sa cagnotte d''anniversaire « {{pot_title}} » (anniversaire le {{birthday_date}}).</p>
<p>{{custom_message}}</p>
<p>Participez via Wave : <a href="{{pot_url}}">{{pot_url}}</a></p>'
),
(
    'pot_invitation.wo-SN', 'wo-SN',
    'Invitation à participer à une cagnotte - wolof',
    'Envoyée au destinataire choisi par le propriétaire de la cagnotte (WhatsApp, SMS ou e-mail).',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"inviter_name": "string", "pot_title": "string", "birthday_date": "date", "custom_message": "string", "pot_url": "string"}',
    '{{inviter_name}} woo na la ci cagnotte « {{pot_title}} »',
    '{{inviter_name}} woo na la nga bokk ci cagnotte anniversaire « {{pot_title}} » (anniversaire bi ci {{birthday_date}}). {{custom_message}} Bokkal ak Wave : {{pot_url}}',
    '<p>{{inviter_name}} woo na la nga bokk ci cagnotte anniversaire « {{pot_title}} » (anniversaire bi ci {{birthday_date}}).</p>
<p>{{custom_message}}</p>
<p>Bokkal ak Wave : <a href="{{pot_url}}">{{pot_url}}</a></p>'
),
(
    'pot_invitation.en', 'en',
    'Invitation to contribute to a pot',
    'Sent to the recipient the pot owner chose (WhatsApp, SMS or e-mail).',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"inviter_name": "string", "pot_title": "string", "birthday_date": "date", "custom_message": "string", "pot_url": "string"}',
    '{{inviter_name}} invites you to the pot "{{pot_title}}"',
    '{{inviter_name}} invites you to contribute to the birthday pot "{{pot_title}}" (birthday on {{birthday_date}}). {{custom_message}} Contribute with Wave: {{pot_url}}',
    '<p>{{inviter_name}} invites you to contribute to the birthday pot "{{pot_title}}" (birthday on {{birthday_date}}).</p>
<p>{{custom_message}}</p>
<p>Contribute with Wave: <a href="{{pot_url}}">{{pot_url}}</a></p>'
);

-- ---------------------------------------------------------------- donation ledger

-- Beyond the spec: which donations the pots service has counted into
-- pots.raised_amount_cfa / donor_count. The consumer inserts a row per
-- donation.succeeded (on conflict do nothing) and stamps refunded_at once per
-- donation.refunded, and changes the totals only when its own write took
-- effect: a republished event can never count a donation twice.
create table pots.pot_donation_credits (
    donation_id uuid primary key,
    pot_id uuid not null references pots.pots(id) on delete cascade,
    amount_cfa integer not null check (amount_cfa > 0),
    credited_at timestamp with time zone not null default now(),
    refunded_at timestamp with time zone,
    -- The pot's status when the success arrived (a pot no longer open still
    -- counts the money: it was paid).
    pot_status_at_credit varchar(20)
);

comment on table pots.pot_donation_credits is
    'Donations counted into pots.raised_amount_cfa (one row per donation; refunded_at once refunded). Written only by the pots service consumer; admins read.';

create index idx_pot_donation_credits_pot_id on pots.pot_donation_credits(pot_id);

revoke all on pots.pot_donation_credits from public;
grant select on pots.pot_donation_credits to wolo_admin;
alter table pots.pot_donation_credits enable row level security;
create policy admin_all on pots.pot_donation_credits
    for all to wolo_admin using (wolo.is_admin()) with check (wolo.is_admin());
