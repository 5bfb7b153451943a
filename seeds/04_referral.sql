-- Demo data: referrals, daily limits, contact batches, points ledger,
-- points conversion.
--
-- Sponsors: Awa (5 invitations: 2 accepted, 2 sent today, 1 expired),
-- Khady (1 accepted 3 days ago, 1 declined), Ibrahima (sponsored his minor
-- daughter Mariama, both identities collected).
-- Points (config in V21: referral_accepted 100, pot_opened 50,
-- first_donation 25, maturation 14 days, 10 CFA per point). Awa's ledger:
--   +100 matured  Moussa accepted
--   +100 matured  Aminata accepted
--   +50  matured  Aminata's pot opened
--   +25  revoked  first gift to Aminata's pot (Moussa's 2 000 FCFA, refunded)
--   +100 matured  Moussa's pot opened (campaign "Le mois des anniversaires": x2)
--   +50  pending  first gift to Moussa's pot (x2), matures in 4 days
--   -200          converted into 2 000 FCFA of credit 20 days ago
--   => 150 points available (1 500 FCFA), 50 pending.

set local timezone to 'Africa/Dakar';

insert into referral.sponsor_daily_limits
    (id, sponsor_user_id, limit_date, max_invitations_per_day, invitations_sent_today,
     current_batch_start, preferred_selection_method, last_reset_at, next_reset_at,
     consecutive_active_days, total_lifetime_invitations, created_at, updated_at)
values
    -- Awa yesterday: reached the 50-a-day limit.
    ('00000000-0000-4000-a000-030400000001', '00000000-0000-4000-a000-010100000001', current_date - 1, 50, 50,
     0, 'batch', current_date - 1 + time '00:00', current_date + time '00:00',
     1, 53, current_date - 1 + time '10:02', current_date - 1 + time '18:40'),
    -- Awa today: 2 invitations picked by hand from her next batch.
    ('00000000-0000-4000-a000-030400000002', '00000000-0000-4000-a000-010100000001', current_date, 50, 2,
     50, 'individual', current_date + time '00:00', current_date + 1 + time '00:00',
     2, 55, current_date + time '09:14', current_date + time '09:16'),
    ('00000000-0000-4000-a000-030400000003', '00000000-0000-4000-a000-010100000009', current_date - 4, 50, 1,
     0, 'individual', current_date - 4 + time '00:00', current_date - 3 + time '00:00',
     1, 2, current_date - 4 + time '17:30', current_date - 4 + time '17:30')
on conflict do nothing;

insert into referral.sponsor_contact_batches
    (id, sponsor_user_id, batch_date, batch_number, start_position, end_position,
     status, selected_count, sent_count, contact_snapshot, auto_selected, manual_selections,
     created_at, updated_at)
values
    -- Yesterday: contacts 0-50 of Awa's phone book, all selected automatically.
    ('00000000-0000-4000-a000-030500000001', '00000000-0000-4000-a000-010100000001', current_date - 1, 1, 0, 50,
     'sent', 50, 50, null, true, null,
     current_date - 1 + time '10:02', current_date - 1 + time '18:40'),
    -- Today: next window (50-100), two contacts picked by hand.
    ('00000000-0000-4000-a000-030500000002', '00000000-0000-4000-a000-010100000001', current_date, 1, 50, 100,
     'sent', 2, 2,
     '[{"contact_id": "c-0050", "name": "Boubacar Diouf", "phone": "+221775550101"},
       {"contact_id": "c-0051", "name": "Astou Mbengue", "phone": "+221785550202"},
       {"contact_id": "c-0052", "name": "Daouda Faye", "phone": "+221705550606"},
       {"contact_id": "c-0053", "name": "Ndèye Coumba Gaye", "phone": "+221765550707"}]',
     false, '["c-0050", "c-0051"]',
     current_date + time '09:10', current_date + time '09:16')
on conflict do nothing;

insert into referral.referrals
    (id, sponsor_user_id, referral_code, invited_phone, invited_email, invited_name, invitation_message,
     status, sponsored_user_id, both_ids_collected, sponsor_id_verified, sponsored_id_verified,
     sent_at, accepted_at, expired_at, created_at, daily_limit_id, batch_id, invitation_order)
