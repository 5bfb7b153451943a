-- Demo data: pots (one per status), invitations, daily analytics snapshots.
--
-- Every pot opens at J-30 (scheduled_open_at = birthday - 30 days, 08:00
-- Dakar), which satisfies check_open_before_birthday.
--   01 Mariama  scheduled  birthday in 50 days, opens in 20 days   target 30 000
--   02 Moussa   open       birthday in 12 days, 10 000 raised      target 22 500
--   03 Fatou    funded     birthday today, 40 000 raised           target 40 000
--   04 Aminata  expired    birthday 20 days ago, 8 000 raised      target 35 000
--   05 Cheikh   closed     birthday 40 days ago, 15 000 raised,    target 15 000
--                          gift redeemed 38 days ago
-- Raised amounts are the sums of succeeded donations (06_donations.sql); the
-- latest pot_analytics snapshot of each pot repeats them.

set local timezone to 'Africa/Dakar';

insert into pots.pots
    (id, owner_user_id, title, description, target_amount_cfa, birthday_date,
     scheduled_open_at, actual_opened_at, closed_at, status, visibility, preferred_pack_id,
     allow_anonymous_donations, show_donor_names, enable_messages, share_count, view_count,
     cover_image_url, gallery_images, created_from_referral_id, created_at, updated_at)
values
    ('00000000-0000-4000-a000-040100000001', '00000000-0000-4000-a000-010100000007',
     'Les 16 ans de Mariama', 'Une sortie cinéma en famille pour fêter mes 16 ans !',
     30000, current_date + 50,
     current_date + 20 + time '08:00', null, null, 'scheduled', 'friends_only', '00000000-0000-4000-a000-060200000005',
     true, true, true, 0, 0,
     null, null, '00000000-0000-4000-a000-030100000008',
     current_date - 60 + time '09:35', current_date - 60 + time '09:35'),
    ('00000000-0000-4000-a000-040100000002', '00000000-0000-4000-a000-010100000002',
     'L''anniversaire de Moussa', 'Aidez-moi à offrir un bon dîner à deux pour mes 28 ans. Merci la famille !',
     22500, current_date + 12,
     current_date - 18 + time '08:00', current_date - 18 + time '08:00', null, 'open', 'public', '00000000-0000-4000-a000-060200000002',
     true, true, true, 9, 64,
     'https://cdn.example.com/wolo/pots/moussa-cover.jpg', null, '00000000-0000-4000-a000-030100000001',
     current_date - 45 + time '12:10', current_date - 2 + time '20:31'),
    ('00000000-0000-4000-a000-040100000003', '00000000-0000-4000-a000-010100000003',
     'Les 31 ans de Fatou', 'Un moment de détente au spa pour Fatou, qui le mérite bien !',
     40000, current_date,
     current_date - 30 + time '08:00', current_date - 30 + time '08:00', null, 'funded', 'public', '00000000-0000-4000-a000-060200000003',
     true, true, true, 15, 120,
     'https://cdn.example.com/wolo/pots/fatou-cover.jpg',
     '["https://cdn.example.com/wolo/pots/fatou-1.jpg", "https://cdn.example.com/wolo/pots/fatou-2.jpg"]', null,
     current_date - 40 + time '16:00', current_date - 8 + time '18:05'),
    ('00000000-0000-4000-a000-040100000004', '00000000-0000-4000-a000-010100000005',
     'Anniversaire d''Aminata', 'Une journée au Lac Rose pour mes 26 ans.',
     35000, current_date - 20,
     current_date - 50 + time '08:00', current_date - 50 + time '08:00', current_date - 19 + time '00:05', 'expired', 'friends_only', '00000000-0000-4000-a000-060200000004',
     true, false, true, 4, 41,
     null, null, '00000000-0000-4000-a000-030100000002',
     current_date - 80 + time '08:50', current_date - 19 + time '00:05'),
    ('00000000-0000-4000-a000-040100000005', '00000000-0000-4000-a000-010100000004',
     'Les 35 ans de Cheikh', 'Bésu juddu Cheikh : sinema ak xarit yi. Jërëjëf ci seen ndimbal !',
     15000, current_date - 40,
     current_date - 70 + time '08:00', current_date - 70 + time '08:00', current_date - 38 + time '20:15', 'closed', 'public', '00000000-0000-4000-a000-060200000001',
     true, true, true, 6, 37,
     null, null, null,
     current_date - 100 + time '18:00', current_date - 38 + time '20:15')
