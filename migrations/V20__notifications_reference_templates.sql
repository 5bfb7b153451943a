-- V20: notification templates the product sends (reference data).
--
-- Ships with the migrations, not with the demo seeds: every environment needs
-- these rows, because the notifications service looks a template up by key
-- before it renders and queues a message.
-- Depends on V8 (notifications.notification_templates).
--
-- Conventions
-- - template_key = '<message>.<locale>' (template_key is UNIQUE in the spec,
--   so the locale is part of the key); the locale column repeats the locale.
--   Lookup: template_key = message || '.' || profile locale, falling back to
--   '<message>.fr-SN' when the user's locale has no row.
-- - One row per message and locale: fr-SN (reference text), wo-SN, en.
--   The Wolof texts are deliberately simple (Dakar Wolof, with the French
--   words people use every day: cagnotte, mot de passe, QR code); have a
--   native speaker review them before changing their meaning.
-- - Placeholders are {{name}}. `variables` declares every placeholder used in
--   subject, body_text and body_html, with its type:
--     string   plain text, inserted as is (HTML-escaped in body_html)
--     number   integer, formatted for the locale
--     cfa      integer amount in CFA francs, formatted for the locale with
--              thousands separators (fr-SN: "25 000"); the template itself
--              writes the currency ("FCFA") after the placeholder
--     date     calendar date, formatted for the locale in Africa/Dakar
--     datetime date and time, formatted for the locale in Africa/Dakar
--   URLs are strings.
-- - body_text is what SMS and WhatsApp carry; subject and body_html exist only
--   for templates whose channels include 'email'.
-- - The fr-SN and en OTP texts stick to the GSM-7 alphabet and stay under
--   160 characters, so each fits one SMS segment.
--
-- Idempotent: re-running leaves existing rows (and any edits made to them by
-- admins) untouched.

insert into notifications.notification_templates
    (template_key, locale, name, description, channels, variables, subject, body_text, body_html)
values

-- ---------------------------------------------------------------- otp
(
    'otp.fr-SN', 'fr-SN',
    'Code de vérification (OTP)',
    'Code à usage unique envoyé par SMS pour se connecter ou confirmer un numéro de téléphone.',
    array['sms']::varchar(20)[],
    '{"code": "string", "minutes": "number"}',
    null,
    'WOLO : votre code de vérification est {{code}}. Il expire dans {{minutes}} minutes. Ne le communiquez à personne.',
    null
),
(
    'otp.wo-SN', 'wo-SN',
    'Code de vérification (OTP) - wolof',
    'Code à usage unique envoyé par SMS pour se connecter ou confirmer un numéro de téléphone.',
    array['sms']::varchar(20)[],
    '{"code": "string", "minutes": "number"}',
    null,
    'WOLO : sa kodu wóoral mooy {{code}}. Dafay jeex ci {{minutes}} minit. Bul ko jox kenn.',
    null
),
(
    'otp.en', 'en',
    'Code de vérification (OTP) - anglais',
    'One-time code sent by SMS to sign in or confirm a phone number.',
    array['sms']::varchar(20)[],
    '{"code": "string", "minutes": "number"}',
    null,
    'WOLO: your verification code is {{code}}. It expires in {{minutes}} minutes. Never share it with anyone.',
    null
),

