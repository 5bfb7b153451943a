// The admin console (console.html): sign-in, flags, configuration, audit log. Served as a
// file so the page's Content-Security-Policy allows no inline script.
'use strict';
// The console is served at <prefix>/admin/console; identity lives beside admin.
const ADMIN = location.pathname.replace(/\/console\/?$/, '');
const IDENTITY = ADMIN.replace(/[^/]*$/, 'identity');
let token = sessionStorage.getItem('wolo_admin_token');
let sessionId = sessionStorage.getItem('wolo_admin_session');

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const fmtDate = (s) => s ? new Date(s).toLocaleString('fr-SN', { timeZone: 'Africa/Dakar' }) : '';

async function api(method, path, body, extra) {
  const headers = Object.assign({ 'Content-Type': 'application/json' }, extra || {});
  if (token) headers.Authorization = 'Bearer ' + token;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = text; }
  if (!res.ok) {
    const msg = (data && data.message) || (data && data.msg) || (data && data.error_description) || res.statusText;
    const err = new Error(msg + (data && data.details ? '\n' + data.details : ''));
    err.status = res.status;
    throw err;
  }
  return data;
}

function showApp(signedIn) {
  $('login').classList.toggle('hidden', signedIn);
  $('app').classList.toggle('hidden', !signedIn);
  document.body.dataset.state = signedIn ? 'signed-in' : 'signed-out';
}

function tab(name) {
  for (const t of ['flags', 'config', 'audit']) $('tab-' + t).classList.toggle('hidden', t !== name);
  if (name === 'flags') loadFlags();
  if (name === 'config') loadConfig();
  if (name === 'audit') searchAudit();
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('login-error').textContent = '';
  try {
    const s = await api('POST', IDENTITY + '/token?grant_type=password', { email: $('email').value, password: $('password').value });
    token = s.access_token;
    const session = await api('POST', ADMIN + '/sessions');
    sessionId = session.id;
    sessionStorage.setItem('wolo_admin_token', token);
    sessionStorage.setItem('wolo_admin_session', sessionId);
    $('who').textContent = (s.user && s.user.email) || '';
    showApp(true);
    tab('flags');
  } catch (err) {
    token = null;
    $('login-error').textContent = err.status === 403
      ? 'Ce compte n\'est pas administrateur.'
      : 'Connexion impossible : ' + err.message;
  }
});

$('logout').addEventListener('click', async () => {
  try { if (sessionId) await api('POST', ADMIN + '/sessions/' + sessionId + '/end', { reason: 'logout' }); } catch (_) {}
  try { await api('POST', IDENTITY + '/logout?scope=local'); } catch (_) {}
  token = null; sessionId = null;
  sessionStorage.clear();
  showApp(false);
});

for (const b of document.querySelectorAll('nav button[data-tab]')) b.addEventListener('click', () => tab(b.dataset.tab));

async function loadFlags() {
  $('flags-error').textContent = '';
  try {
    const flags = await api('GET', ADMIN + '/feature_flags?select=id,flag_key,name,is_enabled,rollout_percentage,environment&order=flag_key');
    $('flags').innerHTML = flags.map((f) => `<tr data-flag="${esc(f.flag_key)}">
      <td><code>${esc(f.flag_key)}</code></td><td>${esc(f.name)}</td>
      <td><input type="checkbox" class="flag-toggle" data-key="${esc(f.flag_key)}" ${f.is_enabled ? 'checked' : ''}></td>
      <td><input type="number" min="0" max="100" class="flag-rollout rollout" data-key="${esc(f.flag_key)}" value="${f.rollout_percentage ?? 0}"> %</td>
      <td>${esc(f.environment)}</td></tr>`).join('');
    document.body.dataset.flags = 'loaded';
  } catch (err) { $('flags-error').textContent = err.message; }
}

