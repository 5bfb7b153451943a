-- Demo data: notifications, notification preferences, notification analytics.
--
-- Templates come from migration V20 and are looked up by template_key (a
-- missing template makes the insert fail instead of silently dropping the
-- row). Bodies are the templates rendered with template_data; amounts are
-- written the fr-SN way ("22 500 FCFA"), dates as DD/MM/YYYY.
-- WhatsApp notifications are off by default (flag whatsapp_notifications,
-- V21), so the demo messages go by SMS and e-mail.

set local timezone to 'Africa/Dakar';

insert into notifications.notifications
    (id, user_id, recipient_identifier, template_id, channel, subject, body, template_data,
     status, scheduled_at, sent_at, delivered_at, failed_at,
     provider, provider_message_id, provider_response,
     retry_count, max_retries, next_retry_at, error_message, error_code, created_at, updated_at)
values
    -- OTP for Moussa's login an hour ago.
    ('00000000-0000-4000-a000-080100000001', '00000000-0000-4000-a000-010100000002', '+221781234568',
     (select id from notifications.notification_templates where template_key = 'otp.fr-SN'), 'sms', null,
     'WOLO : votre code de vérification est 482913. Il expire dans 10 minutes. Ne le communiquez à personne.',
     '{"code": "482913", "minutes": 10}',
     'delivered', now() - interval '65 minutes', now() - interval '65 minutes' + interval '2 seconds', now() - interval '65 minutes' + interval '6 seconds', null,
     'twilio', 'SMdemo0000000000000000000000000001', '{"status": "delivered"}',
     0, 3, null, null, null, now() - interval '65 minutes', now() - interval '65 minutes' + interval '6 seconds'),
    -- Awa's two invitations this morning (people without an account yet).
    ('00000000-0000-4000-a000-080100000002', null, '+221775550101',
     (select id from notifications.notification_templates where template_key = 'referral_invitation.fr-SN'), 'sms', null,
     'Bonjour Boubacar Diouf, Awa Ndiaye vous invite sur WOLO, la cagnotte d''anniversaire entre amis : vos proches cotisent via Wave pour vous offrir un ciné, un resto ou un spa. Inscrivez-vous avec le code AWA-B9N4T : https://wolo.example.com/i/AWA-B9N4T (valable 7 jours).',
     '{"sponsor_name": "Awa Ndiaye", "invited_name": "Boubacar Diouf", "referral_code": "AWA-B9N4T", "invite_url": "https://wolo.example.com/i/AWA-B9N4T", "validity_days": 7}',
     'delivered', current_date + time '09:15', current_date + time '09:15:03', current_date + time '09:15:09', null,
     'twilio', 'SMdemo0000000000000000000000000002', '{"status": "delivered"}',
     0, 3, null, null, null, current_date + time '09:15', current_date + time '09:15:09'),
    ('00000000-0000-4000-a000-080100000003', null, '+221785550202',
     (select id from notifications.notification_templates where template_key = 'referral_invitation.fr-SN'), 'sms', null,
     'Bonjour Astou Mbengue, Awa Ndiaye vous invite sur WOLO, la cagnotte d''anniversaire entre amis : vos proches cotisent via Wave pour vous offrir un ciné, un resto ou un spa. Inscrivez-vous avec le code AWA-M2V6R : https://wolo.example.com/i/AWA-M2V6R (valable 7 jours).',
     '{"sponsor_name": "Awa Ndiaye", "invited_name": "Astou Mbengue", "referral_code": "AWA-M2V6R", "invite_url": "https://wolo.example.com/i/AWA-M2V6R", "validity_days": 7}',
     'sent', current_date + time '09:16', current_date + time '09:16:02', null, null,
     'twilio', 'SMdemo0000000000000000000000000003', '{"status": "sent"}',
     0, 3, null, null, null, current_date + time '09:16', current_date + time '09:16:02'),
    -- The invitation to Lamine never arrived: failed after 3 retries.
    ('00000000-0000-4000-a000-080100000004', null, '+221765550303',
     (select id from notifications.notification_templates where template_key = 'referral_invitation.fr-SN'), 'sms', null,
     'Bonjour Lamine Cissé, Awa Ndiaye vous invite sur WOLO, la cagnotte d''anniversaire entre amis : vos proches cotisent via Wave pour vous offrir un ciné, un resto ou un spa. Inscrivez-vous avec le code AWA-H5C1W : https://wolo.example.com/i/AWA-H5C1W (valable 7 jours).',
     '{"sponsor_name": "Awa Ndiaye", "invited_name": "Lamine Cissé", "referral_code": "AWA-H5C1W", "invite_url": "https://wolo.example.com/i/AWA-H5C1W", "validity_days": 7}',
     'failed', current_date - 20 + time '11:00', current_date - 20 + time '11:00:02', null, current_date - 20 + time '11:15',
     'twilio', 'SMdemo0000000000000000000000000004', '{"status": "undelivered", "error_code": 30003}',
     3, 3, null, 'Unreachable destination handset', '30003', current_date - 20 + time '11:00', current_date - 20 + time '11:15'),
    ('00000000-0000-4000-a000-080100000005', '00000000-0000-4000-a000-010100000001', '+221771234567',
     (select id from notifications.notification_templates where template_key = 'referral_accepted.fr-SN'), 'sms', null,
     'Bravo Awa ! Moussa Diop a accepté votre invitation et rejoint WOLO. Vous gagnez 100 points, disponibles dans 14 jours. Merci de faire grandir la communauté !',
     '{"sponsor_first_name": "Awa", "invitee_name": "Moussa Diop", "points": 100, "maturation_days": 14}',
     'delivered', current_date - 45 + time '12:06', current_date - 45 + time '12:06:02', current_date - 45 + time '12:06:07', null,
     'twilio', 'SMdemo0000000000000000000000000005', '{"status": "delivered"}',
     0, 3, null, null, null, current_date - 45 + time '12:06', current_date - 45 + time '12:06:07'),
    ('00000000-0000-4000-a000-080100000006', '00000000-0000-4000-a000-010100000002', '+221781234568',
     (select id from notifications.notification_templates where template_key = 'pot_opened.fr-SN'), 'sms', null,
     'Bonne nouvelle Moussa ! Votre cagnotte « L''anniversaire de Moussa » est ouverte : plus que 30 jours avant votre anniversaire, le '
        || to_char(current_date + 12, 'DD/MM/YYYY')
        || '. Objectif : 22 500 FCFA. Partagez ce lien pour que vos proches participent via Wave : https://wolo.example.com/p/moussa-diop-28',
     jsonb_build_object('first_name', 'Moussa', 'pot_title', 'L''anniversaire de Moussa', 'birthday_date', current_date + 12,
                        'days_left', 30, 'target_amount_cfa', 22500, 'pot_url', 'https://wolo.example.com/p/moussa-diop-28'),
     'delivered', current_date - 18 + time '08:00', current_date - 18 + time '08:00:04', current_date - 18 + time '08:00:11', null,
     'twilio', 'SMdemo0000000000000000000000000006', '{"status": "delivered"}',
     0, 3, null, null, null, current_date - 18 + time '08:00', current_date - 18 + time '08:00:11'),
    ('00000000-0000-4000-a000-080100000007', '00000000-0000-4000-a000-010100000002', '+221781234568',
     (select id from notifications.notification_templates where template_key = 'donation_received.fr-SN'), 'sms', null,
     'Moussa, Khady Diallo vient de verser 2 000 FCFA dans votre cagnotte « L''anniversaire de Moussa ». Total : 10 000 FCFA sur 22 500 FCFA.',
     '{"first_name": "Moussa", "donor_name": "Khady Diallo", "amount_cfa": 2000, "pot_title": "L''anniversaire de Moussa", "raised_cfa": 10000, "target_amount_cfa": 22500}',
     'delivered', current_date - 2 + time '20:29', current_date - 2 + time '20:29:03', current_date - 2 + time '20:29:08', null,
     'twilio', 'SMdemo0000000000000000000000000007', '{"status": "delivered"}',
     0, 3, null, null, null, current_date - 2 + time '20:29', current_date - 2 + time '20:29:08'),
    ('00000000-0000-4000-a000-080100000008', '00000000-0000-4000-a000-010100000003', 'fatou.sow@example.com',
     (select id from notifications.notification_templates where template_key = 'pot_funded.fr-SN'), 'email',
     'Objectif atteint : votre cagnotte est complète !',
     'Félicitations Fatou ! Votre cagnotte « Les 31 ans de Fatou » a atteint son objectif avec 40 000 FCFA. Votre cadeau « Pause Bien-être » est réservé et votre QR code arrive bientôt. Merci à tous vos proches !',
     '{"first_name": "Fatou", "pot_title": "Les 31 ans de Fatou", "raised_cfa": 40000, "pack_name": "Pause Bien-être"}',
     'delivered', current_date - 8 + time '17:57', current_date - 8 + time '17:57:05', current_date - 8 + time '17:57:06', null,
     'smtp', '<demo-0008@mail.wolo.example.com>', '{"smtp_code": 250}',
     0, 3, null, null, null, current_date - 8 + time '17:57', current_date - 8 + time '17:57:06'),
    ('00000000-0000-4000-a000-080100000009', '00000000-0000-4000-a000-010100000003', 'fatou.sow@example.com',
     (select id from notifications.notification_templates where template_key = 'qr_ready.fr-SN'), 'email',
     'Votre QR code cadeau est prêt',
     'Fatou, votre QR code pour « Pause Bien-être » est prêt ! Présentez-le chez Keur Bien-Être Spa à partir du '
        || to_char(current_date, 'DD/MM/YYYY') || ' et jusqu''au ' || to_char(current_date + 90, 'DD/MM/YYYY')
        || '. Votre QR code : https://wolo.example.com/qr/WOLO-7F3K-9Q2M-XT4B',
     jsonb_build_object('first_name', 'Fatou', 'pack_name', 'Pause Bien-être', 'partner_name', 'Keur Bien-Être Spa',
                        'redeemable_from', current_date, 'expires_at', current_date + 90,
                        'qr_url', 'https://wolo.example.com/qr/WOLO-7F3K-9Q2M-XT4B'),
     'delivered', current_date - 8 + time '18:01', current_date - 8 + time '18:01:04', current_date - 8 + time '18:01:05', null,
     'smtp', '<demo-0009@mail.wolo.example.com>', '{"smtp_code": 250}',
     0, 3, null, null, null, current_date - 8 + time '18:01', current_date - 8 + time '18:01:05'),
    -- Cheikh reads WOLO in Wolof.
    ('00000000-0000-4000-a000-080100000010', '00000000-0000-4000-a000-010100000004', '+221701234570',
     (select id from notifications.notification_templates where template_key = 'redemption_done.wo-SN'), 'sms', null,
     'Cheikh, jëfandikoo nga sa may « Pack Ciné Duo » ci CinéTeranga Plateau ('
        || to_char(current_date - 38, 'DD/MM/YYYY') || ' 20:15). Yàlla na la neex ! Bésu juddu bu neex !',
     jsonb_build_object('first_name', 'Cheikh', 'pack_name', 'Pack Ciné Duo', 'venue_name', 'CinéTeranga Plateau',
                        'redeemed_at', current_date - 38 + time '20:15'),
     'delivered', current_date - 38 + time '20:16', current_date - 38 + time '20:16:03', current_date - 38 + time '20:16:10', null,
     'twilio', 'SMdemo0000000000000000000000000010', '{"status": "delivered"}',
     0, 3, null, null, null, current_date - 38 + time '20:16', current_date - 38 + time '20:16:10'),
    ('00000000-0000-4000-a000-080100000011', '00000000-0000-4000-a000-010100000001', 'awa.ndiaye@example.com',
     (select id from notifications.notification_templates where template_key = 'points_matured.fr-SN'), 'email',
     'Vos points WOLO sont disponibles',
     'Awa, 100 points viennent d''être validés sur votre compte WOLO. Solde disponible : 150 points, soit 1 500 FCFA à offrir dans une cagnotte.',
     '{"first_name": "Awa", "points": 100, "balance_points": 150, "balance_cfa": 1500}',
     'delivered', current_date - 4 + time '08:05', current_date - 4 + time '08:05:02', current_date - 4 + time '08:05:03', null,
     'smtp', '<demo-0011@mail.wolo.example.com>', '{"smtp_code": 250}',
     0, 3, null, null, null, current_date - 4 + time '08:05', current_date - 4 + time '08:05:03'),
    -- Mariama's pot opening message, queued for the day it opens.
    ('00000000-0000-4000-a000-080100000013', '00000000-0000-4000-a000-010100000007', '+221763334455',
     (select id from notifications.notification_templates where template_key = 'pot_opened.fr-SN'), 'sms', null,
     'Bonne nouvelle Mariama ! Votre cagnotte « Les 16 ans de Mariama » est ouverte : plus que 30 jours avant votre anniversaire, le '
        || to_char(current_date + 50, 'DD/MM/YYYY')
        || '. Objectif : 30 000 FCFA. Partagez ce lien pour que vos proches participent via Wave : https://wolo.example.com/p/mariama-sarr-16',
     jsonb_build_object('first_name', 'Mariama', 'pot_title', 'Les 16 ans de Mariama', 'birthday_date', current_date + 50,
                        'days_left', 30, 'target_amount_cfa', 30000, 'pot_url', 'https://wolo.example.com/p/mariama-sarr-16'),
     'pending', current_date + 20 + time '08:00', null, null, null,
     null, null, null,
     0, 3, null, null, null, current_date - 60 + time '09:35', current_date - 60 + time '09:35'),
    -- Ousmane's reset e-mail: the first attempt hit a temporary SMTP error,
    -- a retry is due in a minute.
    ('00000000-0000-4000-a000-080100000014', '00000000-0000-4000-a000-010100000008', 'ousmane.gueye@example.com',
     (select id from notifications.notification_templates where template_key = 'password_reset.en'), 'email',
     'Reset your WOLO password',
     'Hello Ousmane,

You asked to reset your WOLO password. Open this link to choose a new one: https://wolo.example.com/reset?token=demo-not-a-real-token

The link is valid for 30 minutes and works only once. If you did not ask for this, ignore this message: your password stays the same.

The WOLO team',
     '{"first_name": "Ousmane", "reset_url": "https://wolo.example.com/reset?token=demo-not-a-real-token", "minutes": 30}',
     'pending', now() - interval '5 minutes', null, null, null,
     'smtp', null, '{"smtp_code": 421, "message": "Service not available, try again later"}',
     1, 3, now() + interval '1 minute', '421 Service not available, try again later', '421',
     now() - interval '5 minutes', now() - interval '4 minutes'),
    ('00000000-0000-4000-a000-080100000015', '00000000-0000-4000-a000-010100000009', '+221784445566',
     (select id from notifications.notification_templates where template_key = 'referral_accepted.fr-SN'), 'sms', null,
     'Bravo Khady ! Seynabou Kane a accepté votre invitation et rejoint WOLO. Vous gagnez 100 points, disponibles dans 14 jours. Merci de faire grandir la communauté !',
     '{"sponsor_first_name": "Khady", "invitee_name": "Seynabou Kane", "points": 100, "maturation_days": 14}',
     'delivered', current_date - 3 + time '10:13', current_date - 3 + time '10:13:02', current_date - 3 + time '10:13:06', null,
     'twilio', 'SMdemo0000000000000000000000000015', '{"status": "delivered"}',
     0, 3, null, null, null, current_date - 3 + time '10:13', current_date - 3 + time '10:13:06')
