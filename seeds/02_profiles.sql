-- Demo data: profiles and addresses.
--
-- Birthdays of pot owners are computed from today so that each pot is in the
-- right phase of its life (see 05_pots.sql):
--   Mariama  birthday in 50 days, turns 16 (a minor: guardian required)
--   Moussa   birthday in 12 days
--   Fatou    birthday today
--   Aminata  birthday was 20 days ago
--   Cheikh   birthday was 40 days ago
-- Identity documents: only the hash is stored (id_number stays empty).

set local timezone to 'Africa/Dakar';

-- Guardians first: the minor's row points at her father.
insert into profiles.profiles
    (user_id, full_name, date_of_birth, locale, timezone, bio,
     guardian_user_id, relationship_type,
     id_type, id_country, id_hash, id_verified_at, id_verified_by,
     is_profile_public, allow_contact_by_sponsors, notification_preferences, created_at, updated_at)
values
    ('00000000-0000-4000-a000-010100000001', 'Awa Ndiaye', date '1991-03-14', 'fr-SN', 'Africa/Dakar',
     'Toujours partante pour fêter les anniversaires des copines !',
     null, null, null, null, null, null, null,
     true, true, '{"email": true, "sms": true, "whatsapp": true}', now() - interval '200 days', now() - interval '200 days'),
    ('00000000-0000-4000-a000-010100000002', 'Moussa Diop', (current_date + 12 - interval '28 years')::date, 'fr-SN', 'Africa/Dakar',
     'Fan de cinéma et de thiéboudienne.',
     null, null, null, null, null, null, null,
     true, true, '{"email": false, "sms": true, "whatsapp": true}', now() - interval '45 days', now() - interval '45 days'),
    ('00000000-0000-4000-a000-010100000003', 'Fatou Sow', (current_date - interval '31 years')::date, 'fr-SN', 'Africa/Dakar',
     null,
     null, null, null, null, null, null, null,
     true, true, '{"email": true, "sms": true, "whatsapp": true}', now() - interval '150 days', now() - interval '150 days'),
    ('00000000-0000-4000-a000-010100000004', 'Cheikh Fall', (current_date - 40 - interval '35 years')::date, 'wo-SN', 'Africa/Dakar',
     'Doomu Ndar.',
     null, null, null, null, null, null, null,
     true, true, '{"email": false, "sms": true, "whatsapp": true}', now() - interval '120 days', now() - interval '120 days'),
    ('00000000-0000-4000-a000-010100000005', 'Aminata Ba', (current_date - 20 - interval '26 years')::date, 'fr-SN', 'Africa/Dakar',
     null,
     null, null, null, null, null, null, null,
     false, true, '{"email": true, "sms": true, "whatsapp": false}', now() - interval '80 days', now() - interval '80 days'),
    ('00000000-0000-4000-a000-010100000006', 'Ibrahima Sarr', date '1979-09-02', 'fr-SN', 'Africa/Dakar',
     null,
     null, null,
     'national_id', 'SEN', encode(sha256(convert_to('demo-cni-ibrahima-sarr', 'UTF8')), 'hex'),
     now() - interval '60 days', '00000000-0000-4000-a000-010100000011',
     true, true, '{"email": true, "sms": true, "whatsapp": true}', now() - interval '180 days', now() - interval '60 days'),
    ('00000000-0000-4000-a000-010100000008', 'Ousmane Gueye', date '1988-12-01', 'en', 'Africa/Dakar',
     'Senegalese in Paris, never missing a birthday back home.',
     null, null, null, null, null, null, null,
     true, true, '{"email": true, "sms": false, "whatsapp": false}', now() - interval '30 days', now() - interval '30 days'),
    ('00000000-0000-4000-a000-010100000009', 'Khady Diallo', date '1994-07-21', 'fr-SN', 'Africa/Dakar',
     null,
     null, null, null, null, null, null, null,
     true, true, '{"email": true, "sms": true, "whatsapp": true}', now() - interval '160 days', now() - interval '160 days'),
    ('00000000-0000-4000-a000-010100000010', 'Seynabou Kane', date '2001-05-09', 'fr-SN', 'Africa/Dakar',
     null,
     null, null, null, null, null, null, null,
     true, true, '{"email": false, "sms": true, "whatsapp": true}', now() - interval '3 days', now() - interval '3 days'),
    ('00000000-0000-4000-a000-010100000011', 'Abdoulaye Mbaye', date '1985-02-11', 'fr-SN', 'Africa/Dakar',
     'Opérations WOLO.',
     null, null, null, null, null, null, null,
     false, false, '{"email": true, "sms": true, "whatsapp": false}', now() - interval '365 days', now() - interval '365 days'),
    ('00000000-0000-4000-a000-010100000012', 'Ndeye Faye', date '1983-10-30', 'fr-SN', 'Africa/Dakar',
     'Administratrice de la plateforme WOLO.',
     null, null, null, null, null, null, null,
     false, false, '{"email": true, "sms": true, "whatsapp": false}', now() - interval '365 days', now() - interval '365 days'),
    ('00000000-0000-4000-a000-010100000013', 'Pape Seck', date '1990-06-17', 'fr-SN', 'Africa/Dakar',
     'Responsable accueil, CinéTeranga Plateau.',
     null, null, null, null, null, null, null,
     false, false, '{"email": true, "sms": true, "whatsapp": false}', now() - interval '100 days', now() - interval '100 days'),
    ('00000000-0000-4000-a000-010100000014', 'Rokhaya Thiam', date '1987-01-25', 'fr-SN', 'Africa/Dakar',
     'Gérante, Keur Bien-Être Spa.',
     null, null, null, null, null, null, null,
     false, false, '{"email": true, "sms": true, "whatsapp": false}', now() - interval '100 days', now() - interval '100 days')