async function patchFlag(key, change, input) {
  $('flags-error').textContent = '';
  input.disabled = true;
  try {
    await api('PATCH', ADMIN + '/feature_flags?flag_key=eq.' + encodeURIComponent(key), change, { Prefer: 'return=minimal' });
    input.closest('tr').dataset.saved = 'yes';
  } catch (err) {
    $('flags-error').textContent = 'Échec de la mise à jour : ' + err.message;
    await loadFlags();
  } finally { input.disabled = false; }
}

$('flags').addEventListener('change', (e) => {
  const t = e.target;
  if (t.classList.contains('flag-toggle')) patchFlag(t.dataset.key, { is_enabled: t.checked }, t);
  if (t.classList.contains('flag-rollout')) patchFlag(t.dataset.key, { rollout_percentage: Number(t.value) }, t);
});

async function loadConfig() {
  $('config-error').textContent = '';
  try {
    const rows = await api('GET', ADMIN + '/config');
    $('config').innerHTML = rows.map((r) => `<tr data-key="${esc(r.config_key)}">
      <td><code>${esc(r.config_key)}</code><br><small>${esc(r.description)}</small></td>
      <td><textarea rows="1" cols="30" class="config-value" ${r.masked ? 'placeholder="valeur masquée : saisir une nouvelle valeur"' : ''}>${r.masked ? '' : esc(JSON.stringify(r.config_value))}</textarea></td>
      <td><pre>${esc(r.validation_rules ? JSON.stringify(r.validation_rules) : '')}</pre></td>
      <td><button class="config-save" data-key="${esc(r.config_key)}">Enregistrer</button></td></tr>`).join('');
    document.body.dataset.config = 'loaded';
  } catch (err) { $('config-error').textContent = err.message; }
}

$('config').addEventListener('click', async (e) => {
  const b = e.target.closest('.config-save');
  if (!b) return;
  $('config-error').textContent = '';
  $('config-ok').textContent = '';
  const raw = b.closest('tr').querySelector('.config-value').value;
  let value;
  try { value = JSON.parse(raw); } catch (_) {
    $('config-error').textContent = 'JSON invalide : ' + raw;
    return;
  }
  try {
    await api('PUT', ADMIN + '/config/' + encodeURIComponent(b.dataset.key), { value });
    $('config-ok').textContent = 'Enregistré : ' + b.dataset.key;
  } catch (err) {
    $('config-error').textContent = 'Refusé : ' + err.message;
  }
});

$('audit-form').addEventListener('submit', (e) => { e.preventDefault(); searchAudit(); });

async function searchAudit() {
  $('audit-error').textContent = '';
  const q = new URLSearchParams({ select: 'timestamp,action,resource_type,resource_id,actor_user_id,actor_ip,request_id,old_values,new_values', order: 'timestamp.desc', limit: '100' });
  if ($('audit-action').value) q.append('action', 'ilike.*' + $('audit-action').value + '*');
  if ($('audit-resource').value) q.append('resource_type', 'eq.' + $('audit-resource').value);
  if ($('audit-since').value) q.append('timestamp', 'gte.' + $('audit-since').value);
  try {
    const rows = await api('GET', ADMIN + '/audit_logs?' + q.toString());
    $('audit').innerHTML = rows.map((r) => `<tr class="audit-row">
      <td>${esc(fmtDate(r.timestamp))}</td><td>${esc(r.action)}</td>
      <td>${esc(r.resource_type)} ${esc(r.resource_id)}</td><td>${esc(r.actor_user_id)}</td>
      <td>${esc(r.actor_ip)}</td><td>${esc(r.request_id)}</td>
      <td><pre>${esc(JSON.stringify(r.old_values))} → ${esc(JSON.stringify(r.new_values))}</pre></td></tr>`).join('');
    document.body.dataset.audit = 'loaded:' + rows.length;
  } catch (err) { $('audit-error').textContent = err.message; }
}

if (token) { showApp(true); tab('flags'); } else { showApp(false); }