on conflict do nothing;

-- Fixed short codes (V119 draws them at random), so that the README's USSD and SMS examples
-- type the same digits on every machine.
update pots.pots p
   set short_code = v.code
  from (values ('00000000-0000-4000-a000-040100000001'::uuid, '301601'),
               ('00000000-0000-4000-a000-040100000002'::uuid, '481228'),
               ('00000000-0000-4000-a000-040100000003'::uuid, '703104'),
               ('00000000-0000-4000-a000-040100000004'::uuid, '560735'),
               ('00000000-0000-4000-a000-040100000005'::uuid, '915035')) v (id, code)
 where p.id = v.id and p.short_code <> v.code;

insert into pots.pot_invitations
    (id, pot_id, invited_by_user_id, invitation_method, recipient_identifier, custom_message,
     sent_at, opened_at, clicked_at, created_at)
values
    -- Moussa's open pot
    ('00000000-0000-4000-a000-040200000001', '00000000-0000-4000-a000-040100000002', '00000000-0000-4000-a000-010100000002',
     'whatsapp', '+221771234567', 'Awa, merci pour l''invitation ! Ma cagnotte est ouverte.',
     current_date - 18 + time '08:30', current_date - 18 + time '09:02', current_date - 18 + time '09:03', current_date - 18 + time '08:30'),
    ('00000000-0000-4000-a000-040200000002', '00000000-0000-4000-a000-040100000002', '00000000-0000-4000-a000-010100000002',
     'whatsapp', '+221784445566', null,
     current_date - 18 + time '08:31', current_date - 17 + time '07:40', current_date - 2 + time '20:25', current_date - 18 + time '08:31'),
    ('00000000-0000-4000-a000-040200000003', '00000000-0000-4000-a000-040100000002', '00000000-0000-4000-a000-010100000002',
     'email', 'ousmane.gueye@example.com', 'Ousmane, même depuis Paris tu peux participer via Wave !',
     current_date - 17 + time '10:00', current_date - 16 + time '22:10', now() - interval '12 minutes', current_date - 17 + time '10:00'),
    ('00000000-0000-4000-a000-040200000004', '00000000-0000-4000-a000-040100000002', '00000000-0000-4000-a000-010100000002',
     'social', '@moussa.diop.sn', 'Lien partagé en story',
     current_date - 17 + time '12:00', null, null, current_date - 17 + time '12:00'),
    ('00000000-0000-4000-a000-040200000005', '00000000-0000-4000-a000-040100000002', '00000000-0000-4000-a000-010100000002',
     'sms', '+221761234569', null,
     current_date - 17 + time '12:05', null, null, current_date - 17 + time '12:05'),
    ('00000000-0000-4000-a000-040200000006', '00000000-0000-4000-a000-040100000002', '00000000-0000-4000-a000-010100000002',
     'sms', '+221705556677', null,
     current_date - 3 + time '11:00', current_date - 3 + time '13:50', current_date - 3 + time '13:55', current_date - 3 + time '11:00'),
    -- Fatou's funded pot
    ('00000000-0000-4000-a000-040200000007', '00000000-0000-4000-a000-040100000003', '00000000-0000-4000-a000-010100000003',
     'whatsapp', '+221771234567', null,
     current_date - 26 + time '08:40', current_date - 26 + time '09:15', current_date - 25 + time '12:58', current_date - 26 + time '08:40'),
    ('00000000-0000-4000-a000-040200000008', '00000000-0000-4000-a000-040100000003', '00000000-0000-4000-a000-010100000003',
     'whatsapp', '+221701234570', null,
     current_date - 26 + time '08:41', current_date - 22 + time '18:00', current_date - 22 + time '18:01', current_date - 26 + time '08:41'),
    ('00000000-0000-4000-a000-040200000009', '00000000-0000-4000-a000-040100000003', '00000000-0000-4000-a000-010100000003',
     'whatsapp', '+221784445566', null,
     current_date - 25 + time '19:00', current_date - 12 + time '08:30', current_date - 12 + time '08:31', current_date - 25 + time '19:00'),
    ('00000000-0000-4000-a000-040200000010', '00000000-0000-4000-a000-040100000003', '00000000-0000-4000-a000-010100000003',
     'sms', '+221772223344', null,
     current_date - 20 + time '10:00', current_date - 8 + time '17:45', current_date - 8 + time '17:50', current_date - 20 + time '10:00'),
    -- Cheikh's closed pot
    ('00000000-0000-4000-a000-040200000011', '00000000-0000-4000-a000-040100000005', '00000000-0000-4000-a000-010100000004',
     'whatsapp', '+221771234567', 'Awa, sama cagnotte ubbiku na !',
     current_date - 70 + time '09:00', current_date - 68 + time '12:00', current_date - 68 + time '12:01', current_date - 70 + time '09:00'),
    ('00000000-0000-4000-a000-040200000012', '00000000-0000-4000-a000-040100000005', '00000000-0000-4000-a000-010100000004',
     'whatsapp', '+221772223344', null,
     current_date - 70 + time '09:01', current_date - 62 + time '08:00', current_date - 62 + time '08:02', current_date - 70 + time '09:01'),
    ('00000000-0000-4000-a000-040200000013', '00000000-0000-4000-a000-040100000005', '00000000-0000-4000-a000-010100000004',
     'whatsapp', '+221771112233', null,
     current_date - 69 + time '20:00', current_date - 55 + time '19:00', current_date - 55 + time '19:01', current_date - 69 + time '20:00')
