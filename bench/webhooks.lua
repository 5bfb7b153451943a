-- wrk script: POSTs signed Wave webhooks to /donations/webhooks/wave (bench/run.sh).
-- `events.lua` (bench/webhook_events.py) defines the signed deliveries. Environment:
-- WEBHOOK_EVENTS (the file), WEBHOOK_FROM / WEBHOOK_TO (1-based slice of events this run
-- uses), WEBHOOK_DUP_EVERY (every Nth request re-sends the thread's previous event: a
-- duplicate delivery; 0 = none). Each thread takes every T-th event of the slice, so no two
-- threads send the same new event; past the slice's end a thread re-sends (all duplicates).
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  dofile(os.getenv("WEBHOOK_EVENTS"))
  from = tonumber(os.getenv("WEBHOOK_FROM"))
  to = tonumber(os.getenv("WEBHOOK_TO"))
  dup_every = tonumber(os.getenv("WEBHOOK_DUP_EVERY") or "4")
  nthreads = tonumber(os.getenv("WEBHOOK_THREADS"))
  next_index = from + tid - 1
  last = nil
  sent = 0
end

function request()
  sent = sent + 1
  local ev
  if last ~= nil and dup_every > 0 and sent % dup_every == 0 then
    ev = last
  elseif next_index <= to then
    ev = events[next_index]
    next_index = next_index + nthreads
  else
    ev = last or events[from]
  end
  last = ev
  return wrk.format("POST", "/donations/webhooks/wave",
    { ["Content-Type"] = "application/json", ["Wave-Signature"] = ev[2] }, ev[1])
end
