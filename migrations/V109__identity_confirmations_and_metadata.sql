-- V109: GoTrue's user metadata, e-mail confirmation and e-mail / phone changes (issue 14).
--
-- - user_metadata: what the user keeps about themselves (`PUT /user {data}`,
--   `signUp({options: {data}})`), returned by GET /user and in the access token. A JSON
--   object of at most 16 KiB.
-- - email_confirmed_at: /signup no longer signs in; the account's e-mail is confirmed with
--   the code (or link) it was sent (`POST /verify {type: signup | email}`), and a password
--   sign-in before that is 400 email_not_confirmed. Accounts created any other way (SMS
--   sign-in, Google, admins, seeds) and every existing account count as confirmed: the
--   column defaults to now(), /signup writes NULL.
-- - confirmation_token_hash / _sent_at: the pending sign-up confirmation.
-- - email_change, phone_change (+ _token_hash, _sent_at): an address asked for by
--   `PUT /user {email | phone}`, not in effect until confirmed with the code sent to it
--   (`POST /verify {type: email_change | phone_change}`).
--
-- Token hashes are SHA-256 of the address and a six-digit code, as GoTrue stores them, so
-- nobody reads them through the REST layer: users read their row without them, admins
-- every column but them (a code's hash is the code).
-- Depends on V1, V30, V50, V103, V107.

alter table identity.users
    add column if not exists user_metadata jsonb not null default '{}'::jsonb,
    add column if not exists email_confirmed_at timestamp with time zone default now(),
    add column if not exists confirmation_token_hash varchar(64),
    add column if not exists confirmation_sent_at timestamp with time zone,
    add column if not exists email_change varchar(255),
    add column if not exists email_change_token_hash varchar(64),
    add column if not exists email_change_sent_at timestamp with time zone,
    add column if not exists phone_change varchar(20),
    add column if not exists phone_change_token_hash varchar(64),
    add column if not exists phone_change_sent_at timestamp with time zone;

alter table identity.users
    add constraint check_user_metadata_object check (
        jsonb_typeof(user_metadata) = 'object' and octet_length(user_metadata::text) <= 16384
    );

create index if not exists idx_users_confirmation_token
    on identity.users (confirmation_token_hash) where confirmation_token_hash is not null;
create index if not exists idx_users_email_change_token
    on identity.users (email_change_token_hash) where email_change_token_hash is not null;

comment on column identity.users.user_metadata is
    'GoTrue''s user_metadata: the user''s own data (PUT /user {data}), a JSON object of at most 16 KiB.';
comment on column identity.users.email_confirmed_at is
    'When the e-mail was confirmed. NULL while a /signup waits for its code; accounts created otherwise are confirmed.';
comment on column identity.users.email_change is
    'The e-mail asked for by PUT /user, in effect once confirmed with the code sent to it.';
comment on column identity.users.phone_change is
    'The phone asked for by PUT /user, in effect once confirmed with the SMS code sent to it.';

-- Users and partners read their own row, never the token hashes (nor password_hash, V50).
grant select (user_metadata, email_confirmed_at, confirmation_sent_at, email_change,
              email_change_sent_at, phone_change, phone_change_sent_at)
    on identity.users to wolo_user, wolo_partner;

-- Admins read every column but the token hashes; they write none of the new columns (V103
-- and V107 granted them a fixed column list).
do $$
declare
    v_cols text;
begin
    select string_agg(pg_catalog.quote_ident(a.attname), ', ' order by a.attnum)
    into v_cols
    from pg_catalog.pg_attribute a
    where a.attrelid = 'identity.users'::regclass and a.attnum > 0 and not a.attisdropped
      and a.attname not in ('confirmation_token_hash', 'email_change_token_hash',
                            'phone_change_token_hash');
    revoke select on identity.users from wolo_admin;
    execute format('grant select (%s) on identity.users to wolo_admin', v_cols);
end;
$$;

-- The messages: the sign-up confirmation and the e-mail change, with a code and a link.
insert into notifications.notification_templates
    (template_key, locale, name, description, channels, variables, subject, body_text, body_html)
values
(
    'email_confirmation.fr-SN', 'fr-SN',
    'Confirmation de l''adresse e-mail',
    'Code et lien envoyés à l''inscription par e-mail.',
    array['email']::varchar(20)[],
    '{"code": "string", "confirm_url": "string", "hours": "number"}',
    'Confirmez votre adresse e-mail WOLO',
    'Bienvenue sur WOLO !

Votre code de confirmation est {{code}}. Vous pouvez aussi ouvrir ce lien : {{confirm_url}}

Il est valable {{hours}} heures. Si vous n''êtes pas à l''origine de cette inscription, ignorez ce message.

L''équipe WOLO',
    '<p>Bienvenue sur WOLO !</p>
<p>Votre code de confirmation est <strong>{{code}}</strong>.</p>
<p><a href="{{confirm_url}}">Confirmer mon adresse</a></p>
<p>Il est valable {{hours}} heures. Si vous n''êtes pas à l''origine de cette inscription, ignorez ce message.</p>
<p>L''équipe WOLO</p>'
),
(
    'email_confirmation.wo-SN', 'wo-SN',
    'Confirmation de l''adresse e-mail - wolof',
    'Code et lien envoyés à l''inscription par e-mail.',
    array['email']::varchar(20)[],
    '{"code": "string", "confirm_url": "string", "hours": "number"}',
    'Wóoral sa adresse e-mail WOLO',
    'Dalal ak jàmm ci WOLO !

Sa kodu wóoral mooy {{code}}. Mën nga it ubbi lien bii : {{confirm_url}}

Dafay dox {{hours}} waxtu. Su dul yow moo bind, bul faale bataaxal bii.

Équipe WOLO',
    '<p>Dalal ak jàmm ci WOLO !</p>
<p>Sa kodu wóoral mooy <strong>{{code}}</strong>.</p>
<p><a href="{{confirm_url}}">Wóoral sama adresse</a></p>
<p>Dafay dox {{hours}} waxtu. Su dul yow moo bind, bul faale bataaxal bii.</p>
<p>Équipe WOLO</p>'
),
(
    'email_confirmation.en', 'en',
    'Confirmation de l''adresse e-mail - anglais',
    'Code and link sent when signing up by e-mail.',
    array['email']::varchar(20)[],
    '{"code": "string", "confirm_url": "string", "hours": "number"}',
    'Confirm your WOLO e-mail address',
    'Welcome to WOLO!

Your confirmation code is {{code}}. You can also open this link: {{confirm_url}}

It is valid for {{hours}} hours. If you did not sign up, ignore this message.

The WOLO team',
    '<p>Welcome to WOLO!</p>
<p>Your confirmation code is <strong>{{code}}</strong>.</p>
<p><a href="{{confirm_url}}">Confirm my address</a></p>
<p>It is valid for {{hours}} hours. If you did not sign up, ignore this message.</p>
<p>The WOLO team</p>'
),
(
    'email_change.fr-SN', 'fr-SN',
    'Changement d''adresse e-mail',
    'Code et lien envoyés à la nouvelle adresse quand un utilisateur change d''e-mail.',
    array['email']::varchar(20)[],
    '{"code": "string", "confirm_url": "string", "hours": "number"}',
    'Confirmez votre nouvelle adresse e-mail WOLO',
    'Bonjour,

Pour utiliser cette adresse sur WOLO, saisissez le code {{code}} ou ouvrez ce lien : {{confirm_url}}

Il est valable {{hours}} heures. Si vous n''êtes pas à l''origine de cette demande, ignorez ce message : rien ne change.

L''équipe WOLO',
    '<p>Bonjour,</p>
<p>Pour utiliser cette adresse sur WOLO, saisissez le code <strong>{{code}}</strong>.</p>
<p><a href="{{confirm_url}}">Confirmer cette adresse</a></p>
<p>Il est valable {{hours}} heures. Si vous n''êtes pas à l''origine de cette demande, ignorez ce message : rien ne change.</p>
<p>L''équipe WOLO</p>'
),
(
    'email_change.wo-SN', 'wo-SN',
    'Changement d''adresse e-mail - wolof',
    'Code et lien envoyés à la nouvelle adresse quand un utilisateur change d''e-mail.',
    array['email']::varchar(20)[],
    '{"code": "string", "confirm_url": "string", "hours": "number"}',
    'Wóoral sa adresse e-mail bu bees',
    'Salaam aleekum,

Ngir jëfandikoo adresse bii ci WOLO, bindal kodu {{code}} walla ubbi lien bii : {{confirm_url}}

Dafay dox {{hours}} waxtu. Su dul yow moo ko laaj, bul faale bataaxal bii : dara du soppiku.

Équipe WOLO',
    '<p>Salaam aleekum,</p>
<p>Ngir jëfandikoo adresse bii ci WOLO, bindal kodu <strong>{{code}}</strong>.</p>
<p><a href="{{confirm_url}}">Wóoral adresse bii</a></p>
<p>Dafay dox {{hours}} waxtu. Su dul yow moo ko laaj, bul faale bataaxal bii : dara du soppiku.</p>
<p>Équipe WOLO</p>'
),
(
    'email_change.en', 'en',
    'Changement d''adresse e-mail - anglais',
    'Code and link sent to the new address when a user changes their e-mail.',
    array['email']::varchar(20)[],
    '{"code": "string", "confirm_url": "string", "hours": "number"}',
    'Confirm your new WOLO e-mail address',
    'Hello,

To use this address on WOLO, enter the code {{code}} or open this link: {{confirm_url}}

It is valid for {{hours}} hours. If you did not ask for this, ignore this message: nothing changes.

The WOLO team',
    '<p>Hello,</p>
<p>To use this address on WOLO, enter the code <strong>{{code}}</strong>.</p>
<p><a href="{{confirm_url}}">Confirm this address</a></p>
<p>It is valid for {{hours}} hours. If you did not ask for this, ignore this message: nothing changes.</p>
<p>The WOLO team</p>'
)
on conflict (template_key) do nothing;
