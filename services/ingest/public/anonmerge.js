/*
 * anonmerge browser snippet — served by ingest at /js/anonmerge.js, no build step.
 *
 * On the page:
 *   <script>
 *     window.anonmerge = window.anonmerge || { _queue: [] };
 *     ['track', 'page', 'identify', 'reset'].forEach(function (m) {
 *       anonmerge[m] = anonmerge[m] || function () { anonmerge._queue.push([m, [].slice.call(arguments)]); };
 *     });
 *   </script>
 *   <script async src="https://ingest.example.com/js/anonmerge.js"
 *           data-site-id="SITE_ID" data-key="PUBLISHABLE_KEY"></script>
 *
 *   anonmerge.page()                                   a page view: the URL without query string or fragment is the name
 *   anonmerge.page({}, { query: ['utm_source'] })      ... keeping the named query parameters (opt-in)
 *   anonmerge.track('Added to cart', { sku: 'A1' })     an event
 *   anonmerge.identify({ id: '42', plan: 'pro' }, { userHash: '…' })
 *                                                      sign-up / log-in: merges the anonymous events
 *   anonmerge.reset()                                   log-out: a new anonymous id from now on
 *
 * Before identify, events go out under a random anonymous id kept in a first-party cookie
 * (localStorage when cookies are refused); identify sends that id with the person, and later
 * events of the page go out as the person until reset(). Calls made before this script loaded
 * (the _queue above) are replayed in order. Sends use navigator.sendBeacon, or fetch with
 * keepalive, so that an event sent as the page unloads (a click on a link) still arrives.
 *
 * Identity verification: identify and the person's events carry `userHash`, the HMAC-SHA256 of
 * the identifier that the site's server computes with the workspace's identity verification
 * secret and renders into the signed-in visitor's page; without it ingest refuses them.
 *
 * What it keeps: the anonymous id only. The person (often an email) and their user hash live in
 * this page's memory, never in a cookie or storage, so a signed-in site calls identify on each
 * page where it knows the visitor — as its server renders the user hash there anyway.
 */