-- ---------------------------------------------------------------- password_reset
(
    'password_reset.fr-SN', 'fr-SN',
    'Réinitialisation du mot de passe',
    'Lien de réinitialisation envoyé par e-mail quand un utilisateur a oublié son mot de passe.',
    array['email']::varchar(20)[],
    '{"first_name": "string", "reset_url": "string", "minutes": "number"}',
    'Réinitialisez votre mot de passe WOLO',
    'Bonjour {{first_name}},

Vous avez demandé à réinitialiser votre mot de passe WOLO. Ouvrez ce lien pour en choisir un nouveau : {{reset_url}}

Ce lien est valable {{minutes}} minutes et ne sert qu''une seule fois. Si vous n''êtes pas à l''origine de cette demande, ignorez ce message : votre mot de passe reste inchangé.

L''équipe WOLO',
    '<p>Bonjour {{first_name}},</p>
<p>Vous avez demandé à réinitialiser votre mot de passe WOLO.</p>
<p><a href="{{reset_url}}">Choisir un nouveau mot de passe</a></p>
<p>Ce lien est valable {{minutes}} minutes et ne sert qu''une seule fois. Si vous n''êtes pas à l''origine de cette demande, ignorez ce message : votre mot de passe reste inchangé.</p>
<p>L''équipe WOLO</p>'
),
(
    'password_reset.wo-SN', 'wo-SN',
    'Réinitialisation du mot de passe - wolof',
    'Lien de réinitialisation envoyé par e-mail quand un utilisateur a oublié son mot de passe.',
    array['email']::varchar(20)[],
    '{"first_name": "string", "reset_url": "string", "minutes": "number"}',
    'Soppi sa mot de passe WOLO',
    'Salaam aleekum {{first_name}},

Laaj nga ñu soppi sa mot de passe WOLO. Bësal lien bii ngir tànn bu bees : {{reset_url}}

Lien bi dafay jeex ci {{minutes}} minit te benn yoon rekk lay dox. Su dul yow moo ko laaj, bul faale bataaxal bii : sa mot de passe du soppiku.

Équipe WOLO',
    '<p>Salaam aleekum {{first_name}},</p>
<p>Laaj nga ñu soppi sa mot de passe WOLO.</p>
<p><a href="{{reset_url}}">Tànn mot de passe bu bees</a></p>
<p>Lien bi dafay jeex ci {{minutes}} minit te benn yoon rekk lay dox. Su dul yow moo ko laaj, bul faale bataaxal bii : sa mot de passe du soppiku.</p>
<p>Équipe WOLO</p>'
),
(
    'password_reset.en', 'en',
    'Réinitialisation du mot de passe - anglais',
    'Reset link e-mailed when a user has forgotten their password.',
    array['email']::varchar(20)[],
    '{"first_name": "string", "reset_url": "string", "minutes": "number"}',
    'Reset your WOLO password',
    'Hello {{first_name}},

You asked to reset your WOLO password. Open this link to choose a new one: {{reset_url}}

The link is valid for {{minutes}} minutes and works only once. If you did not ask for this, ignore this message: your password stays the same.

The WOLO team',
    '<p>Hello {{first_name}},</p>
<p>You asked to reset your WOLO password.</p>
<p><a href="{{reset_url}}">Choose a new password</a></p>
<p>The link is valid for {{minutes}} minutes and works only once. If you did not ask for this, ignore this message: your password stays the same.</p>
<p>The WOLO team</p>'
),

-- ---------------------------------------------------------------- referral_invitation
(
    'referral_invitation.fr-SN', 'fr-SN',
    'Invitation d''un parrain',
    'Envoyé à un contact qu''un parrain invite sur WOLO (50 invitations par jour au plus).',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"sponsor_name": "string", "invited_name": "string", "referral_code": "string", "invite_url": "string", "validity_days": "number"}',
    '{{sponsor_name}} vous invite sur WOLO',
    'Bonjour {{invited_name}}, {{sponsor_name}} vous invite sur WOLO, la cagnotte d''anniversaire entre amis : vos proches cotisent via Wave pour vous offrir un ciné, un resto ou un spa. Inscrivez-vous avec le code {{referral_code}} : {{invite_url}} (valable {{validity_days}} jours).',
    '<p>Bonjour {{invited_name}},</p>
<p>{{sponsor_name}} vous invite sur WOLO, la cagnotte d''anniversaire entre amis : vos proches cotisent via Wave pour vous offrir un ciné, un resto ou un spa.</p>
<p>Votre code de parrainage : <strong>{{referral_code}}</strong></p>
<p><a href="{{invite_url}}">Je m''inscris</a></p>
<p>Cette invitation est valable {{validity_days}} jours.</p>'
),
(
    'referral_invitation.wo-SN', 'wo-SN',
    'Invitation d''un parrain - wolof',
    'Envoyé à un contact qu''un parrain invite sur WOLO (50 invitations par jour au plus).',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"sponsor_name": "string", "invited_name": "string", "referral_code": "string", "invite_url": "string", "validity_days": "number"}',
    '{{sponsor_name}} woo na la ci WOLO',
    'Salaam aleekum {{invited_name}}, {{sponsor_name}} woo na la ci WOLO. Ci WOLO, say xarit ak sa mbokk dañuy boole seen xaalis ci Wave ngir jëndal la ab may ci sa bésu juddu : ciné, restaurant walla spa. Bindu ak kod bii {{referral_code}} : {{invite_url}} (dafay jeex ci {{validity_days}} fan).',
    '<p>Salaam aleekum {{invited_name}},</p>