values
    -- Awa -> Moussa: accepted; his pot (05_pots.sql) was created from it.
    ('00000000-0000-4000-a000-030100000001', '00000000-0000-4000-a000-010100000001', 'AWA-K7Q2M',
     '+221781234568', null, 'Moussa Diop', 'Moussa, rejoins WOLO pour ton anniversaire, on va te gâter !',
     'accepted', '00000000-0000-4000-a000-010100000002', false, false, false,
     current_date - 47 + time '18:20', current_date - 45 + time '12:05', current_date - 40 + time '18:20',
     current_date - 47 + time '18:20', null, null, null),
    -- Awa -> Aminata: accepted.
    ('00000000-0000-4000-a000-030100000002', '00000000-0000-4000-a000-010100000001', 'AWA-P3X8D',
     '+221771112233', 'aminata.ba@example.com', 'Aminata Ba', null,
     'accepted', '00000000-0000-4000-a000-010100000005', false, false, false,
     current_date - 82 + time '20:00', current_date - 80 + time '08:45', current_date - 75 + time '20:00',
     current_date - 82 + time '20:00', null, null, null),
    -- Awa -> two contacts today (still "sent"), counted in today's limit.
    ('00000000-0000-4000-a000-030100000003', '00000000-0000-4000-a000-010100000001', 'AWA-B9N4T',
     '+221775550101', null, 'Boubacar Diouf', null,
     'sent', null, false, false, false,
     current_date + time '09:15', null, current_date + 7 + time '09:15',
     current_date + time '09:15', '00000000-0000-4000-a000-030400000002', '00000000-0000-4000-a000-030500000002', 1),
    ('00000000-0000-4000-a000-030100000004', '00000000-0000-4000-a000-010100000001', 'AWA-M2V6R',
     '+221785550202', null, 'Astou Mbengue', 'Astou, viens sur WOLO, c''est top pour les anniversaires !',
     'sent', null, false, false, false,
     current_date + time '09:16', null, current_date + 7 + time '09:16',
     current_date + time '09:16', '00000000-0000-4000-a000-030400000002', '00000000-0000-4000-a000-030500000002', 2),
    -- Awa -> Lamine: never answered, expired after 7 days.
    ('00000000-0000-4000-a000-030100000005', '00000000-0000-4000-a000-010100000001', 'AWA-H5C1W',
     '+221765550303', null, 'Lamine Cissé', null,
     'expired', null, false, false, false,
     current_date - 20 + time '11:00', null, current_date - 13 + time '11:00',
     current_date - 20 + time '11:00', null, null, null),
    -- Khady -> Seynabou: accepted 3 days ago (points still pending).
    ('00000000-0000-4000-a000-030100000006', '00000000-0000-4000-a000-010100000009', 'KHADY-R4T7Z',
     '+221705556677', null, 'Seynabou Kane', null,
     'accepted', '00000000-0000-4000-a000-010100000010', false, false, false,
     current_date - 4 + time '17:30', current_date - 3 + time '10:12', current_date + 3 + time '17:30',
     current_date - 4 + time '17:30', '00000000-0000-4000-a000-030400000003', null, 1),
    -- Khady -> Modou: declined (by e-mail).
    ('00000000-0000-4000-a000-030100000007', '00000000-0000-4000-a000-010100000009', 'KHADY-D8F2L',
     null, 'modou.ndao@example.com', 'Modou Ndao', null,
     'declined', null, false, false, false,
     current_date - 12 + time '21:00', null, current_date - 5 + time '21:00',
     current_date - 12 + time '21:00', null, null, null),
    -- Ibrahima -> his daughter Mariama (a minor): both identities collected
    -- and verified before acceptance.
    ('00000000-0000-4000-a000-030100000008', '00000000-0000-4000-a000-010100000006', 'IBRA-S6J3Y',
     '+221763334455', null, 'Mariama Sarr', 'Pour tes 16 ans, ma fille.',
     'accepted', '00000000-0000-4000-a000-010100000007', true, true, true,
     current_date - 61 + time '19:00', current_date - 60 + time '09:30', current_date - 54 + time '19:00',
     current_date - 61 + time '19:00', null, null, null)
on conflict do nothing;

insert into referral.points_ledger
    (id, sponsor_user_id, referral_id, event_type, points_earned, points_spent, status, matured_at,
     base_multiplier, sponsor_boost_multiplier, description, metadata, created_at)
