'use strict';
// The console page: an overview of every site's networks and a page per network, fed by the
// server's cache through server-sent events. Everything is built with DOM calls (never HTML
// strings), so names from a cluster cannot inject markup.

const main = document.getElementById('main');
let overview = null;
let actions = false;
let detailSeq = 0;
let current = null; // the network page's data, as last drawn
let lastResult = null; // the last action's outcome, shown until the page changes

function h(tag, attrs, ...kids) {
  const svg = ['svg', 'polyline', 'line', 'text', 'g', 'rect'].includes(tag);
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v);
  }
  for (const kid of kids.flat()) {
    if (kid === undefined || kid === null) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

// patch makes el's children look like kids, keeping every element that did not change, so a
// redraw every few seconds neither flickers nor pulls a button away from under the pointer.
function patch(el, kids) {
  kids = kids.flat().filter(k => k !== null && k !== undefined)
    .map(k => k instanceof Node ? k : document.createTextNode(String(k)));
  const old = [...el.childNodes];
  if (old.length !== kids.length) return el.replaceChildren(...kids);
  kids.forEach((k, i) => {
    const o = old[i];
    if (o.isEqualNode(k)) return;
    if (o.nodeType === 1 && o.tagName === k.tagName && sameAttributes(o, k)) patch(o, [...k.childNodes]);
    else o.replaceWith(k);
  });
}

function sameAttributes(a, b) {
  if (a.attributes.length !== b.attributes.length) return false;
  for (const at of a.attributes) if (b.getAttribute(at.name) !== at.value) return false;
  return true;
}

function route() {
  const m = location.hash.match(/^#\/n\/([^/]+)\/(.+)$/);
  return m ? { site: decodeURIComponent(m[1]), id: decodeURIComponent(m[2]) } : null;
}

function ago(t) {
  if (!t) return 'never';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(t)) / 1000));
  return s + 's ago';
}

function stateClass(s) {
  if (s === 'ready' || s === 'running' || s === 'up') return 'state-ok';
  if (s === 'degraded' || s === 'stopped' || s === 'conflict') return 'state-bad';
  return 'state-warn';
}

function num(v, field) { return h('td', { class: 'num', 'data-field': field }, v); }

function render() {
  const r = route();
  if (r) return renderNetwork(r);
  if (!overview) return;
  const t0 = performance.now();
  const kids = [h('h1', {}, 'Networks')];
  for (const site of overview.sites) {
    const rows = site.networks.map(n => h('tr', { 'data-network': n.id, 'data-site': site.name },
      h('td', { 'data-field': 'name' }, h('a', { href: '#/n/' + encodeURIComponent(site.name) + '/' + encodeURIComponent(n.id) }, n.id)),
      h('td', { 'data-field': 'chain' }, n.chain),
      h('td', { 'data-field': 'state', class: stateClass(n.state), title: n.error || '' }, n.state),
      h('td', { 'data-field': 'ready', class: 'num ' + (n.ready === n.desired ? 'state-ok' : 'state-warn') }, n.ready + '/' + n.desired),
      num(n.best, 'best'), num(n.finalized, 'finalized'), num(n.lag, 'lag'), num(n.peers, 'peers'),
      h('td', { class: 'num ' + (n.alerts ? 'state-bad' : ''), 'data-field': 'alerts' }, n.alerts),
      h('td', { 'data-field': 'version' }, n.versions.join(', ') || '-')));
    kids.push(h('section', { class: 'site', 'data-site': site.name, 'data-reachable': String(site.reachable) },
      h('h2', {}, site.name,
        h('span', { class: 'badge ' + (site.reachable ? 'ok' : 'bad'), 'data-field': 'reachability' }, site.reachable ? 'live' : 'unreachable'),
        h('span', { class: 'muted' }, site.networks.length + ' networks, polled ' + ago(site.polled)),
        site.error ? h('span', { class: 'muted', 'data-field': 'error' }, site.error) : null),
      h('table', {},
        h('thead', {}, h('tr', {}, ['network', 'chain', 'state', 'ready', 'best', 'finalized', 'lag', 'min peers', 'alerts', 'version'].map(c => h('th', {}, c)))),
        h('tbody', {}, rows))));
  }
  patch(main, kids);
  document.body.dataset.rendered = String(performance.now() - t0);
}

