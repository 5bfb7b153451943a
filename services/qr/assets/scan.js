// The partners' scanning page (scan.html): sign-in, venue choice, camera or typed code,
// redeem. Served as a file so the page's Content-Security-Policy allows no inline script.
(function () {
  'use strict';
  var identity = document.querySelector('main').dataset.identity.replace(/\/$/, '');
  var $ = function (id) { return document.getElementById(id); };
  var token = sessionStorage.getItem('wolo_partner_token');

  function device() {
    return { user_agent: navigator.userAgent, screen: screen.width + 'x' + screen.height,
             language: navigator.language, page: 'qr-scan' };
  }

  async function call(url, body, auth) {
    var headers = { 'Content-Type': 'application/json', 'Accept': 'application/json' };
    if (auth) headers.Authorization = 'Bearer ' + token;
    var res = await fetch(url, { method: body === undefined ? 'GET' : 'POST', headers: headers,
                                 body: body === undefined ? undefined : JSON.stringify(body) });
    var data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    return { status: res.status, data: data };
  }

  function loginError(msg) { $('login-error').textContent = msg; }

  async function signedIn(t) {
    token = t;
    sessionStorage.setItem('wolo_partner_token', t);
    var r = await call('venues', undefined, true);
    if (r.status !== 200) {
      sessionStorage.removeItem('wolo_partner_token');
      token = null;
      loginError(r.status === 403 ? 'Ce compte n\u2019est pas un compte partenaire.'
                                  : 'Session invalide, reconnectez-vous.');
      return;
    }
    var sel = $('venue');
    sel.innerHTML = '';
    r.data.forEach(function (v) {
      var o = document.createElement('option');
      o.value = v.id;
      o.textContent = (v.name || v.id) + (v.partner_name ? ' — ' + v.partner_name : '');
      sel.appendChild(o);
    });
    var saved = localStorage.getItem('wolo_venue');
    if (saved) sel.value = saved;
    $('login').classList.add('hidden');
    $('scanner').classList.remove('hidden');
    if (!r.data.length) show(false, 'Aucun lieu ne vous est attribué.', 'Contactez WOLO.');
  }

  $('send-otp').onclick = async function () {
    loginError('');
    var r = await call(identity + '/otp', { phone: $('phone').value.trim() });
    if (r.status >= 300) { loginError((r.data && (r.data.msg || r.data.message)) || 'Envoi impossible.'); return; }
    $('otp-step').classList.remove('hidden');
  };
  $('verify-otp').onclick = async function () {
    loginError('');
    var r = await call(identity + '/verify', { phone: $('phone').value.trim(), token: $('otp').value.trim(), type: 'sms' });
    if (r.status !== 200 || !r.data.access_token) { loginError('Code incorrect ou expiré.'); return; }
    signedIn(r.data.access_token);
  };
  $('signin-email').onclick = async function () {
    loginError('');
    var r = await call(identity + '/token?grant_type=password', { email: $('email').value.trim(), password: $('password').value });
    if (r.status !== 200 || !r.data.access_token) { loginError('E-mail ou mot de passe incorrect.'); return; }
    signedIn(r.data.access_token);
  };
  // « Se déconnecter » ends the sign-in on the server (every service refuses its token at
  // once), then forgets the token here.
  $('logout').onclick = async function () {
    if (token) {
      try { await call(identity + '/logout?scope=local', {}, true); } catch (e) { /* offline: forget it anyway */ }
    }
    sessionStorage.removeItem('wolo_partner_token');
    token = null;
    location.reload();
  };
  $('venue').onchange = function () { localStorage.setItem('wolo_venue', $('venue').value); };

  function show(ok, title, detail) {
    var el = $('result');
    el.className = ok ? 'ok' : 'ko';
    el.textContent = title;
    if (detail) {
      var s = document.createElement('small');
      s.textContent = detail;
      el.appendChild(s);
    }
    if (navigator.vibrate) navigator.vibrate(ok ? 200 : [100, 80, 100]);
  }

  var busy = false;
  async function redeem(code) {
    if (busy || !code) return;
    busy = true;
    $('result').className = '';
    try {
      var r = await call('redeem', { code: code, venue_id: $('venue').value, device: device() }, true);
      if (r.status === 200) {
        var d = r.data;
        var detail = [];
        if (d.pack && d.pack.items) detail.push(d.pack.items);
        if (d.owner_first_name) detail.push('Pour ' + d.owner_first_name);
        show(true, 'Valide — remettre : ' + d.pack.name, detail.join(' · '));
        $('code').value = '';
      } else if (r.status === 401) {
        show(false, 'Session expirée : reconnectez-vous.');
      } else {
        show(false, (r.data && r.data.message) || 'Erreur, réessayez.', r.data && r.data.code ? '(' + r.data.code + ')' : '');
      }
    } catch (e) {
      show(false, 'Pas de connexion : réessayez.');
    } finally {
      busy = false;
    }
  }
  $('redeem').onclick = function () { redeem($('code').value.trim()); };
  $('code').onkeydown = function (e) { if (e.key === 'Enter') redeem($('code').value.trim()); };

  // Camera: jsQR reads frames from the back camera.
  var stream = null;
  $('start-camera').onclick = async function () {
    if (stream) return;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    } catch (e) {
      show(false, 'Caméra indisponible : saisissez le code.');
      return;
    }
    var video = $('video'), canvas = $('canvas'), ctx = canvas.getContext('2d', { willReadFrequently: true });
    video.srcObject = stream;
    video.style.display = 'block';
    await video.play();
    var last = '';
    (function tick() {
      if (!stream) return;
      if (video.readyState === video.HAVE_ENOUGH_DATA) {
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
        ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
        var img = ctx.getImageData(0, 0, canvas.width, canvas.height);
        var found = jsQR(img.data, img.width, img.height, { inversionAttempts: 'dontInvert' });
        if (found && found.data && found.data !== last) {
          last = found.data;
          $('code').value = found.data;
          redeem(found.data);
          setTimeout(function () { last = ''; }, 4000);
        }
      }
      requestAnimationFrame(tick);
    })();
  };

  if (token) signedIn(token);
})();