<p>{{sponsor_name}} woo na la ci WOLO. Ci WOLO, say xarit ak sa mbokk dañuy boole seen xaalis ci Wave ngir jëndal la ab may ci sa bésu juddu : ciné, restaurant walla spa.</p>
<p>Sa kod : <strong>{{referral_code}}</strong></p>
<p><a href="{{invite_url}}">Bindu ci WOLO</a></p>
<p>Woote bii dafay jeex ci {{validity_days}} fan.</p>'
),
(
    'referral_invitation.en', 'en',
    'Invitation d''un parrain - anglais',
    'Sent to a contact a sponsor invites to WOLO (at most 50 invitations a day).',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"sponsor_name": "string", "invited_name": "string", "referral_code": "string", "invite_url": "string", "validity_days": "number"}',
    '{{sponsor_name}} invites you to WOLO',
    'Hi {{invited_name}}, {{sponsor_name}} invites you to WOLO, the birthday pot for friends: your loved ones chip in with Wave to treat you to a movie, a restaurant or a spa. Sign up with code {{referral_code}}: {{invite_url}} (valid for {{validity_days}} days).',
    '<p>Hi {{invited_name}},</p>
<p>{{sponsor_name}} invites you to WOLO, the birthday pot for friends: your loved ones chip in with Wave to treat you to a movie, a restaurant or a spa.</p>
<p>Your referral code: <strong>{{referral_code}}</strong></p>
<p><a href="{{invite_url}}">Sign up</a></p>
<p>This invitation is valid for {{validity_days}} days.</p>'
),

-- ---------------------------------------------------------------- referral_accepted
(
    'referral_accepted.fr-SN', 'fr-SN',
    'Parrainage accepté',
    'Envoyé au parrain quand un contact invité accepte et s''inscrit ; les points sont acquis après le délai de maturation.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"sponsor_first_name": "string", "invitee_name": "string", "points": "number", "maturation_days": "number"}',
    '{{invitee_name}} a rejoint WOLO grâce à vous',
    'Bravo {{sponsor_first_name}} ! {{invitee_name}} a accepté votre invitation et rejoint WOLO. Vous gagnez {{points}} points, disponibles dans {{maturation_days}} jours. Merci de faire grandir la communauté !',
    '<p>Bravo {{sponsor_first_name}} !</p>
<p>{{invitee_name}} a accepté votre invitation et rejoint WOLO.</p>
<p>Vous gagnez <strong>{{points}} points</strong>, disponibles dans {{maturation_days}} jours.</p>
<p>Merci de faire grandir la communauté !</p>'
),
(
    'referral_accepted.wo-SN', 'wo-SN',
    'Parrainage accepté - wolof',
    'Envoyé au parrain quand un contact invité accepte et s''inscrit ; les points sont acquis après le délai de maturation.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"sponsor_first_name": "string", "invitee_name": "string", "points": "number", "maturation_days": "number"}',
    '{{invitee_name}} bindu na ci WOLO',
    'Ndokklee {{sponsor_first_name}} ! {{invitee_name}} nangu na sa woote, bindu na ci WOLO. Am nga {{points}} points ; dinañu wóor ci {{maturation_days}} fan. Jërëjëf !',
    '<p>Ndokklee {{sponsor_first_name}} !</p>
<p>{{invitee_name}} nangu na sa woote, bindu na ci WOLO.</p>
<p>Am nga <strong>{{points}} points</strong> ; dinañu wóor ci {{maturation_days}} fan.</p>
<p>Jërëjëf !</p>'
),
(
    'referral_accepted.en', 'en',
    'Parrainage accepté - anglais',
    'Sent to the sponsor when an invited contact accepts and signs up; points become available after the maturation delay.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"sponsor_first_name": "string", "invitee_name": "string", "points": "number", "maturation_days": "number"}',
    '{{invitee_name}} joined WOLO thanks to you',
    'Well done {{sponsor_first_name}}! {{invitee_name}} accepted your invitation and joined WOLO. You earn {{points}} points, available in {{maturation_days}} days. Thanks for growing the community!',
    '<p>Well done {{sponsor_first_name}}!</p>
<p>{{invitee_name}} accepted your invitation and joined WOLO.</p>
<p>You earn <strong>{{points}} points</strong>, available in {{maturation_days}} days.</p>
<p>Thanks for growing the community!</p>'
),

