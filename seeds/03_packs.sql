-- Demo data: partners, packs, sponsor campaigns.
--
-- Four partners, all active and verified, with venues in Dakar and Thiès
-- (venues: JSON array of {id, name, address, city, region}); one pack per
-- category plus a family cinema pack. Prices in integer CFA francs.
-- Partner staff users (01_identity.sql) are linked through contact_email /
-- contact_phone.

set local timezone to 'Africa/Dakar';

insert into packs.partners
    (id, name, type, description, contact_name, contact_email, contact_phone,
     business_registration, tax_id, revenue_split_percentage, payment_terms, minimum_payout_cfa,
     venues, status, verified_at, verified_by_user_id, auto_approve_redemptions, notification_preferences,
     created_at, updated_at)
values
    ('00000000-0000-4000-a000-060100000001', 'CinéTeranga', 'cinema',
     'Salles de cinéma climatisées à Dakar et à Thiès : films en VF et en wolof, avant-premières.',
     'Pape Seck', 'pape.seck@example.com', '+221708889900',
     'SN-DKR-2016-B-10452', '005812347 2V2', 80.00, 'monthly', 10000,
     '[{"id": "cineteranga-plateau", "name": "CinéTeranga Plateau", "address": "Avenue Georges Pompidou", "city": "Dakar", "region": "Dakar"},
       {"id": "cineteranga-thies", "name": "CinéTeranga Thiès", "address": "Avenue Léopold Sédar Senghor", "city": "Thiès", "region": "Thiès"}]',
     'active', now() - interval '95 days', '00000000-0000-4000-a000-010100000011', true,
     '{"email": true, "sms": true, "daily_summary": true}',
     now() - interval '110 days', now() - interval '95 days'),
    ('00000000-0000-4000-a000-060100000002', 'Le Baobab Gourmand', 'restaurant',
     'Cuisine sénégalaise et grillades de poisson, terrasse face à l''océan.',
     'Marième Diouf', 'contact.baobab@example.com', '+221338201122',
     'SN-DKR-2018-B-22871', '006934512 1A3', 85.00, 'monthly', 10000,
     '[{"id": "baobab-almadies", "name": "Le Baobab Gourmand Almadies", "address": "Route des Almadies", "city": "Dakar", "region": "Dakar"},
       {"id": "baobab-thies", "name": "Le Baobab Gourmand Thiès", "address": "Quartier Escale, rue de Paris", "city": "Thiès", "region": "Thiès"}]',
     'active', now() - interval '95 days', '00000000-0000-4000-a000-010100000011', false,
     '{"email": true, "sms": false, "daily_summary": true}',
     now() - interval '105 days', now() - interval '95 days'),
    ('00000000-0000-4000-a000-060100000003', 'Keur Bien-Être Spa', 'spa',
     'Massages, hammam et soins du visage aux produits locaux (karité, bissap, baobab).',
     'Rokhaya Thiam', 'rokhaya.thiam@example.com', '+221789990011',
     'SN-DKR-2019-B-31208', '007245890 2G3', 75.00, 'monthly', 20000,
     '[{"id": "keur-bien-etre-fann", "name": "Keur Bien-Être Fann", "address": "Corniche Ouest, Fann Résidence", "city": "Dakar", "region": "Dakar"},
       {"id": "keur-bien-etre-saly", "name": "Keur Bien-Être Saly", "address": "Saly Portudal, route des hôtels", "city": "Saly", "region": "Thiès"}]',
     'active', now() - interval '90 days', '00000000-0000-4000-a000-010100000011', false,
     '{"email": true, "sms": true, "daily_summary": false}',
     now() - interval '100 days', now() - interval '90 days'),
    -- Retail partner selling experience gift boxes (pack category 'experience').
    ('00000000-0000-4000-a000-060100000004', 'Teranga Box', 'retail',
     'Coffrets cadeaux d''expériences au Sénégal : excursions, ateliers, sorties en mer.',
     'Babacar Ndour', 'bonjour.terangabox@example.com', '+221338609900',
     'SN-DKR-2021-B-05590', '008812033 2C2', 70.00, 'quarterly', 25000,
     '[{"id": "terangabox-sea-plaza", "name": "Teranga Box Sea Plaza", "address": "Centre commercial Sea Plaza, Corniche Ouest", "city": "Dakar", "region": "Dakar"},
       {"id": "terangabox-thies", "name": "Teranga Box Thiès", "address": "Avenue Caen, Thiès Escale", "city": "Thiès", "region": "Thiès"}]',
     'active', now() - interval '85 days', '00000000-0000-4000-a000-010100000012', false,
     '{"email": true, "sms": false, "daily_summary": false}',
     now() - interval '90 days', now() - interval '85 days')
on conflict do nothing;

insert into packs.packs
    (id, name, description, category, base_price_cfa, discounted_price_cfa,
     is_active, available_from, available_until, max_redemptions_per_user, total_available_quantity,
     image_url, partner_id, venue_restrictions, terms_and_conditions, redemption_instructions, validity_days,
     seo_title, seo_description, marketing_tags, created_at, updated_at)
