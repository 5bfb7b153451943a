-- Demo data: QR codes, redemption attempts, a partner settlement.
--
-- QR codes exist for the two pots that reached their target:
--   Fatou (funded)  "Pause Bien-être"  issued, redeemable from her birthday
--                                       (today: redeem it in the demo) for 90 days
--   Cheikh (closed) "Pack Ciné Duo"    redeemed 38 days ago at CinéTeranga
--                                       Plateau, 2 days after his birthday
-- The scan log shows each validation result the scanner can return.
-- CinéTeranga was paid for the month of Cheikh's redemption
-- (15 000 FCFA, 80 % to the partner).
-- The code values below are placeholders: `wolo seed` signs each code with the running
-- configuration's WOLO_QR_SECRET after loading this file (suite::seed), so the scanning page
-- and POST /qr/redeem accept them.

set local timezone to 'Africa/Dakar';

insert into qr.qr_codes
    (id, pot_id, pack_id, code, qr_image_url, redeemable_from, expires_at, status,
     redeemed_at, redeemed_by_partner_id, redeemed_at_venue, partner_notes, created_at)
values
    ('00000000-0000-4000-a000-070100000001', '00000000-0000-4000-a000-040100000003', '00000000-0000-4000-a000-060200000003',
     'WOLO-7F3K-9Q2M-XT4B', 'https://cdn.example.com/wolo/qr/WOLO-7F3K-9Q2M-XT4B.png',
     current_date + time '00:00', current_date + 90 + time '23:59:59', 'issued',
     null, null, null, null,
     current_date - 8 + time '18:00'),
    ('00000000-0000-4000-a000-070100000002', '00000000-0000-4000-a000-040100000005', '00000000-0000-4000-a000-060200000001',
     'WOLO-2C8D-4H6J-LN5P', 'https://cdn.example.com/wolo/qr/WOLO-2C8D-4H6J-LN5P.png',
     current_date - 40 + time '00:00', current_date - 40 + 90 + time '23:59:59', 'redeemed',
     current_date - 38 + time '20:15', '00000000-0000-4000-a000-060100000001',
     '{"id": "cineteranga-plateau", "name": "CinéTeranga Plateau", "address": "Avenue Georges Pompidou", "city": "Dakar", "region": "Dakar"}',
     'Séance de 20 h 30 : 2 places, pop-corn et boissons remis.',
     current_date - 55 + time '19:10')
on conflict do nothing;

insert into qr.qr_redemption_logs
    (id, qr_code_id, partner_user_id, attempt_timestamp, validation_result, error_message,
     ip_address, user_agent, venue_context, created_at)
values
    -- Cheikh came the day before his birthday: too early.
    ('00000000-0000-4000-a000-070300000001', '00000000-0000-4000-a000-070100000002', '00000000-0000-4000-a000-010100000013',
     current_date - 41 + time '19:50', 'not_yet_valid',
     'QR code utilisable à partir du ' || to_char(current_date - 40, 'DD/MM/YYYY') || '.',
     '41.82.200.9', 'WOLO Partenaires/2.0 (Android 12)',
     '{"venue_id": "cineteranga-plateau", "partner_id": "00000000-0000-4000-a000-060100000001"}',
     current_date - 41 + time '19:50'),
    ('00000000-0000-4000-a000-070300000002', '00000000-0000-4000-a000-070100000002', '00000000-0000-4000-a000-010100000013',
     current_date - 38 + time '20:15', 'success', null,
     '41.82.200.9', 'WOLO Partenaires/2.0 (Android 12)',
     '{"venue_id": "cineteranga-plateau", "partner_id": "00000000-0000-4000-a000-060100000001"}',
     current_date - 38 + time '20:15'),
    -- Someone tried the same code again (a screenshot).
    ('00000000-0000-4000-a000-070300000003', '00000000-0000-4000-a000-070100000002', '00000000-0000-4000-a000-010100000013',
     current_date - 30 + time '18:02', 'already_used',
     'QR code déjà utilisé le ' || to_char(current_date - 38, 'DD/MM/YYYY') || ' à CinéTeranga Plateau.',
     '41.82.200.9', 'WOLO Partenaires/2.0 (Android 12)',
     '{"venue_id": "cineteranga-plateau", "partner_id": "00000000-0000-4000-a000-060100000001"}',
     current_date - 30 + time '18:02'),
    -- Fatou's spa code scanned at the cinema: wrong partner.
    ('00000000-0000-4000-a000-070300000004', '00000000-0000-4000-a000-070100000001', '00000000-0000-4000-a000-010100000013',
     current_date - 1 + time '12:30', 'wrong_partner',
     'Ce QR code est valable uniquement chez Keur Bien-Être Spa.',
     '41.82.200.9', 'WOLO Partenaires/2.0 (Android 12)',
     '{"venue_id": "cineteranga-plateau", "partner_id": "00000000-0000-4000-a000-060100000001"}',
     current_date - 1 + time '12:30'),
    -- ...and at the spa, before her birthday.
    ('00000000-0000-4000-a000-070300000005', '00000000-0000-4000-a000-070100000001', '00000000-0000-4000-a000-010100000014',
     current_date - 1 + time '16:05', 'not_yet_valid',
     'QR code utilisable à partir du ' || to_char(current_date, 'DD/MM/YYYY') || '.',
     '41.83.91.4', 'WOLO Partenaires/2.0 (Android 13)',
     '{"venue_id": "keur-bien-etre-fann", "partner_id": "00000000-0000-4000-a000-060100000003"}',
     current_date - 1 + time '16:05')
on conflict do nothing;

-- The month that contains Cheikh's redemption (always a past month: the
-- redemption is 38 days old).
insert into qr.partner_settlements
    (id, partner_id, period_start, period_end, total_redemptions_count, total_revenue_cfa,
     partner_share_cfa, wolo_commission_cfa, status, approved_by_user_id, approved_at,
     payment_reference, paid_at, invoice_url, receipt_url, created_at, updated_at)
select
    '00000000-0000-4000-a000-070200000001', '00000000-0000-4000-a000-060100000001',
    m.period_start, m.period_end,
    1, 15000, 12000, 3000, 'paid',
    '00000000-0000-4000-a000-010100000011', m.period_end + 3 + time '10:00',
    'WAVE-PAYOUT-DEMO-0001', m.period_end + 5 + time '11:00',
    'https://cdn.example.com/wolo/settlements/cineteranga-' || to_char(m.period_start, 'YYYY-MM') || '-facture.pdf',
    'https://cdn.example.com/wolo/settlements/cineteranga-' || to_char(m.period_start, 'YYYY-MM') || '-recu.pdf',
    m.period_end + 1 + time '02:00', m.period_end + 5 + time '11:00'
from (
    select date_trunc('month', current_date - 38)::date as period_start,
           (date_trunc('month', current_date - 38) + interval '1 month' - interval '1 day')::date as period_end
) as m
on conflict do nothing;