-- ---------------------------------------------------------------- pot_opened
(
    'pot_opened.fr-SN', 'fr-SN',
    'Cagnotte ouverte (J-30)',
    'Envoyé au bénéficiaire quand sa cagnotte s''ouvre, 30 jours avant son anniversaire.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"first_name": "string", "pot_title": "string", "birthday_date": "date", "days_left": "number", "target_amount_cfa": "cfa", "pot_url": "string"}',
    'Votre cagnotte « {{pot_title}} » est ouverte',
    'Bonne nouvelle {{first_name}} ! Votre cagnotte « {{pot_title}} » est ouverte : plus que {{days_left}} jours avant votre anniversaire, le {{birthday_date}}. Objectif : {{target_amount_cfa}} FCFA. Partagez ce lien pour que vos proches participent via Wave : {{pot_url}}',
    '<p>Bonne nouvelle {{first_name}} !</p>
<p>Votre cagnotte « {{pot_title}} » est ouverte : plus que {{days_left}} jours avant votre anniversaire, le {{birthday_date}}.</p>
<p>Objectif : <strong>{{target_amount_cfa}} FCFA</strong></p>
<p>Partagez ce lien pour que vos proches participent via Wave : <a href="{{pot_url}}">{{pot_url}}</a></p>'
),
(
    'pot_opened.wo-SN', 'wo-SN',
    'Cagnotte ouverte (J-30) - wolof',
    'Envoyé au bénéficiaire quand sa cagnotte s''ouvre, 30 jours avant son anniversaire.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"first_name": "string", "pot_title": "string", "birthday_date": "date", "days_left": "number", "target_amount_cfa": "cfa", "pot_url": "string"}',
    'Sa cagnotte « {{pot_title}} » ubbiku na',
    '{{first_name}}, sa cagnotte « {{pot_title}} » ubbiku na ! Sa bésu juddu mu ngi ñëw ci {{days_left}} fan ({{birthday_date}}). Li ñu jublu : {{target_amount_cfa}} FCFA. Yónneel lien bii sa xarit ak sa mbokk ngir ñu bokk ci Wave : {{pot_url}}',
    '<p>{{first_name}}, sa cagnotte « {{pot_title}} » ubbiku na !</p>
<p>Sa bésu juddu mu ngi ñëw ci {{days_left}} fan ({{birthday_date}}).</p>
<p>Li ñu jublu : <strong>{{target_amount_cfa}} FCFA</strong></p>
<p>Yónneel lien bii sa xarit ak sa mbokk ngir ñu bokk ci Wave : <a href="{{pot_url}}">{{pot_url}}</a></p>'
),
(
    'pot_opened.en', 'en',
    'Cagnotte ouverte (J-30) - anglais',
    'Sent to the birthday person when their pot opens, 30 days before their birthday.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"first_name": "string", "pot_title": "string", "birthday_date": "date", "days_left": "number", "target_amount_cfa": "cfa", "pot_url": "string"}',
    'Your pot "{{pot_title}}" is open',
    'Good news {{first_name}}! Your pot "{{pot_title}}" is open: {{days_left}} days to go until your birthday on {{birthday_date}}. Goal: {{target_amount_cfa}} FCFA. Share this link so your friends can chip in with Wave: {{pot_url}}',
    '<p>Good news {{first_name}}!</p>
<p>Your pot "{{pot_title}}" is open: {{days_left}} days to go until your birthday on {{birthday_date}}.</p>
<p>Goal: <strong>{{target_amount_cfa}} FCFA</strong></p>
<p>Share this link so your friends can chip in with Wave: <a href="{{pot_url}}">{{pot_url}}</a></p>'
),

