-- V21: default system configuration and feature flags (reference data).
--
-- Ships with the migrations, not with the demo seeds: the services read these
-- keys at run time and every environment needs a value for each.
-- Depends on V10 (admin.system_config, admin.feature_flags).
--
-- system_config
-- - config_value holds the JSON value itself (14, not "14").
-- - data_type is one of the spec's 'string', 'number', 'boolean', 'object',
--   'array'; validation_rules is a JSON Schema (draft 2020-12) the admin
--   service checks a new value against before saving it.
-- - Money is in integer CFA francs, durations carry their unit in the key,
--   times of day are Africa/Dakar local time.
--
-- feature_flags
-- - Off unless the feature is part of the product's core path (Wave payments).
--   rollout_percentage is the share of users who get the feature once the
--   flag is enabled.
--
-- Idempotent: re-running keeps existing rows, including values changed since
-- by an admin.

insert into admin.system_config
    (config_key, config_value, data_type, description, validation_rules)
values
(
    'points.maturation_delay_days', '14', 'number',
    'Jours d''attente avant que des points gagnés (statut pending) deviennent disponibles (matured).',
    '{"type": "integer", "minimum": 0, "maximum": 90}'
),
(
    'points.conversion_rate_cfa_per_point', '10', 'number',
    'Valeur d''un point en francs CFA lors de la conversion en crédit de cagnotte.',
    '{"type": "number", "exclusiveMinimum": 0, "maximum": 1000}'
),
(
    'points.referral_accepted', '100', 'number',
    'Points gagnés par le parrain quand un contact invité accepte et s''inscrit.',
    '{"type": "integer", "minimum": 0, "maximum": 10000}'
),
(
    'points.pot_opened', '50', 'number',
    'Points gagnés par le parrain quand la cagnotte d''un filleul s''ouvre (J-30).',
    '{"type": "integer", "minimum": 0, "maximum": 10000}'
),
(
    'points.first_donation', '25', 'number',
    'Points gagnés par le parrain à la première participation reçue par la cagnotte d''un filleul.',
    '{"type": "integer", "minimum": 0, "maximum": 10000}'
),
(
    'referral.daily_invitation_limit', '50', 'number',
    'Nombre maximal d''invitations qu''un parrain peut envoyer par jour (fuseau Africa/Dakar). Un lot de contacts compte au plus 50 contacts.',
    '{"type": "integer", "minimum": 1, "maximum": 50}'
),
(
    'referral.invitation_validity_days', '7', 'number',
    'Durée de validité d''une invitation de parrainage, en jours, avant son expiration.',
    '{"type": "integer", "minimum": 1, "maximum": 30}'
),
(
    'notifications.quiet_hours',
    '{"start": "22:00", "end": "08:00", "timezone": "Africa/Dakar"}',
    'object',
    'Plage horaire sans envoi de SMS ni de WhatsApp (hors codes OTP) ; les messages sont différés à la fin de la plage.',
    '{
        "type": "object",
        "required": ["start", "end", "timezone"],
        "additionalProperties": false,
        "properties": {
            "start": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
            "end": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
            "timezone": {"type": "string", "minLength": 1}
        }
    }'
),
(
    'notifications.max_retries', '3', 'number',
    'Nombre maximal de nouvelles tentatives d''envoi d''une notification en échec (backoff exponentiel).',
    '{"type": "integer", "minimum": 0, "maximum": 10}'
),
(
    'pots.open_days_before_birthday', '30', 'number',
    'Nombre de jours avant l''anniversaire où la cagnotte s''ouvre (J-30).',
    '{"type": "integer", "minimum": 1, "maximum": 90}'
),
(
    'donations.min_amount_cfa', '100', 'number',
    'Montant minimal d''une participation, en francs CFA (entier, sans décimales).',
    '{"type": "integer", "minimum": 1, "maximum": 1000000}'
),
(
    'retention.sessions_days', '90', 'number',
    'Durée de conservation des sessions, en jours (90 jours au plus).',
    '{"type": "integer", "minimum": 1, "maximum": 90}'
),
(
    'retention.analytics_events_days', '730', 'number',
    'Durée de conservation des événements analytiques, en jours (2 ans).',
    '{"type": "integer", "minimum": 30, "maximum": 3650}'
),
(
    'wave.webhook_tolerance_seconds', '300', 'number',
    'Écart maximal, en secondes, entre l''horodatage signé d''un webhook Wave et l''heure du serveur.',
    '{"type": "integer", "minimum": 30, "maximum": 3600}'
)
on conflict (config_key) do nothing;

insert into admin.feature_flags
    (flag_key, name, description, is_enabled, flag_type, rollout_percentage)
values
(
    'wave_payments', 'Paiements Wave',
    'Participation aux cagnottes par Wave (Checkout). Désactiver suspend toutes les nouvelles participations.',
    true, 'boolean', 100
),
(
    'whatsapp_notifications', 'Notifications WhatsApp',
    'Envoi des notifications par WhatsApp en plus du SMS et de l''e-mail.',
    false, 'boolean', 0
),
(
    'sponsor_campaigns', 'Campagnes sponsors',
    'Campagnes d''entreprises sponsors qui multiplient les points des parrains sur certaines catégories de packs.',
    false, 'boolean', 0
),
(
    'points_conversion', 'Conversion des points',
    'Conversion des points de parrainage disponibles en crédit CFA versé dans une cagnotte.',
    false, 'boolean', 0
),
(
    'new_pot_page', 'Nouvelle page cagnotte',
    'Nouvelle présentation de la page publique d''une cagnotte ; montrée à 10 % des visiteurs une fois activée.',
    false, 'boolean', 10
)
on conflict (flag_key) do nothing;