on conflict do nothing;

-- CinéTeranga's settlement notice (07_qr.sql), sent when it was paid.
insert into notifications.notifications
    (id, user_id, recipient_identifier, template_id, channel, subject, body, template_data,
     status, scheduled_at, sent_at, delivered_at, provider, provider_message_id, provider_response,
     retry_count, max_retries, created_at, updated_at)
select
    '00000000-0000-4000-a000-080100000012', '00000000-0000-4000-a000-010100000013', 'pape.seck@example.com',
    (select id from notifications.notification_templates where template_key = 'settlement_paid.fr-SN'), 'email',
    'Règlement WOLO versé : 12 000 FCFA',
    'Bonjour Pape Seck, le règlement WOLO de CinéTeranga pour la période du ' || to_char(s.period_start, 'DD/MM/YYYY')
        || ' au ' || to_char(s.period_end, 'DD/MM/YYYY')
        || ' a été versé : 12 000 FCFA pour 1 cadeau(x) utilisé(s). Référence : WAVE-PAYOUT-DEMO-0001. Merci pour votre confiance !',
    jsonb_build_object('contact_name', 'Pape Seck', 'partner_name', 'CinéTeranga', 'amount_cfa', 12000,
                       'period_start', s.period_start, 'period_end', s.period_end,
                       'redemptions_count', 1, 'payment_reference', 'WAVE-PAYOUT-DEMO-0001'),
    'delivered', s.paid_at + interval '5 minutes', s.paid_at + interval '5 minutes 3 seconds', s.paid_at + interval '5 minutes 4 seconds',
    'smtp', '<demo-0012@mail.wolo.example.com>', '{"smtp_code": 250}',
    0, 3, s.paid_at + interval '5 minutes', s.paid_at + interval '5 minutes 4 seconds'