-- ---------------------------------------------------------------- donation_received
(
    'donation_received.fr-SN', 'fr-SN',
    'Participation reçue',
    'Envoyé au bénéficiaire à chaque participation confirmée par Wave. Pour un don anonyme, donor_name vaut « Un proche ».',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"first_name": "string", "donor_name": "string", "amount_cfa": "cfa", "pot_title": "string", "raised_cfa": "cfa", "target_amount_cfa": "cfa"}',
    '{{donor_name}} a participé à votre cagnotte',
    '{{first_name}}, {{donor_name}} vient de verser {{amount_cfa}} FCFA dans votre cagnotte « {{pot_title}} ». Total : {{raised_cfa}} FCFA sur {{target_amount_cfa}} FCFA.',
    '<p>{{first_name}},</p>
<p>{{donor_name}} vient de verser <strong>{{amount_cfa}} FCFA</strong> dans votre cagnotte « {{pot_title}} ».</p>
<p>Total : {{raised_cfa}} FCFA sur {{target_amount_cfa}} FCFA.</p>'
),
(
    'donation_received.wo-SN', 'wo-SN',
    'Participation reçue - wolof',
    'Envoyé au bénéficiaire à chaque participation confirmée par Wave. Pour un don anonyme, donor_name vaut « Benn mbokk ».',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"first_name": "string", "donor_name": "string", "amount_cfa": "cfa", "pot_title": "string", "raised_cfa": "cfa", "target_amount_cfa": "cfa"}',
    '{{donor_name}} bokk na ci sa cagnotte',
    '{{first_name}}, {{donor_name}} yónnee na {{amount_cfa}} FCFA ci sa cagnotte « {{pot_title}} ». Ba leegi : {{raised_cfa}} FCFA ci {{target_amount_cfa}} FCFA.',
    '<p>{{first_name}},</p>
<p>{{donor_name}} yónnee na <strong>{{amount_cfa}} FCFA</strong> ci sa cagnotte « {{pot_title}} ».</p>
<p>Ba leegi : {{raised_cfa}} FCFA ci {{target_amount_cfa}} FCFA.</p>'
),
(
    'donation_received.en', 'en',
    'Participation reçue - anglais',
    'Sent to the birthday person for every contribution Wave confirms. For an anonymous gift, donor_name is "Someone close to you".',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"first_name": "string", "donor_name": "string", "amount_cfa": "cfa", "pot_title": "string", "raised_cfa": "cfa", "target_amount_cfa": "cfa"}',
    '{{donor_name}} chipped in to your pot',
    '{{first_name}}, {{donor_name}} just gave {{amount_cfa}} FCFA to your pot "{{pot_title}}". Total so far: {{raised_cfa}} FCFA of {{target_amount_cfa}} FCFA.',
    '<p>{{first_name}},</p>
<p>{{donor_name}} just gave <strong>{{amount_cfa}} FCFA</strong> to your pot "{{pot_title}}".</p>
<p>Total so far: {{raised_cfa}} FCFA of {{target_amount_cfa}} FCFA.</p>'
),

-- ---------------------------------------------------------------- pot_funded
(
    'pot_funded.fr-SN', 'fr-SN',
    'Objectif de la cagnotte atteint',
    'Envoyé au bénéficiaire quand le total des participations atteint l''objectif ; le pack choisi est réservé.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"first_name": "string", "pot_title": "string", "raised_cfa": "cfa", "pack_name": "string"}',
    'Objectif atteint : votre cagnotte est complète !',
    'Félicitations {{first_name}} ! Votre cagnotte « {{pot_title}} » a atteint son objectif avec {{raised_cfa}} FCFA. Votre cadeau « {{pack_name}} » est réservé et votre QR code arrive bientôt. Merci à tous vos proches !',
    '<p>Félicitations {{first_name}} !</p>
<p>Votre cagnotte « {{pot_title}} » a atteint son objectif avec <strong>{{raised_cfa}} FCFA</strong>.</p>
<p>Votre cadeau « {{pack_name}} » est réservé et votre QR code arrive bientôt.</p>
<p>Merci à tous vos proches !</p>'
),
(
    'pot_funded.wo-SN', 'wo-SN',
    'Objectif de la cagnotte atteint - wolof',
    'Envoyé au bénéficiaire quand le total des participations atteint l''objectif ; le pack choisi est réservé.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"first_name": "string", "pot_title": "string", "raised_cfa": "cfa", "pack_name": "string"}',
    'Sa cagnotte mat na !',
    'Ndokklee {{first_name}} ! Sa cagnotte « {{pot_title}} » mat na : {{raised_cfa}} FCFA. Sa may « {{pack_name}} » pare na ; dinañu la yónnee sa QR code ci kanam. Nu ngi sant say xarit ak sa mbokk !',
    '<p>Ndokklee {{first_name}} !</p>
<p>Sa cagnotte « {{pot_title}} » mat na : <strong>{{raised_cfa}} FCFA</strong>.</p>
<p>Sa may « {{pack_name}} » pare na ; dinañu la yónnee sa QR code ci kanam.</p>
<p>Nu ngi sant say xarit ak sa mbokk !</p>'
),
(
    'pot_funded.en', 'en',
    'Objectif de la cagnotte atteint - anglais',
    'Sent to the birthday person when contributions reach the goal; the chosen pack is booked.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"first_name": "string", "pot_title": "string", "raised_cfa": "cfa", "pack_name": "string"}',
    'Goal reached: your pot is complete!',
    'Congratulations {{first_name}}! Your pot "{{pot_title}}" reached its goal with {{raised_cfa}} FCFA. Your gift "{{pack_name}}" is booked and your QR code is on its way. Thank you to everyone who chipped in!',
    '<p>Congratulations {{first_name}}!</p>
<p>Your pot "{{pot_title}}" reached its goal with <strong>{{raised_cfa}} FCFA</strong>.</p>
<p>Your gift "{{pack_name}}" is booked and your QR code is on its way.</p>
<p>Thank you to everyone who chipped in!</p>'
),

