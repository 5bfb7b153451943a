-- V110: what identity's tokens need to say as GoTrue's do (issue 14, item 4).
--
--   identity.users.google_sub      Google's `sub` (the stable id of a Google account) of the
--                                  account linked to it: Google sign-in finds the user by it
--                                  first, so an e-mail changed at Google still finds the same
--                                  account. Unique. Written by the identity service (and
--                                  cleared by the profiles service when an account is
--                                  deleted), never through the REST layer: whoever sets it on
--                                  an account signs in as that account with their own Google
--                                  account, so neither users, partners nor admins may write it.
--   identity.user_sessions.amr     how the sign-in of this refresh token was made, GoTrue's
--                                  `amr` claim: [{"method": "otp"|"password"|"oauth"|
--                                  "recovery", "timestamp": <unix seconds>}]. Set on the first
--                                  row of a sign-in, copied to each rotation, so a refreshed
--                                  access token keeps the sign-in's amr. NULL for sign-ins
--                                  made before V110 (their tokens carry no amr).
--
-- Grants: users and partners read both columns of their own rows (column grants of V30 and
-- V50 are extended; row-level security unchanged). Admins read them (a column grant on
-- identity.users: V109 replaced their table grant by the columns that existed then) and
-- write neither: since V103 their insert and update on identity.users are column grants that
-- do not include google_sub, and since V107 they update only is_revoked on user_sessions.
-- Depends on V1, V30, V50, V102, V103, V107.

alter table identity.users add column google_sub text;
alter table identity.users add constraint users_google_sub_key unique (google_sub);
alter table identity.users add constraint users_google_sub_length
    check (google_sub is null or length(google_sub) between 1 and 255);

comment on column identity.users.google_sub is
    'Google''s sub of the Google account linked to this account (found by it before the e-mail). Written by the identity service only; cleared when the account is deleted.';

alter table identity.user_sessions add column amr jsonb;
alter table identity.user_sessions add constraint user_sessions_amr_array
    check (amr is null or jsonb_typeof(amr) = 'array');

comment on column identity.user_sessions.amr is
    'How the sign-in was made (the access token''s amr claim): [{method, timestamp}]; copied from the parent row on refresh. NULL before V110.';

grant select (google_sub) on identity.users to wolo_user, wolo_partner, wolo_admin;
grant select (amr) on identity.user_sessions to wolo_user, wolo_partner;

-- Account deletion (services/profiles/src/privacy.rs) unlinks the Google account.
grant update (google_sub) on identity.users to wolo_svc_profiles;