values
    ('00000000-0000-4000-a000-030200000001', '00000000-0000-4000-a000-010100000001', '00000000-0000-4000-a000-030100000001',
     'referral_accepted', 100, 0, 'matured', current_date - 31 + time '12:05',
     1.00, 1.00, 'Moussa Diop a accepté votre invitation', null, current_date - 45 + time '12:05'),
    ('00000000-0000-4000-a000-030200000002', '00000000-0000-4000-a000-010100000001', '00000000-0000-4000-a000-030100000002',
     'referral_accepted', 100, 0, 'matured', current_date - 66 + time '08:45',
     1.00, 1.00, 'Aminata Ba a accepté votre invitation', null, current_date - 80 + time '08:45'),
    ('00000000-0000-4000-a000-030200000003', '00000000-0000-4000-a000-010100000001', '00000000-0000-4000-a000-030100000002',
     'pot_opened', 50, 0, 'matured', current_date - 36 + time '08:00',
     1.00, 1.00, 'La cagnotte d''Aminata Ba est ouverte',
     '{"pot_id": "00000000-0000-4000-a000-040100000004"}', current_date - 50 + time '08:00'),
    -- Revoked: the donation that triggered it was refunded (06_donations.sql).
    ('00000000-0000-4000-a000-030200000004', '00000000-0000-4000-a000-010100000001', '00000000-0000-4000-a000-030100000002',
     'first_donation', 25, 0, 'revoked', null,
     1.00, 1.00, 'Première participation à la cagnotte d''Aminata Ba (annulée : participation remboursée)',
     '{"pot_id": "00000000-0000-4000-a000-040100000004", "donation_id": "00000000-0000-4000-a000-050100000011", "refund_id": "00000000-0000-4000-a000-050300000001", "revoked_reason": "donation_refunded"}',
     current_date - 48 + time '13:20'),
    ('00000000-0000-4000-a000-030200000005', '00000000-0000-4000-a000-010100000001', '00000000-0000-4000-a000-030100000001',
     'pot_opened', 100, 0, 'matured', current_date - 4 + time '08:00',
     1.00, 2.00, 'La cagnotte de Moussa Diop est ouverte (points doublés)',
     '{"pot_id": "00000000-0000-4000-a000-040100000002", "campaign_id": "00000000-0000-4000-a000-060300000001", "base_points": 50}',
     current_date - 18 + time '08:00'),
    ('00000000-0000-4000-a000-030200000006', '00000000-0000-4000-a000-010100000001', '00000000-0000-4000-a000-030100000001',
     'first_donation', 50, 0, 'pending', null,
     1.00, 2.00, 'Première participation à la cagnotte de Moussa Diop (points doublés)',
     '{"pot_id": "00000000-0000-4000-a000-040100000002", "donation_id": "00000000-0000-4000-a000-050100000001", "campaign_id": "00000000-0000-4000-a000-060300000001", "base_points": 25}',
     current_date - 10 + time '19:43'),
    -- Spending side of the conversion below.
    ('00000000-0000-4000-a000-030200000007', '00000000-0000-4000-a000-010100000001', null,
     'points_conversion', 0, 200, 'matured', current_date - 20 + time '21:10',
     1.00, 1.00, 'Conversion de 200 points en 2 000 FCFA de crédit',
     '{"conversion_id": "00000000-0000-4000-a000-030300000001"}', current_date - 20 + time '21:10'),
    ('00000000-0000-4000-a000-030200000008', '00000000-0000-4000-a000-010100000009', '00000000-0000-4000-a000-030100000006',
     'referral_accepted', 100, 0, 'pending', null,
     1.00, 1.00, 'Seynabou Kane a accepté votre invitation', null, current_date - 3 + time '10:12'),
    ('00000000-0000-4000-a000-030200000009', '00000000-0000-4000-a000-010100000006', '00000000-0000-4000-a000-030100000008',
     'referral_accepted', 100, 0, 'matured', current_date - 46 + time '09:30',
     1.00, 1.00, 'Mariama Sarr a accepté votre invitation', null, current_date - 60 + time '09:30')
on conflict do nothing;

-- Awa's 200 points became 2 000 FCFA of credit; not applied to a pot yet
-- (applied_to_pot_id is null), so every pot's total is exactly its
-- succeeded donations.
insert into referral.points_conversions
    (id, sponsor_user_id, points_converted, credits_issued, conversion_rate, applied_to_pot_id, created_at)
values
    ('00000000-0000-4000-a000-030300000001', '00000000-0000-4000-a000-010100000001', 200, 2000, 10.0000, null,
     current_date - 20 + time '21:10')
on conflict do nothing;