from qr.partner_settlements s
where s.id = '00000000-0000-4000-a000-070200000001'
on conflict do nothing;

insert into notifications.notification_preferences
    (user_id, email_enabled, sms_enabled, whatsapp_enabled, push_enabled,
     referral_notifications, pot_notifications, donation_notifications, marketing_notifications,
     digest_frequency, quiet_hours_start, quiet_hours_end, updated_at)
values
    ('00000000-0000-4000-a000-010100000001', true,  true,  true,  true,  true,  true,  true,  true,  'immediate', '22:00', '08:00', now() - interval '200 days'),
    ('00000000-0000-4000-a000-010100000002', false, true,  true,  true,  true,  true,  true,  false, 'immediate', '22:00', '08:00', now() - interval '45 days'),
    ('00000000-0000-4000-a000-010100000003', true,  true,  true,  true,  true,  true,  true,  false, 'daily',     '22:00', '08:00', now() - interval '150 days'),
    ('00000000-0000-4000-a000-010100000004', false, true,  true,  false, true,  true,  true,  false, 'immediate', '22:00', '07:00', now() - interval '120 days'),
    ('00000000-0000-4000-a000-010100000005', true,  true,  false, true,  true,  true,  true,  false, 'daily',     '22:00', '08:00', now() - interval '80 days'),
    -- The minor: no marketing, and a quieter evening.
    ('00000000-0000-4000-a000-010100000007', false, true,  false, true,  true,  true,  true,  false, 'daily',     '21:00', '08:00', now() - interval '60 days'),
    ('00000000-0000-4000-a000-010100000008', true,  false, false, true,  true,  true,  true,  false, 'weekly',    '22:00', '08:00', now() - interval '30 days'),
    ('00000000-0000-4000-a000-010100000009', true,  true,  true,  true,  true,  true,  true,  true,  'immediate', '23:00', '07:30', now() - interval '160 days'),
    ('00000000-0000-4000-a000-010100000013', true,  true,  false, true,  false, false, false, false, 'daily',     '22:00', '08:00', now() - interval '100 days')