on conflict do nothing;

-- Snapshots at the end of the given day; conversion_rate = donors / views.
insert into pots.pot_analytics
    (id, pot_id, snapshot_date, total_raised_cfa, donor_count, view_count, share_count, conversion_rate, created_at)
values
    ('00000000-0000-4000-a000-040300000001', '00000000-0000-4000-a000-040100000002', current_date - 14, 0, 0, 12, 5, 0.0000, current_date - 13 + time '00:10'),
    ('00000000-0000-4000-a000-040300000002', '00000000-0000-4000-a000-040100000002', current_date - 7, 5000, 1, 31, 7, 0.0323, current_date - 6 + time '00:10'),
    ('00000000-0000-4000-a000-040300000003', '00000000-0000-4000-a000-040100000002', current_date - 1, 10000, 3, 60, 9, 0.0500, current_date + time '00:10'),
    ('00000000-0000-4000-a000-040300000004', '00000000-0000-4000-a000-040100000003', current_date - 15, 25000, 3, 70, 12, 0.0429, current_date - 14 + time '00:10'),
    ('00000000-0000-4000-a000-040300000005', '00000000-0000-4000-a000-040100000003', current_date - 8, 40000, 5, 110, 15, 0.0455, current_date - 7 + time '00:10'),
    ('00000000-0000-4000-a000-040300000006', '00000000-0000-4000-a000-040100000004', current_date - 35, 7000, 2, 30, 3, 0.0667, current_date - 34 + time '00:10'),
    ('00000000-0000-4000-a000-040300000007', '00000000-0000-4000-a000-040100000004', current_date - 20, 8000, 2, 41, 4, 0.0488, current_date - 19 + time '00:10'),
    ('00000000-0000-4000-a000-040300000008', '00000000-0000-4000-a000-040100000005', current_date - 55, 15000, 3, 30, 5, 0.1000, current_date - 54 + time '00:10'),
    ('00000000-0000-4000-a000-040300000009', '00000000-0000-4000-a000-040100000005', current_date - 40, 15000, 3, 37, 6, 0.0811, current_date - 39 + time '00:10')
on conflict do nothing;