(function () {
  'use strict';
  var ANON_KEY = 'anonmerge_aid';
  // Where earlier versions kept the person's identifier for a year: removed wherever it is found.
  var LEGACY_PERSON_KEY = 'anonmerge_pid';
  var YEAR = 365 * 24 * 3600;
  // Ids this snippet makes (a UUID, or 32 hex digits); anything else in the cookie is not ours.
  var ANON_ID = /^[A-Za-z0-9-]{1,64}$/;

  var script = document.currentScript || document.querySelector('script[src*="/js/anonmerge.js"]');
  var base = script ? new URL(script.src, location.href).origin : location.origin;
  var existing = window.anonmerge || {};
  var siteId = existing.siteId || (script && script.getAttribute('data-site-id'));
  var key = existing.key || (script && script.getAttribute('data-key'));

  // A cookie the snippet cannot read (malformed %-escapes, cookies disabled in a sandboxed frame)
  // counts as absent: a broken cookie costs a new anonymous id, never the page's analytics.
  function readCookie(name) {
    try {
      var parts = document.cookie ? document.cookie.split('; ') : [];
      for (var i = 0; i < parts.length; i++) {
        var eq = parts[i].indexOf('=');
        if (parts[i].slice(0, eq) === name) return decodeURIComponent(parts[i].slice(eq + 1));
      }
    } catch (e) {
      /* unreadable: absent */
    }
    return null;
  }

  function writeCookie(name, value, maxAge) {
    var secure = location.protocol === 'https:' ? '; Secure' : '';
    try {
      document.cookie = name + '=' + encodeURIComponent(value) + '; Path=/; Max-Age=' + maxAge + '; SameSite=Lax' + secure;
    } catch (e) {
      /* cookies refused: localStorage is the fallback */
    }
  }

  // The cookie first; localStorage when the cookie did not stick (blocked, or a file: page).
  var storage = {
    get: function (name) {
      var value = readCookie(name);
      if (value !== null) return value;
      try {
        return window.localStorage.getItem(name);
      } catch (e) {
        return null;
      }
    },
    set: function (name, value) {
      writeCookie(name, value, YEAR);
      try {
        window.localStorage.setItem(name, value);
      } catch (e) {
        /* storage refused: the cookie is all there is */
      }
    },
    remove: function (name) {
      writeCookie(name, '', 0);
      try {
        window.localStorage.removeItem(name);
      } catch (e) {
        /* nothing to remove */
      }
    },
  };

  function randomId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join('');
  }

  function anonymousId() {
    var id = storage.get(ANON_KEY);
    if (!id || !ANON_ID.test(id)) {
      id = randomId();
      storage.set(ANON_KEY, id);
    }
    return id;
  }

  function url(path) {
    return base + path + '?site_id=' + encodeURIComponent(siteId) + '&key=' + encodeURIComponent(key);
  }

  // text/plain: a "simple" request, sent without a CORS preflight; ingest reads it as JSON.
  function send(path, body) {
    var payload = JSON.stringify(body);
    var target = url(path);
    if (navigator.sendBeacon && navigator.sendBeacon(target, new Blob([payload], { type: 'text/plain;charset=UTF-8' }))) return;
    if (window.fetch) {
      window.fetch(target, { method: 'POST', body: payload, headers: { 'content-type': 'text/plain;charset=UTF-8' }, keepalive: true, mode: 'cors' }).catch(function () {});
    }
  }

  // The identified person of this page: { identifier, userHash }, in memory only.
  var person = null;

  function event(name, type, data) {
    var body = { name: String(name), type: type, data: data || {}, timestamp: Math.floor(Date.now() / 1000), id: randomId() };
    if (person) {
      if (person.userHash) body.user_hash = person.userHash;
      send('/js/v1/customers/' + encodeURIComponent(person.identifier) + '/events', body);
    } else {
      body.anonymous_id = anonymousId();
      send('/js/v1/events', body);
    }
  }

  // Query strings and fragments carry tokens, emails and search terms: a page view is named by
  // its URL without them, unless the page names the parameters it wants kept.
  function pageName(keep) {
    var name = location.protocol + '//' + location.host + location.pathname;
    if (!keep || !keep.length) return name;
    var params = new URLSearchParams(location.search);
    var kept = new URLSearchParams();
    for (var i = 0; i < keep.length; i++) {
      var values = params.getAll(String(keep[i]));
      for (var j = 0; j < values.length; j++) kept.append(String(keep[i]), values[j]);
    }
    var query = kept.toString();
    return query ? name + '?' + query : name;
  }

  var api = {
    siteId: siteId,
    key: key,
    track: function (name, data) {
      event(name, 'event', data);
    },
    page: function (data, options) {
      event(pageName(options && options.query), 'page', data);
    },
    identify: function (traits, options) {
      traits = traits || {};
      var identifier = traits.id || traits.email;
      if (!identifier) throw new Error('anonmerge.identify needs an id or an email');
      var userHash = options && options.userHash ? String(options.userHash) : null;
      if (!userHash && window.console) console.warn('anonmerge.identify: no userHash; ingest refuses an identify without it (identity verification)');
      var body = { anonymous_id: anonymousId() };
      for (var name in traits) {
        if (!Object.prototype.hasOwnProperty.call(traits, name) || name === 'id') continue;
        // An email that is the identifier is not also sent as an attribute.
        if (name === 'email' && !traits.id) continue;
        body[name] = traits[name];
      }
      if (userHash) body.user_hash = userHash;
      person = { identifier: String(identifier), userHash: userHash };
      send('/js/v1/customers/' + encodeURIComponent(person.identifier), body);
    },
    reset: function () {
      person = null;
      storage.remove(ANON_KEY);
    },
    anonymousId: anonymousId,
    person: function () {
      return person ? person.identifier : null;
    },
  };

  storage.remove(LEGACY_PERSON_KEY);

  var queued = existing._queue || [];
  window.anonmerge = api;
  if (!siteId || !key) {
    if (window.console) console.warn('anonmerge: data-site-id and data-key are needed on the script tag');
    return;
  }
  for (var i = 0; i < queued.length; i++) {
    var call = queued[i];
    if (api[call[0]]) api[call[0]].apply(api, call[1] || []);
  }
})();