values
    ('00000000-0000-4000-a000-060200000001', 'Pack Ciné Duo',
     'Deux places de cinéma, un grand pop-corn et deux boissons, pour la séance de votre choix.',
     'cinema', 15000, null,
     true, current_date - 100, null, 1, null,
     'https://cdn.example.com/wolo/packs/cine-duo.jpg', '00000000-0000-4000-a000-060100000001',
     '["cineteranga-plateau", "cineteranga-thies"]',
     'Valable pour toutes les séances sauf avant-premières. Non remboursable.',
     'Présentez le QR code à la caisse avant la séance.', 90,
     'Pack Ciné Duo : deux places de cinéma à offrir', 'Offrez une séance de cinéma à deux chez CinéTeranga, à Dakar ou à Thiès.',
     array['cinema', 'duo', 'sortie'], now() - interval '100 days', now() - interval '100 days'),
    ('00000000-0000-4000-a000-060200000002', 'Dîner Teranga pour deux',
     'Entrée, plat (thiéboudienne, yassa ou poisson grillé) et dessert pour deux personnes, boissons locales comprises.',
     'restaurant', 25000, 22500,
     true, current_date - 100, null, 1, null,
     'https://cdn.example.com/wolo/packs/diner-teranga.jpg', '00000000-0000-4000-a000-060100000002',
     '["baobab-almadies", "baobab-thies"]',
     'Réservation conseillée 24 h à l''avance. Hors boissons alcoolisées.',
     'Montrez le QR code au serveur à votre arrivée.', 90,
     'Dîner pour deux au Baobab Gourmand', 'Un dîner sénégalais pour deux à offrir pour un anniversaire.',
     array['restaurant', 'duo', 'promo'], now() - interval '100 days', now() - interval '20 days'),
    ('00000000-0000-4000-a000-060200000003', 'Pause Bien-être',
     'Massage relaxant de 60 minutes et accès au hammam pour une personne.',
     'spa', 40000, null,
     true, current_date - 90, null, 1, null,
     'https://cdn.example.com/wolo/packs/pause-bien-etre.jpg', '00000000-0000-4000-a000-060100000003',
     '["keur-bien-etre-fann", "keur-bien-etre-saly"]',
     'Sur rendez-vous uniquement. Annulation gratuite jusqu''à 24 h avant.',
     'Prenez rendez-vous par téléphone puis présentez le QR code à l''accueil.', 90,
     'Massage et hammam à offrir', 'Une pause détente chez Keur Bien-Être, à Dakar ou à Saly.',
     array['spa', 'bien-etre'], now() - interval '90 days', now() - interval '90 days'),
    ('00000000-0000-4000-a000-060200000004', 'Coffret Évasion Lac Rose',
     'Balade en 4x4 au Lac Rose, visite des récolteurs de sel et déjeuner au bord du lac pour deux.',
     'experience', 35000, null,
     true, current_date - 85, null, 1, 200,
     'https://cdn.example.com/wolo/packs/evasion-lac-rose.jpg', '00000000-0000-4000-a000-060100000004',
     '["terangabox-sea-plaza", "terangabox-thies"]',
     'Sortie le samedi ou le dimanche, sous réserve de places. Transport depuis Dakar non compris.',
     'Échangez le QR code contre votre coffret en boutique, puis réservez la date.', 120,
     'Coffret expérience Lac Rose', 'Une journée au Lac Rose à offrir.',
     array['experience', 'excursion', 'duo'], now() - interval '85 days', now() - interval '85 days'),
    ('00000000-0000-4000-a000-060200000005', 'Ciné Famille',
     'Quatre places de cinéma, deux menus pop-corn et une affiche du film, pour une séance en famille.',
     'cinema', 30000, null,
     true, current_date - 100, null, 1, null,
     'https://cdn.example.com/wolo/packs/cine-famille.jpg', '00000000-0000-4000-a000-060100000001',
     '["cineteranga-plateau", "cineteranga-thies"]',
     'Valable pour toutes les séances sauf avant-premières. Non remboursable.',
     'Présentez le QR code à la caisse avant la séance.', 90,
     'Pack Ciné Famille : quatre places à offrir', 'Une sortie cinéma en famille chez CinéTeranga.',
     array['cinema', 'famille'], now() - interval '100 days', now() - interval '100 days')
on conflict do nothing;

insert into packs.sponsor_campaigns
    (id, sponsor_company_name, campaign_name, description, target_demographics, pack_categories,
     points_multiplier, budget_cfa, spent_cfa, starts_at, ends_at, status,
     impressions, clicks, conversions, created_at, updated_at)
values
    -- Running: doubles the points of sponsors whose godchild's pot chose a
    -- cinema or restaurant pack (see Awa's points in 04_referral.sql).
    ('00000000-0000-4000-a000-060300000001', 'Sénégal Mobile Plus', 'Le mois des anniversaires',
     'Points doublés pour les parrains quand la cagnotte de leur filleul vise un pack ciné ou resto.',
     '{"age_min": 18, "age_max": 35, "regions": ["Dakar", "Thiès"], "interests": ["cinéma", "sorties"]}',
     array['cinema', 'restaurant'],
     2.00, 500000, 37500, current_date - 30 + time '00:00', current_date + 30 + time '23:59', 'active',
     18450, 1320, 41, now() - interval '35 days', now() - interval '1 day'),
    -- Being prepared for the spa category.
    ('00000000-0000-4000-a000-060300000002', 'Kora Cosmétiques', 'Bien-être entre amies',
     'Points x1,5 sur les cagnottes qui visent un pack spa.',
     '{"age_min": 20, "age_max": 45, "regions": ["Dakar", "Thiès", "Saint-Louis"]}',
     array['spa'],
     1.50, 250000, 0, current_date + 15 + time '00:00', current_date + 45 + time '23:59', 'draft',
     0, 0, 0, now() - interval '2 days', now() - interval '2 days')
on conflict do nothing;