on conflict do nothing;

-- The minor: under 18, so check_minor_has_guardian requires guardian_user_id
-- and relationship_type. Her birth certificate was checked by an admin when
-- her father sponsored her (referral with both_ids_collected, 04_referral.sql).
insert into profiles.profiles
    (user_id, full_name, date_of_birth, locale, timezone, bio,
     guardian_user_id, relationship_type,
     id_type, id_country, id_hash, id_verified_at, id_verified_by,
     is_profile_public, allow_contact_by_sponsors, notification_preferences, created_at, updated_at)
values
    ('00000000-0000-4000-a000-010100000007', 'Mariama Sarr', (current_date + 50 - interval '16 years')::date, 'fr-SN', 'Africa/Dakar',
     null,
     '00000000-0000-4000-a000-010100000006', 'parent',
     'birth_certificate', 'SEN', encode(sha256(convert_to('demo-acte-naissance-mariama-sarr', 'UTF8')), 'hex'),
     now() - interval '60 days', '00000000-0000-4000-a000-010100000011',
     false, false, '{"email": false, "sms": true, "whatsapp": false}', now() - interval '60 days', now() - interval '60 days')
on conflict do nothing;

insert into profiles.user_addresses
    (id, user_id, type, street_address, city, region, country, postal_code, is_default, created_at)
values
    ('00000000-0000-4000-a000-020100000001', '00000000-0000-4000-a000-010100000001', 'primary',
     'Sicap Liberté 2, villa n° 2145', 'Dakar', 'Dakar', 'SEN', null, true, now() - interval '200 days'),
    ('00000000-0000-4000-a000-020100000002', '00000000-0000-4000-a000-010100000002', 'primary',
     'Parcelles Assainies, Unité 15, villa n° 312', 'Dakar', 'Dakar', 'SEN', null, true, now() - interval '45 days'),
    ('00000000-0000-4000-a000-020100000003', '00000000-0000-4000-a000-010100000003', 'primary',
     'Quartier Randoulène Nord', 'Thiès', 'Thiès', 'SEN', null, true, now() - interval '150 days'),
    ('00000000-0000-4000-a000-020100000004', '00000000-0000-4000-a000-010100000004', 'primary',
     'Quartier Sor, près de la gare', 'Saint-Louis', 'Saint-Louis', 'SEN', null, true, now() - interval '120 days'),
    ('00000000-0000-4000-a000-020100000005', '00000000-0000-4000-a000-010100000005', 'primary',
     'Quartier Boucotte Sud', 'Ziguinchor', 'Ziguinchor', 'SEN', null, true, now() - interval '80 days'),
    ('00000000-0000-4000-a000-020100000006', '00000000-0000-4000-a000-010100000006', 'primary',
     'Mermoz Pyrotechnie, rue MZ-84', 'Dakar', 'Dakar', 'SEN', null, true, now() - interval '180 days'),
    ('00000000-0000-4000-a000-020100000007', '00000000-0000-4000-a000-010100000006', 'billing',
     'Immeuble Fahd, boulevard Djily Mbaye', 'Dakar', 'Dakar', 'SEN', null, false, now() - interval '180 days'),
    ('00000000-0000-4000-a000-020100000008', '00000000-0000-4000-a000-010100000007', 'primary',
     'Mermoz Pyrotechnie, rue MZ-84', 'Dakar', 'Dakar', 'SEN', null, true, now() - interval '60 days'),
    ('00000000-0000-4000-a000-020100000009', '00000000-0000-4000-a000-010100000009', 'primary',
     'Cité Malick Sy', 'Thiès', 'Thiès', 'SEN', null, true, now() - interval '160 days'),
    ('00000000-0000-4000-a000-020100000010', '00000000-0000-4000-a000-010100000010', 'primary',
     'Île Nord, rue Blaise Diagne', 'Saint-Louis', 'Saint-Louis', 'SEN', null, true, now() - interval '3 days'),
    ('00000000-0000-4000-a000-020100000011', '00000000-0000-4000-a000-010100000003', 'delivery',
     'Route de Mbour, en face de la station', 'Thiès', 'Thiès', 'SEN', null, false, now() - interval '90 days')
on conflict do nothing;