-- ---------------------------------------------------------------- qr_ready
(
    'qr_ready.fr-SN', 'fr-SN',
    'QR code cadeau disponible',
    'Envoyé au bénéficiaire avec son QR code, utilisable chez le partenaire à partir du jour de son anniversaire.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"first_name": "string", "pack_name": "string", "partner_name": "string", "redeemable_from": "date", "expires_at": "date", "qr_url": "string"}',
    'Votre QR code cadeau est prêt',
    '{{first_name}}, votre QR code pour « {{pack_name}} » est prêt ! Présentez-le chez {{partner_name}} à partir du {{redeemable_from}} et jusqu''au {{expires_at}}. Votre QR code : {{qr_url}}',
    '<p>{{first_name}}, votre QR code pour « {{pack_name}} » est prêt !</p>
<p>Présentez-le chez {{partner_name}} à partir du {{redeemable_from}} et jusqu''au {{expires_at}}.</p>
<p><a href="{{qr_url}}">Afficher mon QR code</a></p>'
),
(
    'qr_ready.wo-SN', 'wo-SN',
    'QR code cadeau disponible - wolof',
    'Envoyé au bénéficiaire avec son QR code, utilisable chez le partenaire à partir du jour de son anniversaire.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"first_name": "string", "pack_name": "string", "partner_name": "string", "redeemable_from": "date", "expires_at": "date", "qr_url": "string"}',
    'Sa QR code pare na',
    '{{first_name}}, sa QR code ngir « {{pack_name}} » pare na ! Wonel ko ci {{partner_name}} dale ci {{redeemable_from}} ba {{expires_at}}. Sa QR code : {{qr_url}}',
    '<p>{{first_name}}, sa QR code ngir « {{pack_name}} » pare na !</p>
<p>Wonel ko ci {{partner_name}} dale ci {{redeemable_from}} ba {{expires_at}}.</p>
<p><a href="{{qr_url}}">Xool sa QR code</a></p>'
),
(
    'qr_ready.en', 'en',
    'QR code cadeau disponible - anglais',
    'Sent to the birthday person with their QR code, valid at the partner from their birthday on.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"first_name": "string", "pack_name": "string", "partner_name": "string", "redeemable_from": "date", "expires_at": "date", "qr_url": "string"}',
    'Your gift QR code is ready',
    '{{first_name}}, your QR code for "{{pack_name}}" is ready! Show it at {{partner_name}} from {{redeemable_from}} until {{expires_at}}. Your QR code: {{qr_url}}',
    '<p>{{first_name}}, your QR code for "{{pack_name}}" is ready!</p>
<p>Show it at {{partner_name}} from {{redeemable_from}} until {{expires_at}}.</p>
<p><a href="{{qr_url}}">Show my QR code</a></p>'
),