// plot draws series of [time, value] points as an SVG polyline each, with the value range.
function plot(name, caption, series) {
  const W = 400, H = 150, L = 40, B = 16;
  const all = series.flatMap(s => s.points);
  const ts = all.map(p => p[0]), vs = all.map(p => p[1]);
  const t0 = Math.min(...ts), t1 = Math.max(...ts);
  const v0 = Math.min(0, ...vs), v1 = Math.max(1, ...vs);
  const x = t => L + (t1 > t0 ? (t - t0) / (t1 - t0) : 1) * (W - L - 4);
  const y = v => 4 + (1 - (v - v0) / (v1 - v0)) * (H - B - 8);
  const svg = h('svg', { class: 'plot', viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', 'data-plot': name },
    h('line', { class: 'axis', x1: L, y1: H - B, x2: W, y2: H - B }),
    h('line', { class: 'axis', x1: L, y1: 4, x2: L, y2: H - B }),
    h('text', { x: 2, y: 12 }, String(+v1.toFixed(2))), h('text', { x: 2, y: H - B }, String(+v0.toFixed(2))),
    all.length ? h('text', { x: L, y: H - 2 }, new Date(t0).toLocaleTimeString()) : null,
    all.length ? h('text', { x: W - 60, y: H - 2 }, new Date(t1).toLocaleTimeString()) : null,
    series.map((s, i) => h('polyline', { class: 's' + i, 'data-series': s.label,
      points: s.points.map(p => x(p[0]).toFixed(1) + ',' + y(p[1]).toFixed(1)).join(' ') })));
  return h('figure', {}, h('figcaption', {}, caption),
    h('div', { class: 'legend' }, series.map((s, i) => h('span', {}, h('i', { class: 'l' + i }), s.label))), svg);
}

// histogram draws the block time buckets as SVG bars, one per bucket, labelled by bound.
function histogram(name, caption, buckets) {
  const W = 400, H = 150, L = 40, B = 16;
  const top = Math.max(1, ...buckets.map(b => b.blocks));
  const bw = (W - L - 4) / buckets.length;
  return h('figure', {}, h('figcaption', {}, caption),
    h('svg', { class: 'plot', viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', 'data-plot': name },
      h('line', { class: 'axis', x1: L, y1: H - B, x2: W, y2: H - B }),
      h('text', { x: 2, y: 12 }, String(top)), h('text', { x: 2, y: H - B }, '0'),
      buckets.map((b, i) => {
        const bh = (b.blocks / top) * (H - B - 8);
        return h('g', {},
          h('rect', { class: 'bar', x: (L + i * bw + 1).toFixed(1), y: (H - B - bh).toFixed(1), width: (bw - 2).toFixed(1), height: bh.toFixed(1),
            'data-le': b.le, 'data-blocks': b.blocks }),
          h('text', { x: (L + i * bw + 1).toFixed(1), y: H - 2 }, b.le ? '≤' + b.le : '>'));
      })));
}

function card(k, v, field) { return h('div', { class: 'card' }, h('div', { class: 'v', 'data-field': field }, v), h('div', { class: 'k' }, k)); }

async function renderNetwork(r) {
  const seq = ++detailSeq;
  const res = await fetch('/api/network?site=' + encodeURIComponent(r.site) + '&id=' + encodeURIComponent(r.id));
  if (seq !== detailSeq) return;
  if (!res.ok) {
    main.replaceChildren(h('p', {}, h('a', { href: '#/' }, '← all networks')), h('p', { class: 'state-bad' }, (await res.json()).error));
    return;
  }
  const d = await res.json();
  if (seq !== detailSeq || document.getElementById('confirm')) return; // keep an open confirmation as it is
  const s = d.summary, hist = d.history;
  const pts = f => hist.map(p => [p.t, p[f]]);
  const gw = hist.filter(p => p.calls !== undefined); // samples with the gateway's rates
  const local = !s.namespace;
  const where = local ? '' : ' --context ' + s.site + ' -n ' + s.namespace;
  current = d;
  patch(main, [
    h('p', {}, h('a', { href: '#/' }, '← all networks')),
    h('h1', { 'data-network': s.id }, s.id, ' ', h('span', { class: 'muted' }, 'at ' + s.site + (d.reachable ? '' : ' (unreachable, last known)'))),
    h('div', { class: 'cards' },
      card('state', s.state, 'state'), card('ready / desired', s.ready + '/' + s.desired, 'ready'),
      card('best', s.best, 'best'), card('finalized', s.finalized, 'finalized'), card('finality lag', s.lag, 'lag'),
      card('min peers', s.peers, 'peers'), card('chain', s.chain, 'chain'), card('version', s.versions.join(', ') || '-', 'version')),
    s.error ? h('p', { class: 'state-bad' }, s.error) : null,
    (d.notes || []).map(n => h('p', { class: 'state-warn', 'data-note': '' }, n)),
    s.gateway ? h('p', {}, 'RPC gateway: ', h('code', {}, s.gateway)) : null,
    h('div', { id: 'alerts', 'data-count': d.alerts.length },
      h('h3', {}, 'Firing alerts ', h('span', { class: 'muted' }, d.alerts.length ? '' : 'none (or no Alertmanager: onf monitor up)')),
      d.alerts.length ? h('table', {}, h('thead', {}, h('tr', {}, ['alert', 'node', 'severity', 'since', 'summary'].map(c => h('th', {}, c)))),
        h('tbody', {}, d.alerts.map(a => h('tr', { 'data-alert': a.name },
          h('td', { class: 'state-bad' }, a.name), h('td', {}, a.node || '(network)'), h('td', {}, a.severity),
          h('td', {}, new Date(a.since).toLocaleTimeString()), h('td', {}, a.summary))))) : null),
    d.ha.length ? h('div', { id: 'ha' },
      h('h3', {}, 'HA identities ', h('span', { class: 'muted' }, 'the node signing for each identity and its lease')),
      h('table', {}, h('thead', {}, h('tr', {}, ['identity', 'authority', 'lease holder', 'lease expires'].map(c => h('th', {}, c)))),
        h('tbody', {}, d.ha.map(i => h('tr', { 'data-identity': i.identity },
          h('td', {}, i.identity),
          h('td', { 'data-field': 'authority', class: i.authority ? null : 'state-warn' }, i.authority || 'none'),
          h('td', { 'data-field': 'holder' }, i.holder || '-'),
          i.error ? h('td', { class: 'state-bad' }, i.error) : h('td', {}, i.expires ? new Date(i.expires).toLocaleTimeString() : '-')))))) : null,
    h('p', { id: 'last-backup', 'data-id': d.backups[0]?.id }, 'Last backup: ',
      d.backups.length ? [h('code', {}, d.backups[0].id), ` of ${d.backups[0].node} at block ${d.backups[0].best.number} (finalized ${d.backups[0].finalized.number}), ${ago(d.backups[0].created)}`] : 'none'),
    h('div', { class: 'plots' },
      plot('height', 'Block height (best, finalized)', [{ label: 'best', points: pts('best') }, { label: 'finalized', points: pts('finalized') }]),
      plot('lag', 'Finality lag (blocks)', [{ label: 'lag', points: pts('lag') }]),
      plot('peers', 'Peers (fewest of a ready node)', [{ label: 'peers', points: pts('peers') }]),
      histogram('blocktime', 'Block time (seconds, from the polls)', d.blockTime),
      gw.length ? plot('gateway', 'RPC gateway: calls and refusals per second', [{ label: 'calls', points: gw.map(p => [p.t, p.calls]) },
        { label: 'refused', points: gw.map(p => [p.t, p.refused]) }]) : null),
    h('div', { id: 'result', 'data-state': lastResult?.state }, lastResult ? h(lastResult.msg.includes('\n') ? 'pre' : 'p', {}, lastResult.msg) : null),
    d.groups.map(g => h('div', { class: 'group', 'data-group': g.name },
      h('h3', {}, g.name, h('span', { class: 'muted' }, g.role + ', ' + g.nodes.length + ' nodes'), h('span', { class: 'spacer' }),
        actions ? h('button', { 'data-scale-button': g.name, onclick: () => askScale(g.name) }, 'Scale…') : null),
      h('table', {},
        h('thead', {}, h('tr', {}, ['node', 'state', 'restarts', 'version', 'peers', 'best', 'finalized', 'syncing', 'session keys', 'last backup', 'logs and RPC', ''].map(c => h('th', {}, c)))),
        h('tbody', {}, g.nodes.map(n => {
          const st = n.conflict ? 'conflict' : n.running && n.rpcError ? 'starting' : n.running ? 'up' : 'stopped';
          return h('tr', { 'data-node': n.name },
            h('td', {}, n.name), h('td', { class: stateClass(st), title: n.rpcError || n.lastExit || '' }, st),
            num(n.restarts, 'restarts'), h('td', {}, n.version || '-'), num(n.peers, 'peers'), num(n.best, 'best'),
            num(n.finalized, 'finalized'), h('td', {}, n.syncing ? 'yes' : 'no'),
            h('td', { 'data-field': 'keys', title: n.sessionKeys?.keys || '' }, n.sessionKeys ? `session ${n.sessionKeys.session}: ${short(n.sessionKeys.keys)}` : '-'),
            h('td', { 'data-field': 'backup', title: n.lastBackup?.id || '' }, n.lastBackup ? `#${n.lastBackup.best.number}, ${ago(n.lastBackup.created)}` : '-'),
            h('td', { class: 'cmds' }, h('code', {}, 'onf logs ' + s.name + ' ' + n.name + where),
              h('code', {}, 'onf rpc ' + s.name + ' ' + n.name + ' system_health' + where)),
            h('td', { class: 'actions' },
              actions ? h('button', { 'data-restart-button': n.name, onclick: () => askRestart(n.name) }, 'Restart…') : null,
              actions && backupRoles.includes(g.role) ? h('button', { 'data-backup-button': n.name, onclick: () => askBackup(n.name) }, 'Back up…') : null,
              actions && signingRoles.includes(g.role) ? h('button', { 'data-rotate-button': n.name, onclick: () => askRotate(n.name) }, 'Rotate keys…') : null));
        })))))]);
}

// Roles whose nodes onf backup create copies (the others never pause).
const backupRoles = ['full', 'archive', 'rpc'];
// Roles with session keys.
const signingRoles = ['validator', 'collator'];

function short(hex) { return hex && hex.length > 18 ? hex.slice(0, 10) + '…' + hex.slice(-6) : hex; }

// confirmAction opens an action's confirmation: its own inputs, the API key and the network's
// name typed out. The page stops redrawing until it closes.
const verbs = { scale: 'Scale', backup: 'Back up', restart: 'Restart', 'rotate-keys': 'Rotate keys' };

function confirmAction(title, inputs, verb, body, waiting) {
  const s = current.summary;
  const key = h('input', { type: 'password', id: 'apikey', autocomplete: 'off' });
  const confirm = h('input', { type: 'text', id: 'confirm-name', autocomplete: 'off' });
  const box = h('div', { class: 'confirm', id: 'confirm' },
    h('strong', {}, title), inputs,
    h('label', {}, 'API key (role operator) ', key),
    h('label', {}, 'Type the network name ', h('code', {}, s.id), ' to confirm ', confirm),
    h('button', { id: 'confirm-button', onclick: () => act(verb, { site: s.site, network: s.id, ...body(), confirm: confirm.value }, key.value, waiting(), box) }, verbs[verb]), ' ',
    h('button', { onclick: () => { box.remove(); render(); } }, 'Cancel'));
  lastResult = null;
  const result = document.getElementById('result');
  result.removeAttribute('data-state');
  result.replaceChildren(box);
}

function askScale(group) {
  const s = current.summary, g = current.groups.find(g => g.name === group);
  const replicas = h('input', { type: 'number', min: 0, value: g.nodes.length, id: 'replicas' });
  confirmAction(`Scale group ${g.name} of ${s.id} at ${s.site} (now ${g.nodes.length} nodes)`, h('label', {}, 'Nodes ', replicas),
    'scale', () => ({ group: g.name, replicas: Number(replicas.value) }),
    () => `scaling ${g.name} to ${replicas.value}: waiting for the network to converge…`);
}

function askBackup(node) {
  const s = current.summary;
  confirmAction(`Back up ${node} of ${s.id} at ${s.site}: the node stops for the copy and starts again`, null,
    'backup', () => ({ node }), () => `backing up ${node}…`);
}

function askRestart(node) {
  const s = current.summary;
  confirmAction(`Restart ${node} of ${s.id} at ${s.site}: it stops and starts again with its data and keys`, null,
    'restart', () => ({ node }), () => `restarting ${node}…`);
}

function askRotate(node) {
  const s = current.summary;
  const suri = h('input', { type: 'password', id: 'suri', autocomplete: 'off' });
  confirmAction(`Rotate the session keys of ${node} of ${s.id} at ${s.site}: new keys on the node, registered with session.setKeys`,
    h('label', {}, "Controller's secret URI (signs session.setKeys; used for this call only) ", suri),
    'rotate-keys', () => ({ node, suri: suri.value }), () => `rotating the keys of ${node}: waiting for session.nextKeys…`);
}

// act posts an action with the key in a header (never a cookie) and shows its outcome.
async function act(verb, body, key, waiting, box) {
  box.replaceChildren(h('span', {}, waiting));
  const headers = { 'Content-Type': 'application/json' };
  if (key) headers['X-Api-Key'] = key;
  let msg, ok = false;
  try {
    const res = await fetch('/api/' + verb, { method: 'POST', headers, credentials: 'omit', body: JSON.stringify(body) });
    const out = await res.json();
    ok = res.ok;
    msg = ok ? out.result : `refused (${res.status}): ${out.error}`;
  } catch (e) {
    msg = 'failed: ' + e;
  }
  box.remove();
  lastResult = { state: ok ? 'ok' : 'error', msg };
  await renderNetwork(route());
}

async function start() {
  try {
    actions = (await (await fetch('/api/info')).json()).actions;
  } catch (e) { /* read-only */ }
  document.getElementById('mode').textContent = actions ? 'actions need an API key' : 'read-only';
  const live = document.getElementById('live');
  const es = new EventSource('/api/events');
  es.addEventListener('overview', e => {
    overview = JSON.parse(e.data);
    live.dataset.live = 'true';
    live.textContent = 'live';
    if (!document.getElementById('confirm')) render(); // an open confirmation (or a running action) stays
  });
  es.onerror = () => { live.dataset.live = 'false'; live.textContent = 'reconnecting'; };
  window.addEventListener('hashchange', () => { lastResult = null; render(); });
}

start();
