// Keysat buyer pages: progressive enhancement only. Every page works
// without this file; it previews codes as they are typed, refreshes the
// thank-you page in place and copies keys. Data comes from escaped
// data-* attributes and the JSON API, never from inline script.
(function () {
  'use strict';

  function byId(id) { return document.getElementById(id); }

  function sats(n) { return Number(n).toLocaleString('en-US') + ' sats'; }

  function seats(n) {
    if (!n || n <= 0) { return 'Unlimited machines'; }
    return n === 1 ? '1 machine' : n + ' machines';
  }

  // The same text as the server's: "1 May 2027", or never for lifetime keys.
  function expiry(v) {
    if (v === null || v === undefined || v === 0) { return 'Never (lifetime license)'; }
    var d = typeof v === 'number' ? new Date(v * 1000) : new Date(v);
    if (isNaN(d.getTime())) { return String(v); }
    return d.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
  }

  function setText(el, text) { if (el) { el.textContent = text; } }

  // ---- copy buttons: <button data-copy="element-id"> ----
  function copied(ok) {
    setText(byId('copy-status'), ok ? 'Copied.' : 'Select the key and copy it.');
  }

  function copyBySelection(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    var ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    copied(ok);
  }

  document.querySelectorAll('[data-copy]').forEach(function (btn) {
    btn.hidden = false;
    btn.addEventListener('click', function () {
      var el = byId(btn.getAttribute('data-copy'));
      if (!el) { return; }
      var text = el.textContent.trim();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { copied(true); }, function () { copyBySelection(el); });
      } else {
        copyBySelection(el);
      }
    });
  });

  // ---- buy page: live price with the discount code ----
  var buy = byId('buy-form');
  if (buy) {
    var product = buy.getAttribute('data-product');
    var code = byId('code');
    var note = byId('code-note');
    var pay = byId('pay');
    var timer = null;
    var asked = 0;
    var sending = false;

    var selected = function () { return buy.querySelector('input[name="policy_slug"]:checked'); };

    var show = function (tier, price, was, also, free) {
      setText(byId('total-tier'), tier);
      setText(byId('total-price'), price);
      var wasEl = byId('total-was');
      setText(wasEl, was || '');
      if (wasEl) { wasEl.hidden = !was; }
      setText(byId('total-also'), also || '');
      setText(pay, pay.getAttribute(free ? 'data-free-label' : 'data-paid-label'));
      // The line under the button says what really happens next; with no
      // payment provider only a free order can go on.
      var help = byId('pay-help');
      if (help) { setText(help, help.getAttribute(free ? 'data-free' : 'data-paid')); }
      pay.disabled = !free && buy.getAttribute('data-ready') !== 'true';
      // "Pay by card" only for a paid tier with a card (fiat) price.
      var card = byId('pay-card');
      var radio = selected();
      if (card) { card.hidden = free || !(radio && radio.getAttribute('data-fiat')); }
    };

    // A fiat tier is charged in its currency only, in bitcoin at the rate of the day.
    var rateNote = 'paid in bitcoin at the rate of the day';
    var showBase = function (radio) {
      var fiat = radio.getAttribute('data-fiat');
      var price = radio.getAttribute('data-price');
      var free = Number(radio.getAttribute('data-sats')) === 0 && !fiat;
      if (fiat) { show(radio.getAttribute('data-name'), fiat, '', rateNote, false); }
      else { show(radio.getAttribute('data-name'), price, '', '', free); }
    };

    var say = function (text, ok) {
      setText(note, text);
      note.classList.toggle('ok', ok === true);
      note.classList.toggle('bad', ok === false);
    };

    var refresh = function () {
      var radio = selected();
      if (!radio) { return; }
      var value = code.value.trim();
      if (value.length < 4) {
        showBase(radio);
        say(value ? 'A code has at least 4 characters.' : '', value ? false : undefined);
        return;
      }
      var mine = ++asked;
      fetch('/v1/discount-codes/preview', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
        body: JSON.stringify({ product: product, policy_slug: radio.value, code: value })
      }).then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      }).then(function (res) {
        if (mine !== asked) { return; }
        var b = res.body || {};
        if (!res.ok) {
          showBase(radio);
          var m = String(b.message || 'This code cannot be used.');
          say(m.charAt(0).toUpperCase() + m.slice(1) + (/[.!?]$/.test(m) ? '' : '.'), false);
          return;
        }
        var finalSats = sats(Math.max(0, b.final_price_sats));
        var name = radio.getAttribute('data-name');
        if (b.price_currency) {
          var was = b.base_price_amount !== b.final_price_amount ? b.base_price_amount + ' ' + b.price_currency : '';
          show(name, b.final_price_amount + ' ' + b.price_currency, was, b.free === true ? '' : rateNote, b.free === true);
        } else {
          show(name, finalSats, b.discount_sats ? sats(b.base_price_sats) : '', '', b.free === true);
        }
        say('Code ' + b.code + ' applied.', true);
      }).catch(function () { /* offline: the form still checks the code when sent */ });
    };

    code.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 300);
    });
    buy.addEventListener('change', function (e) {
      if (e.target && e.target.name === 'policy_slug') { refresh(); }
    });
    // One purchase per click: a second click while the first is on its way does nothing.
    buy.addEventListener('submit', function (e) {
      var intent = e.submitter ? e.submitter.value : 'pay';
      if (sending) { e.preventDefault(); return; }
      if (intent === 'pay' || intent === 'card') {
        var button = intent === 'card' ? byId('pay-card') : pay;
        sending = true;
        button.setAttribute('aria-disabled', 'true');
        setText(button, 'Creating your invoice…');
      }
    });
    // Back from the checkout, or a form the browser filled in again: the
    // total must match what is selected now.
    var restored = function () {
      var radio = selected();
      return (radio && !radio.defaultChecked) || code.value !== code.defaultValue;
    };
    window.addEventListener('pageshow', function (e) {
      sending = false;
      pay.removeAttribute('aria-disabled');
      var card = byId('pay-card');
      if (card) { card.removeAttribute('aria-disabled'); setText(card, 'Pay by card'); }
      if (e.persisted || restored()) { refresh(); }
    });
  }

  // ---- thank-you page: follow the purchase until the key is there ----
  var order = byId('order');
  if (order) {
    var stages = ['waiting_for_payment', 'confirming', 'paid', 'expired', 'invalid', 'refunded'];
    var live = byId('live');
    var id = order.getAttribute('data-invoice');
    var moving = function (stage) { return stage === 'waiting_for_payment' || stage === 'confirming'; };
    var said = {
      confirming: 'Payment received. Your key is being issued.',
      paid: 'Your license key is ready.',
      expired: 'This payment expired.',
      invalid: 'This payment did not go through.',
      refunded: 'This purchase was refunded.'
    };

    var showStage = function (stage) {
      if (stage === order.getAttribute('data-stage')) { return; }
      stages.forEach(function (s) {
        var el = byId('stage-' + s);
        if (el) { el.hidden = s !== stage; }
      });
      order.setAttribute('data-stage', stage);
      setText(live, said[stage] || '');
    };

    var poll = function () {
      fetch('/v1/purchase/' + encodeURIComponent(id), { headers: { 'Accept': 'application/json' }, cache: 'no-store' })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (p) {
          if (!p) { return later(); }
          var stage = p.stage === 'paid' && !p.license_key ? 'confirming' : p.stage;
          if (stage === 'paid') {
            setText(byId('license-key'), p.license_key);
            setText(byId('key-seats'), seats(p.max_machines));
            setText(byId('key-expires'), expiry(p.expires_at));
          }
          showStage(stage);
          if (moving(stage)) { later(); }
        })
        .catch(later);
    };
    var later = function () { setTimeout(poll, 2000); };

    if (moving(order.getAttribute('data-stage'))) { later(); }
  }
}());
