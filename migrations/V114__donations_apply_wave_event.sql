-- V114: a Wave webhook delivery is stored and applied by one function call (issue #16).
--
-- `POST /donations/webhooks/wave` used to drive about ten statements from the server inside one
-- transaction (store the event, lock the donation, check the transaction id, update it, append
-- two events, read the pot and the owner's name, mark the event processed). On a loaded
-- machine each round trip waits for both the server's and the backend's turn on a CPU while
-- the transaction, its row locks and a pooled connection stay held: the measured webhook rate
-- was a twentieth of a plain INSERT's (docs/benchmarks.md). The server now checks the signature
-- and the JSON, then makes this one call: one statement, its own transaction, one round trip.
--
-- What a delivery does is unchanged (services/donations/src/webhook.rs documents it, and its
-- tests hold it): stored once under Wave's event id (a duplicate only counts a retry); a
-- `checkout.session.completed` is applied only to the donation whose stored session it names,
-- with Wave's amount and currency the donation's, its transaction id unused by another
-- donation; the donation becomes `succeeded` once, from `pending`, `processing` or `failed`;
-- `donation.succeeded` and the owner's `notification.requested` (template
-- `donation_received`) are appended to the outbox in the same transaction, their payloads
-- exactly the shapes of platform::events (`DonationSucceeded`, `NotificationRequested`).
--
-- Returns the outcome: `duplicate`, `applied`, `ignored` or `error` (the reason is recorded in
-- the event's `processing_error`). Values PostgreSQL refuses raise their data exception
-- (class 22) as before, and nothing is written.

-- At most 100 characters of a JSON value as text, for a recorded reason (serde_json's
-- compact text: strings quoted, `null` for a missing value).
create function donations.wave_preview(v jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
    select case when char_length(t) > 100 then left(t, 100) || '…' else t end
    from (select coalesce(v, 'null'::jsonb)::text as t) s
$$;

create function donations.apply_wave_event(p_event jsonb)
returns text
language plpgsql
set search_path = ''
as $$
declare
    v_id text := p_event ->> 'id';
    v_kind text := p_event ->> 'type';
    v_data jsonb := coalesce(p_event -> 'data', 'null'::jsonb);
    v_row uuid;
    v_ref uuid;
    d record;
    v_found boolean := false;
    v_donation uuid;
    v_error text;
    v_outcome text;
    v_tx text;
    v_other uuid;
    v_confirmed timestamptz;
    v_pot record;
    v_first text;
begin
    if v_kind in ('checkout.session.completed', 'checkout.session.payment_failed') then
        -- The donation, locked first (twins of one delivery wait here for each other, then
        -- the second finds the first's event row): by client_reference (the donation id),
        -- else by the stored session id.
        -- (A client_reference that is no uuid is not one of ours: no lookup, no cast error.)
        if jsonb_typeof(v_data -> 'client_reference') = 'string'
           and (v_data ->> 'client_reference') ~*
               '^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$' then
            v_ref := (v_data ->> 'client_reference')::uuid;
            select id, pot_id, status, amount_cfa, wave_session_id, donor_user_id, donor_phone,
                   donor_name, coalesce(is_anonymous, true) as is_anonymous
              into d
              from donations.donations where id = v_ref for update;
            v_found := found;
        end if;
        if not v_found and jsonb_typeof(v_data -> 'id') = 'string' then
            select id, pot_id, status, amount_cfa, wave_session_id, donor_user_id, donor_phone,
                   donor_name, coalesce(is_anonymous, true) as is_anonymous
              into d
              from donations.donations where wave_session_id = v_data ->> 'id' for update;
            v_found := found;
        end if;
        if v_found then
            v_donation := d.id;
        end if;
    end if;

    -- Stored once, under Wave's event id, already marked processed (now() is the
    -- transaction's time either way): one row written, updated only to record an error.
    insert into donations.wave_webhook_events
        (wave_event_id, event_type, raw_payload, processed_at, donation_id)
    values (v_id, left(v_kind, 50), p_event, now(), v_donation)
    on conflict (wave_event_id) do nothing
    returning id into v_row;
    if v_row is null then
        update donations.wave_webhook_events
           set retry_count = coalesce(retry_count, 0) + 1
         where wave_event_id = v_id;
        return 'duplicate';
    end if;

    if v_kind in ('checkout.session.completed', 'checkout.session.payment_failed') then
        if not v_found then
            v_outcome := 'error';
            v_error := 'unknown donation (client_reference and session id match none)';
        else
            -- Only the donation's own session applies.
            if d.wave_session_id is null then
                v_error := 'session mismatch: the donation has no Wave session';
            elsif v_data -> 'id' is distinct from to_jsonb(d.wave_session_id) then
                v_error := format('session mismatch: Wave session %s, donation''s session %s',
                                  donations.wave_preview(v_data -> 'id'), d.wave_session_id);
            end if;
        end if;
    end if;

    if v_kind = 'checkout.session.completed' and v_found then
        if v_data -> 'payment_status' is distinct from '"succeeded"'::jsonb then
            v_error := format('completed event with payment_status %s',
                              donations.wave_preview(v_data -> 'payment_status'));
        elsif v_data -> 'currency' is distinct from '"XOF"'::jsonb
              or v_data -> 'amount' is distinct from to_jsonb(d.amount_cfa::text) then
            v_error := format('amount mismatch: Wave %s %s, donation %s XOF',
                              donations.wave_preview(v_data -> 'amount'),
                              donations.wave_preview(v_data -> 'currency'), d.amount_cfa);
        elsif v_error is not null then
            if d.status = 'succeeded' then
                v_error := v_error || '; second paid session for a succeeded donation: refund it';
            end if;
        elsif coalesce(v_data -> 'transaction_id', 'null'::jsonb) <> 'null'::jsonb
              and (jsonb_typeof(v_data -> 'transaction_id') <> 'string'
                   or char_length(v_data ->> 'transaction_id') not between 1 and 100) then
            v_error := format('transaction_id must be a string of 1 to 100 characters (got %s)',
                              donations.wave_preview(v_data -> 'transaction_id'));
        else
            v_tx := v_data ->> 'transaction_id';
            if v_tx is not null then
                select id into v_other from donations.donations
                 where wave_transaction_id = v_tx and id <> d.id;
                if v_other is not null then
                    v_error := format('transaction %s already confirmed donation %s', v_tx, v_other);
                end if;
            end if;
        end if;
        if v_error is not null then
            v_outcome := 'error';
        else
            update donations.donations
               set status = 'succeeded', wave_transaction_id = v_tx, confirmed_at = now(),
                   wave_notified_at = now(), wave_webhook_data = v_data, failure_reason = null,
                   failed_at = null
             where id = d.id and status in ('pending', 'processing', 'failed')
            returning confirmed_at into v_confirmed;
            if v_confirmed is null then
                v_outcome := 'ignored';
                v_error := format('ignored: donation already %s', coalesce(d.status, ''));
            else
                v_outcome := 'applied';
                perform wolo.publish_event('donation.succeeded', jsonb_build_object(
                    'donation_id', d.id,
                    'pot_id', d.pot_id,
                    'amount_cfa', d.amount_cfa,
                    'donor_user_id', d.donor_user_id,
                    'donor_phone', d.donor_phone,
                    'donor_name', d.donor_name,
                    'is_anonymous', d.is_anonymous,
                    'confirmed_at', to_char(v_confirmed at time zone 'UTC',
                                            'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')), 'donations');
                -- The owner hears of it (`donation_received`), with the pot's new total.
                select p.owner_user_id, p.title, p.target_amount_cfa,
                       -- The filter in the aggregate, not the WHERE: the pot's own donations
                       -- by its index, never the index of every succeeded donation.
                       (select coalesce(sum(amount_cfa) filter (where status = 'succeeded'), 0)::bigint
                          from donations.donations where pot_id = p.id) as raised,
                       (select (regexp_match(pr.full_name, '\S+'))[1] from profiles.profiles pr
                         where pr.user_id = p.owner_user_id) as first_name
                  into v_pot
                  from pots.pots p where p.id = d.pot_id;
                if v_pot.owner_user_id is not null then
                    perform wolo.publish_event('notification.requested', jsonb_build_object(
                        'user_id', v_pot.owner_user_id,
                        'recipient', jsonb_build_object('phone', null, 'email', null),
                        'message', 'donation_received',
                        'locale', null,
                        'channels', null,
                        'data', jsonb_build_object(
                            'first_name', coalesce(nullif(v_pot.first_name, ''), 'Bonjour'),
                            'donor_name', case when d.is_anonymous then 'Un proche'
                                               else coalesce(d.donor_name, 'Un proche') end,
                            'amount_cfa', d.amount_cfa,
                            'pot_title', v_pot.title,
                            'raised_cfa', v_pot.raised,
                            'target_amount_cfa', v_pot.target_amount_cfa),
                        'scheduled_at', null), 'donations');
                end if;
            end if;
        end if;
    elsif v_kind = 'checkout.session.payment_failed' and v_found then
        if v_error is not null then
            v_outcome := 'error';
        else
            update donations.donations
               set payment_attempts_failed = payment_attempts_failed + 1,
                   last_payment_error = v_data -> 'last_payment_error', wave_notified_at = now()
             where id = d.id and status in ('pending', 'processing', 'failed');
            if found then
                v_outcome := 'applied';
            else
                v_outcome := 'ignored';
                v_error := format('ignored: late payment failure: donation already %s',
                                  coalesce(d.status, ''));
            end if;
        end if;
    elsif v_kind = 'test.test_event' then
        v_outcome := 'ignored';
        v_error := 'ignored: test event';
    elsif v_outcome is null then
        v_outcome := 'error';
        v_error := format('unsupported event type %s', v_kind);
    end if;

    if v_error is not null then
        update donations.wave_webhook_events set processing_error = v_error where id = v_row;
    end if;
    return v_outcome;
end;
$$;

-- Several verified events in one transaction, in the order given (the server sorts them by
-- Wave's event id, so two batches take their locks in one order): one round trip and one
-- commit for the lot (group commit, issue #16). Any error rolls the whole batch back; the
-- server then applies each event alone.
create function donations.apply_wave_events(p_events jsonb)
returns text[]
language plpgsql
set search_path = ''
as $$
declare
    v_out text[] := '{}';
    v_event jsonb;
begin
    for v_event in select e from jsonb_array_elements(p_events) e loop
        v_out := v_out || donations.apply_wave_event(v_event);
    end loop;
    return v_out;
end;
$$;

comment on function donations.apply_wave_events(jsonb) is
    'Stores and applies a JSON array of verified Wave webhook events in order, in the caller''s transaction; returns each outcome (V114).';

comment on function donations.apply_wave_event(jsonb) is
    'Stores and applies one verified Wave webhook event in the caller''s transaction; returns duplicate, applied, ignored or error (V114).';

revoke execute on function donations.apply_wave_event(jsonb) from public;
revoke execute on function donations.wave_preview(jsonb) from public;
revoke execute on function donations.apply_wave_events(jsonb) from public;
grant execute on function donations.apply_wave_events(jsonb) to wolo_svc_donations;
grant execute on function donations.apply_wave_event(jsonb) to wolo_svc_donations;
grant execute on function donations.wave_preview(jsonb) to wolo_svc_donations;