-- ---------------------------------------------------------------- redemption_done
(
    'redemption_done.fr-SN', 'fr-SN',
    'Cadeau utilisé',
    'Envoyé au bénéficiaire juste après le scan réussi de son QR code chez le partenaire.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"first_name": "string", "pack_name": "string", "venue_name": "string", "redeemed_at": "datetime"}',
    'Votre cadeau a bien été utilisé',
    '{{first_name}}, votre cadeau « {{pack_name}} » a bien été utilisé chez {{venue_name}} le {{redeemed_at}}. Nous vous souhaitons un excellent moment. Joyeux anniversaire de la part de toute l''équipe WOLO !',
    '<p>{{first_name}},</p>
<p>Votre cadeau « {{pack_name}} » a bien été utilisé chez {{venue_name}} le {{redeemed_at}}.</p>
<p>Nous vous souhaitons un excellent moment. Joyeux anniversaire de la part de toute l''équipe WOLO !</p>'
),
(
    'redemption_done.wo-SN', 'wo-SN',
    'Cadeau utilisé - wolof',
    'Envoyé au bénéficiaire juste après le scan réussi de son QR code chez le partenaire.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"first_name": "string", "pack_name": "string", "venue_name": "string", "redeemed_at": "datetime"}',
    'Jëfandikoo nga sa may',
    '{{first_name}}, jëfandikoo nga sa may « {{pack_name}} » ci {{venue_name}} ({{redeemed_at}}). Yàlla na la neex ! Bésu juddu bu neex !',
    '<p>{{first_name}},</p>
<p>Jëfandikoo nga sa may « {{pack_name}} » ci {{venue_name}} ({{redeemed_at}}).</p>
<p>Yàlla na la neex ! Bésu juddu bu neex !</p>'
),
(
    'redemption_done.en', 'en',
    'Cadeau utilisé - anglais',
    'Sent to the birthday person right after their QR code is scanned successfully at the partner.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"first_name": "string", "pack_name": "string", "venue_name": "string", "redeemed_at": "datetime"}',
    'Your gift has been used',
    '{{first_name}}, your gift "{{pack_name}}" was used at {{venue_name}} on {{redeemed_at}}. We hope you have a wonderful time. Happy birthday from everyone at WOLO!',
    '<p>{{first_name}},</p>
<p>Your gift "{{pack_name}}" was used at {{venue_name}} on {{redeemed_at}}.</p>
<p>We hope you have a wonderful time. Happy birthday from everyone at WOLO!</p>'
),

-- ---------------------------------------------------------------- points_matured
(
    'points_matured.fr-SN', 'fr-SN',
    'Points de parrainage disponibles',
    'Envoyé au parrain quand des points en attente deviennent disponibles (après le délai de maturation).',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"first_name": "string", "points": "number", "balance_points": "number", "balance_cfa": "cfa"}',
    'Vos points WOLO sont disponibles',
    '{{first_name}}, {{points}} points viennent d''être validés sur votre compte WOLO. Solde disponible : {{balance_points}} points, soit {{balance_cfa}} FCFA à offrir dans une cagnotte.',
    '<p>{{first_name}},</p>
<p><strong>{{points}} points</strong> viennent d''être validés sur votre compte WOLO.</p>
<p>Solde disponible : {{balance_points}} points, soit {{balance_cfa}} FCFA à offrir dans une cagnotte.</p>'
),
(
    'points_matured.wo-SN', 'wo-SN',
    'Points de parrainage disponibles - wolof',
    'Envoyé au parrain quand des points en attente deviennent disponibles (après le délai de maturation).',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"first_name": "string", "points": "number", "balance_points": "number", "balance_cfa": "cfa"}',
    'Sa points WOLO wóor nañu',
    '{{first_name}}, {{points}} points wóor nañu ci sa compte WOLO. Am nga leegi {{balance_points}} points, muy {{balance_cfa}} FCFA ngir may ci ab cagnotte.',
    '<p>{{first_name}},</p>
<p><strong>{{points}} points</strong> wóor nañu ci sa compte WOLO.</p>
<p>Am nga leegi {{balance_points}} points, muy {{balance_cfa}} FCFA ngir may ci ab cagnotte.</p>'
),
(
    'points_matured.en', 'en',
    'Points de parrainage disponibles - anglais',
    'Sent to the sponsor when pending points become available (after the maturation delay).',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"first_name": "string", "points": "number", "balance_points": "number", "balance_cfa": "cfa"}',
    'Your WOLO points are available',
    '{{first_name}}, {{points}} points have just been confirmed on your WOLO account. Available balance: {{balance_points}} points, worth {{balance_cfa}} FCFA to put towards a pot.',
    '<p>{{first_name}},</p>
