-- Analytics keeps ids and amounts, never a donor's phone or name: the analytics.domain
-- consumer (services/analytics/src/domain.rs, PERSONAL_FIELDS) no longer copies them from
-- donation.succeeded; the rows it recorded before lose them here.
update analytics.analytics_events
   set properties = properties - 'donor_phone' - 'donor_name'
 where properties ?| array['donor_phone', 'donor_name'];
