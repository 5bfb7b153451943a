-- V120: a periodic job does its work once per period, however many processes run it
-- (issue #19, item 1).
--
-- Every `wolo serve` (or `wolo serve S`) process runs each of its services' jobs on a timer
-- (platform::jobs::every). Before a run, the process takes the job's lease for the period:
-- one conditional upsert of the job's row here, which succeeds for one process only until
-- the period (less a tenth, for the timers' drift) has passed since the last start. The
-- others skip that tick. A process that dies mid-run holds nothing: the next period's lease
-- is free to take. The jobs stay safe to run concurrently (conditional updates, skip locked)
-- for a run longer than its period.

create table wolo.job_leases (
    service varchar(50) not null,
    job varchar(100) not null,
    -- The process that took the last lease (host:pid:random), and when.
    holder varchar(200) not null,
    started_at timestamp with time zone not null,
    runs bigint not null default 1,
    primary key (service, job)
);

comment on table wolo.job_leases is
    'The last start of each periodic job (V120): platform::jobs::every takes the lease before a run, so several processes run a job once per period.';

-- Plumbing every service role writes, as wolo.outbox_cursors (V102).
grant select, insert, update on wolo.job_leases to wolo_svc_identity, wolo_svc_profiles,
    wolo_svc_referral, wolo_svc_pots, wolo_svc_donations, wolo_svc_packs, wolo_svc_qr,
    wolo_svc_notifications, wolo_svc_analytics, wolo_svc_admin;