<p><strong>{{points}} points</strong> have just been confirmed on your WOLO account.</p>
<p>Available balance: {{balance_points}} points, worth {{balance_cfa}} FCFA to put towards a pot.</p>'
),

-- ---------------------------------------------------------------- settlement_paid
(
    'settlement_paid.fr-SN', 'fr-SN',
    'Règlement partenaire versé',
    'Envoyé au contact d''un partenaire quand WOLO a versé son règlement pour une période.',
    array['email', 'sms']::varchar(20)[],
    '{"contact_name": "string", "partner_name": "string", "amount_cfa": "cfa", "period_start": "date", "period_end": "date", "redemptions_count": "number", "payment_reference": "string"}',
    'Règlement WOLO versé : {{amount_cfa}} FCFA',
    'Bonjour {{contact_name}}, le règlement WOLO de {{partner_name}} pour la période du {{period_start}} au {{period_end}} a été versé : {{amount_cfa}} FCFA pour {{redemptions_count}} cadeau(x) utilisé(s). Référence : {{payment_reference}}. Merci pour votre confiance !',
    '<p>Bonjour {{contact_name}},</p>
<p>Le règlement WOLO de {{partner_name}} pour la période du {{period_start}} au {{period_end}} a été versé.</p>
<p>Montant : <strong>{{amount_cfa}} FCFA</strong> pour {{redemptions_count}} cadeau(x) utilisé(s).<br>Référence : {{payment_reference}}</p>
<p>Merci pour votre confiance !</p>
<p>L''équipe WOLO</p>'
),
(
    'settlement_paid.wo-SN', 'wo-SN',
    'Règlement partenaire versé - wolof',
    'Envoyé au contact d''un partenaire quand WOLO a versé son règlement pour une période.',
    array['email', 'sms']::varchar(20)[],
    '{"contact_name": "string", "partner_name": "string", "amount_cfa": "cfa", "period_start": "date", "period_end": "date", "redemptions_count": "number", "payment_reference": "string"}',
    'WOLO fey na : {{amount_cfa}} FCFA',
    'Salaam aleekum {{contact_name}}, WOLO fey na {{partner_name}} {{amount_cfa}} FCFA ngir {{redemptions_count}} QR code yu ñu jëfandikoo dale ci {{period_start}} ba {{period_end}}. Référence : {{payment_reference}}. Jërëjëf ci sa kóolute !',
    '<p>Salaam aleekum {{contact_name}},</p>
<p>WOLO fey na {{partner_name}} <strong>{{amount_cfa}} FCFA</strong> ngir {{redemptions_count}} QR code yu ñu jëfandikoo dale ci {{period_start}} ba {{period_end}}.</p>
<p>Référence : {{payment_reference}}</p>
<p>Jërëjëf ci sa kóolute !</p>'
),
(
    'settlement_paid.en', 'en',
    'Règlement partenaire versé - anglais',
    'Sent to a partner''s contact when WOLO has paid out its settlement for a period.',
    array['email', 'sms']::varchar(20)[],
    '{"contact_name": "string", "partner_name": "string", "amount_cfa": "cfa", "period_start": "date", "period_end": "date", "redemptions_count": "number", "payment_reference": "string"}',
    'WOLO settlement paid: {{amount_cfa}} FCFA',
    'Hello {{contact_name}}, the WOLO settlement for {{partner_name}} covering {{period_start}} to {{period_end}} has been paid: {{amount_cfa}} FCFA for {{redemptions_count}} redeemed gift(s). Reference: {{payment_reference}}. Thank you for your trust!',
    '<p>Hello {{contact_name}},</p>
<p>The WOLO settlement for {{partner_name}} covering {{period_start}} to {{period_end}} has been paid.</p>
<p>Amount: <strong>{{amount_cfa}} FCFA</strong> for {{redemptions_count}} redeemed gift(s).<br>Reference: {{payment_reference}}</p>
<p>Thank you for your trust!</p>
<p>The WOLO team</p>'
)

on conflict (template_key) do nothing;