on conflict do nothing;

-- Daily delivery statistics per template and channel. Yesterday Awa sent 50
-- invitations (her daily limit, 04_referral.sql).
insert into notifications.notification_analytics
    (id, date, template_key, channel, sent_count, delivered_count, failed_count, bounce_count,
     opened_count, clicked_count, delivery_rate, open_rate, click_rate, created_at)
values
    ('00000000-0000-4000-a000-080200000001', current_date - 1, 'referral_invitation.fr-SN', 'sms', 50, 47, 3, 0,
     0, 12, 0.9400, null, 0.2553, current_date + time '00:15'),
    ('00000000-0000-4000-a000-080200000002', current_date - 2, 'donation_received.fr-SN', 'sms', 1, 1, 0, 0,
     0, 0, 1.0000, null, null, current_date - 1 + time '00:15'),
    ('00000000-0000-4000-a000-080200000003', current_date - 8, 'pot_funded.fr-SN', 'email', 1, 1, 0, 0,
     1, 0, 1.0000, 1.0000, 0.0000, current_date - 7 + time '00:15'),
    ('00000000-0000-4000-a000-080200000004', current_date - 8, 'qr_ready.fr-SN', 'email', 1, 1, 0, 0,
     1, 1, 1.0000, 1.0000, 1.0000, current_date - 7 + time '00:15')
on conflict do nothing;
