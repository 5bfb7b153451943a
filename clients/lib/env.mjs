// What every client script needs from its caller (suite/tests/clients/main.rs sets
// these): the API origin, two tokens and the demo ids the assertions are about.

export function required(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`missing environment variable ${name} (run through: cargo test -p suite --test clients)`);
    process.exit(2);
  }
  return v;
}

export function loadEnv() {
  return {
    base: required('WOLO_BASE').replace(/\/+$/, ''),
    adminToken: required('WOLO_ADMIN_TOKEN'),
    userToken: required('WOLO_USER_TOKEN'),
    userId: required('WOLO_USER_ID'),
    userPot: required('WOLO_USER_POT'),
    otherPot: required('WOLO_OTHER_POT'),
  };
}

function redact(headers) {
  if (headers.authorization) headers.authorization = headers.authorization.slice(0, 16) + '…';
  return headers;
}

/**
 * A fetch that remembers the last request and response, so a failed assertion can show
 * exactly what the real client sent and what the server answered.
 */
export function recordingFetch() {
  const log = [];
  const fetchImpl = async (input, init = {}) => {
    const req = new Request(input, init);
    const entry = {
      method: req.method,
      url: req.url,
      headers: redact(Object.fromEntries(req.headers)),
      body: init.body === undefined || init.body === null ? null : String(init.body),
    };
    log.push(entry);
    if (log.length > 50) log.shift();
    const res = await fetch(input, init);
    const text = await res.clone().text();
    entry.response = {
      status: res.status,
      headers: Object.fromEntries(res.headers),
      body: text.length > 2000 ? text.slice(0, 2000) + '…' : text,
    };
    return res;
  };
  fetchImpl.last = () => log[log.length - 1];
  fetchImpl.describeLast = () => JSON.stringify(log[log.length - 1] ?? null, null, 2);
  return fetchImpl;
}
