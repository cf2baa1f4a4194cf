// Client-side navigation for the portal. Every page is server HTML with a few islands (the parts that
// need the browser: progress polling, live expression checks, Test Connection, ...). After the first
// load, same-origin links and plain forms fetch the next page and swap its <body> in, then hydrate
// its islands with the wasm module that is already loaded: no reload, no second download.
// Without JavaScript, or where this stands aside (downloads, file uploads, other origins), links and
// forms work as they always do.
(() => {
  let current = 0;

  function hydrateIslands(root) {
    if (!window.__hydrateIsland) return;
    for (const el of root.querySelectorAll('leptos-island')) {
      if (!el.$$hydrated) {
        el.$$hydrated = true;
        window.__hydrateIsland(el, el.dataset.component);
      }
    }
  }

  // A form that failed comes back with the error in the URL (`__err`) and the saved values: put back
  // what was typed, so only the mistake needs fixing (secrets and files are not put back).
  function restoreTyped(typed) {
    const form = [...document.forms].find((f) => f.getAttribute('action') === typed.action);
    if (!form) return;
    const values = new Map();
    for (const [k, v] of typed.entries) values.set(k, [...(values.get(k) || []), v]);
    for (const el of form.elements) {
      if (!el.name || ['hidden', 'password', 'file', 'submit', 'button', 'reset'].includes(el.type)) continue;
      const vs = values.get(el.name) || [];
      if (el.type === 'checkbox' || el.type === 'radio') el.checked = vs.includes(el.value);
      else if (el.tagName === 'SELECT' && el.multiple) for (const o of el.options) o.selected = vs.includes(o.value);
      else if (vs.length) el.value = vs[0];
    }
  }

  async function navigate(href, { push = true, hash = '', body = null, typed = null } = {}) {
    const n = ++current;
    document.documentElement.dataset.hydrated = 'false';
    let resp;
    try {
      resp = await fetch(href, body ? { method: 'POST', body, headers: { Accept: 'text/html' } } : { headers: { Accept: 'text/html' } });
    } catch (e) {
      window.location.assign(href);
      return;
    }
    if (!(resp.headers.get('content-type') || '').includes('text/html')) {
      window.location.assign(resp.url);
      return;
    }
    const html = await resp.text();
    if (n !== current) return;
    const doc = new DOMParser().parseFromString(html, 'text/html');
    // DOMParser parses as if scripting were off, so <noscript> content comes out as elements (a meta
    // refresh would start reloading the page). Make it the text a page with scripting has, which is
    // also what hydration expects.
    for (const el of doc.querySelectorAll('noscript')) el.textContent = el.innerHTML;
    document.title = doc.title;
    document.body.replaceWith(document.adoptNode(doc.body));
    const url = resp.url + hash;
    if (push) window.history.pushState({ provisio: true }, '', url);
    else window.history.replaceState({ provisio: true }, '', url);
    if (typed && new URL(resp.url).searchParams.has('__err')) restoreTyped(typed);
    if (hash) document.getElementById(decodeURIComponent(hash.slice(1)))?.scrollIntoView();
    else if (push) window.scrollTo(0, 0);
    hydrateIslands(document.body);
    document.documentElement.dataset.hydrated = 'true';
  }

  function ours(url) {
    return url.origin === window.location.origin && !url.pathname.startsWith('/api/');
  }

  window.addEventListener('click', (ev) => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.altKey || ev.ctrlKey || ev.shiftKey) return;
    const a = ev.target instanceof Element ? ev.target.closest('a[href]') : null;
    if (!a || a.target || a.hasAttribute('download') || (a.getAttribute('rel') || '').includes('external')) return;
    const url = new URL(a.href, document.baseURI);
    if (!ours(url)) return;
    // A link to a place on this page scrolls, as the browser does.
    if (url.hash && url.pathname === window.location.pathname && url.search === window.location.search) return;
    ev.preventDefault();
    navigate(url.origin + url.pathname + url.search, { hash: url.hash });
  });

  window.addEventListener('submit', (ev) => {
    if (ev.defaultPrevented) return;
    const form = ev.target;
    // (Attributes, not properties: a control named "action" or "method" shadows form.action.)
    if (!(form instanceof HTMLFormElement) || form.getAttribute('target')) return;
    const attr = (name) => ev.submitter?.getAttribute('form' + name) || form.getAttribute(name) || '';
    const method = (attr('method') || 'get').toUpperCase();
    const action = new URL(attr('action'), document.baseURI);
    if (action.origin !== window.location.origin) return;
    if (method === 'POST' && attr('enctype').includes('multipart')) return;
    const data = new FormData(form, ev.submitter);
    const params = new URLSearchParams();
    for (const [k, v] of data.entries()) {
      if (typeof v !== 'string') return; // a file: let the browser send it
      params.append(k, v);
    }
    ev.preventDefault();
    if (method === 'GET') {
      action.search = params.toString();
      navigate(action.href);
    } else {
      navigate(action.href, { body: params, typed: { action: form.getAttribute('action'), entries: [...params] } });
    }
  });

  // For the wasm side: a server function's redirect is followed like a link.
  window.provisioNavigate = (href) => navigate(new URL(href, document.baseURI).href);

  window.addEventListener('popstate', () => {
    navigate(window.location.href.split('#')[0], { push: false, hash: window.location.hash });
  });
})();
