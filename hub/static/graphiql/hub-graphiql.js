/*
 * Talent Data Hub — GraphiQL bootstrap (our own code, no build step).
 *
 * Loaded after react.production.min.js, react-dom.production.min.js and
 * graphiql.min.js (all vendored next to this file; nothing comes from a CDN).
 * All configuration is read from data attributes on the root element, so the
 * page needs no inline <script> and works under a strict
 * Content-Security-Policy (script-src 'self').
 *
 *   <div id="graphiql"
 *        data-endpoint="/graphql"              (required) where queries are POSTed
 *        data-default-query="# ..."            (optional) editor text for a first visit
 *        data-persist-headers="true">          (optional, default true) keep headers in localStorage
 *
 * The URL fragment #query=...&variables=...&operationName=... (or the same
 * keys in the query string, as in the classic GraphiQL examples) pre-fills
 * the editors, e.g. for shared links. Headers are deliberately NOT read from
 * the URL: a bearer token must not end up in browser history or server logs.
 *
 * When the Headers editor changes (a token pasted), the schema is fetched again with the new headers, so
 * Docs and autocomplete work without pressing the re-fetch button (refetchSchemaWhenHeadersSettle).
 */
(function () {
  'use strict';

  var ACCEPT = 'application/graphql-response+json, application/json';
  var CONTENT_TYPE = 'application/json';

  function showFatal(root, message) {
    var p = document.createElement('p');
    p.className = 'hub-graphiql-error';
    p.setAttribute('role', 'alert');
    p.textContent = message;
    root.textContent = '';
    root.appendChild(p);
  }

  function errorResult(message, extensions) {
    var err = { message: message };
    if (extensions) err.extensions = extensions;
    return { errors: [err] };
  }

  /**
   * GraphiQL fetcher: POST the operation as JSON to `endpoint`.
   * `opts.headers` is the parsed content of GraphiQL's header editor
   * (e.g. {"Authorization": "Bearer <token>"}). Accept and Content-Type are
   * always set by us so the server sees a spec-compliant GraphQL-over-HTTP
   * request whatever the user typed.
   */
  function makeFetcher(endpoint, root) {
    return async function fetcher(graphQLParams, opts) {
      if (root && graphQLParams && graphQLParams.operationName === 'IntrospectionQuery') {
        // How many schema fetches the page made (read by tests/test_graphiql_browser.py).
        root.setAttribute('data-introspections', String(Number(root.getAttribute('data-introspections') || 0) + 1));
      }
      var headers = new Headers();
      var userHeaders = (opts && opts.headers) || {};
      var names = Object.keys(userHeaders);
      for (var i = 0; i < names.length; i++) {
        var value = userHeaders[names[i]];
        if (value === null || value === undefined) continue;
        try {
          headers.set(names[i], String(value));
        } catch (e) {
          return errorResult(
            'Invalid header ' + JSON.stringify(names[i]) + ' in the Headers editor: ' + e.message
          );
        }
      }
      headers.set('Accept', ACCEPT);
      headers.set('Content-Type', CONTENT_TYPE);

      var response;
      try {
        response = await fetch(endpoint, {
          method: 'POST',
          headers: headers,
          body: JSON.stringify(graphQLParams),
          credentials: 'same-origin'
        });
      } catch (e) {
        return errorResult('Network error while contacting ' + endpoint + ': ' + e.message);
      }

      // application/graphql-response+json uses 4xx/5xx statuses for request
      // errors but still carries a JSON body with "errors": show it as is.
      var text = await response.text();
      try {
        return JSON.parse(text);
      } catch (e) {
        return errorResult(
          'HTTP ' + response.status + ' ' + response.statusText + ': the response is not JSON',
          { status: response.status, body: text.slice(0, 2000) }
        );
      }
    };
  }

  // Editor pre-fill from the URL fragment (#query=...&variables=...) or the
  // query string. The fragment is preferred: it never reaches the server, and
  // the hub executes GET /graphql?query=... itself instead of serving this page.
  function readUrlParams() {
    var out = {};
    var loc = window.location || {};
    var sources = [loc.search || '', (loc.hash || '').replace(/^#/, '')];
    sources.forEach(function (source) {
      var params;
      try {
        params = new URLSearchParams(source);
      } catch (e) {
        return;
      }
      ['query', 'variables', 'operationName'].forEach(function (key) {
        var v = params.get(key);
        if (v !== null && v !== '') out[key] = v;
      });
    });
    return out;
  }

  function mount() {
    var root = document.getElementById('graphiql');
    if (!root) return;

    if (!window.React || !window.ReactDOM || !window.GraphiQL) {
      showFatal(
        root,
        'GraphiQL could not start: its script files did not load. ' +
          'Check that the hub serves its static files (the /static mount).'
      );
      return;
    }

    var endpoint = root.getAttribute('data-endpoint') || '/graphql';
    var defaultQuery = root.getAttribute('data-default-query');
    var persist = root.getAttribute('data-persist-headers') !== 'false';
    var fromUrl = readUrlParams();

    var props = {
      fetcher: makeFetcher(endpoint, root),
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: persist,
      defaultEditorToolsVisibility: 'headers',
      onEditHeaders: function (text) { refetchSchemaWhenHeadersSettle(text); }
    };
    if (defaultQuery !== null) props.defaultQuery = defaultQuery;
    if (fromUrl.query !== undefined) props.query = fromUrl.query;
    if (fromUrl.variables !== undefined) props.variables = fromUrl.variables;
    if (fromUrl.operationName !== undefined) props.operationName = fromUrl.operationName;

    root.textContent = '';
    var reactRoot = window.ReactDOM.createRoot(root);
    function render() {
      reactRoot.render(window.React.createElement(window.GraphiQL, props));
    }

    // Schema re-fetch when the headers change (e.g. a token was pasted): GraphiQL 3.9's schema provider
    // introspects again whenever its `fetcher` prop changes, sending the header editor's current headers
    // (read at that moment). So: once the editor holds valid JSON that differs from the headers of the
    // last introspection, re-render with a new fetcher. Debounced, so typing a token fetches once.
    var lastHeaders = normaliseHeaders(null);
    var timer = null;
    function refetchSchemaWhenHeadersSettle(text) {
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(function () {
        timer = null;
        var headers = normaliseHeaders(text);
        if (headers === undefined || headers === lastHeaders) return;  // invalid JSON or unchanged
        lastHeaders = headers;
        props = Object.assign({}, props, { fetcher: makeFetcher(endpoint, root) });
        render();
      }, REFETCH_DELAY_MS);
    }
    render();
  }

  var REFETCH_DELAY_MS = 400;

  // The header editor's text as a canonical string (undefined: not valid JSON yet).
  function normaliseHeaders(text) {
    if (text === null || text === undefined || /^\s*$/.test(text)) return '{}';
    try {
      var parsed = JSON.parse(text);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
      var out = {};
      Object.keys(parsed).sort().forEach(function (k) { out[k] = parsed[k]; });
      return JSON.stringify(out);
    } catch (e) {
      return undefined;
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', mount);
  } else {
    mount();
  }
})();
