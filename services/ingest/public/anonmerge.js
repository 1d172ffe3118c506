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
 *   anonmerge.page()                                   a page view: the URL is the event name
 *   anonmerge.track('Added to cart', { sku: 'A1' })     an event
 *   anonmerge.identify({ id: '42', email: 'a@b.c' })    sign-up / log-in: merges the anonymous events
 *   anonmerge.reset()                                   log-out: a new anonymous id from now on
 *
 * Before identify, events go out under a random anonymous id kept in a first-party cookie
 * (localStorage when cookies are refused); identify sends that id with the person, and later
 * events go out as the person until reset(). Calls made before this script loaded (the _queue
 * above) are replayed in order. Sends use navigator.sendBeacon, or fetch with keepalive, so that
 * an event sent as the page unloads (a click on a link) still arrives.
 */
(function () {
  'use strict';
  var ANON_KEY = 'anonmerge_aid';
  var PERSON_KEY = 'anonmerge_pid';
  var YEAR = 365 * 24 * 3600;

  var script = document.currentScript || document.querySelector('script[src*="/js/anonmerge.js"]');
  var base = script ? new URL(script.src, location.href).origin : location.origin;
  var existing = window.anonmerge || {};
  var siteId = existing.siteId || (script && script.getAttribute('data-site-id'));
  var key = existing.key || (script && script.getAttribute('data-key'));

  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split('; ') : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf('=');
      if (parts[i].slice(0, eq) === name) return decodeURIComponent(parts[i].slice(eq + 1));
    }
    return null;
  }

  function writeCookie(name, value, maxAge) {
    var secure = location.protocol === 'https:' ? '; Secure' : '';
    document.cookie = name + '=' + encodeURIComponent(value) + '; Path=/; Max-Age=' + maxAge + '; SameSite=Lax' + secure;
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
    if (!id) {
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

  function event(name, type, data) {
    var body = { name: String(name), type: type, data: data || {}, timestamp: Math.floor(Date.now() / 1000), id: randomId() };
    var person = storage.get(PERSON_KEY);
    if (person) {
      send('/js/v1/customers/' + encodeURIComponent(person) + '/events', body);
    } else {
      body.anonymous_id = anonymousId();
      send('/js/v1/events', body);
    }
  }

  var api = {
    siteId: siteId,
    key: key,
    track: function (name, data) {
      event(name, 'event', data);
    },
    page: function (data) {
      event(location.href, 'page', data);
    },
    identify: function (traits) {
      traits = traits || {};
      var identifier = traits.id || traits.email;
      if (!identifier) throw new Error('anonmerge.identify needs an id or an email');
      var body = { anonymous_id: anonymousId() };
      for (var name in traits) if (name !== 'id' && Object.prototype.hasOwnProperty.call(traits, name)) body[name] = traits[name];
      storage.set(PERSON_KEY, String(identifier));
      send('/js/v1/customers/' + encodeURIComponent(String(identifier)), body);
    },
    reset: function () {
      storage.remove(PERSON_KEY);
      storage.remove(ANON_KEY);
    },
    anonymousId: anonymousId,
    person: function () {
      return storage.get(PERSON_KEY);
    },
  };

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
