-- V82: profiles service: the message asking a guardian to confirm a minor's profile
-- (reference data, fr-SN / wo-SN / en). Sent by PUT /profiles/me when a minor names a
-- guardian (or a new one); the guardian confirms with
-- POST /profiles/guardianship/{minor_id}/confirm.
-- Depends on V8, V40.

insert into notifications.notification_templates
    (template_key, locale, name, description, channels, variables, subject, body_text, body_html)
values
(
    'guardian_confirmation_requested.fr-SN', 'fr-SN',
    'Confirmation du tuteur',
    'Envoyé au tuteur désigné par un mineur : il doit confirmer avant que la cagnotte du mineur puisse s''ouvrir.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"minor_name": "string", "relationship": "string"}',
    'Confirmez que vous êtes le tuteur de {{minor_name}}',
    'WOLO : {{minor_name}} vous a désigné comme tuteur ({{relationship}}). Ouvrez l''application WOLO pour confirmer ; sans votre accord, sa cagnotte d''anniversaire ne pourra pas s''ouvrir.',
    '<p>{{minor_name}} vous a désigné comme tuteur ({{relationship}}) sur WOLO.</p>
<p>Ouvrez l''application WOLO pour confirmer : sans votre accord, sa cagnotte d''anniversaire ne pourra pas s''ouvrir.</p>'
),
(
    'guardian_confirmation_requested.wo-SN', 'wo-SN',
    'Confirmation du tuteur - wolof',
    'Envoyé au tuteur désigné par un mineur : il doit confirmer avant que la cagnotte du mineur puisse s''ouvrir.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"minor_name": "string", "relationship": "string"}',
    'Wóoral ne yaa di tuteur bu {{minor_name}}',
    'WOLO : {{minor_name}} tànn na la nekk tuteur ({{relationship}}). Ubbil application WOLO ngir wóoral ; bu dul sa ndigël, cagnotte bésu juddoom du ubbiku.',
    '<p>{{minor_name}} tànn na la nekk tuteur ({{relationship}}) ci WOLO.</p>
<p>Ubbil application WOLO ngir wóoral ; bu dul sa ndigël, cagnotte bésu juddoom du ubbiku.</p>'
),
(
    'guardian_confirmation_requested.en', 'en',
    'Guardian confirmation',
    'Sent to the guardian named by a minor: they must confirm before the minor''s pot can open.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"minor_name": "string", "relationship": "string"}',
    'Confirm you are {{minor_name}}''s guardian',
    'WOLO: {{minor_name}} named you as their guardian ({{relationship}}). Open the WOLO app to confirm; without your approval their birthday pot cannot open.',
    '<p>{{minor_name}} named you as their guardian ({{relationship}}) on WOLO.</p>
<p>Open the WOLO app to confirm: without your approval their birthday pot cannot open.</p>'
)
on conflict (template_key) do nothing;
