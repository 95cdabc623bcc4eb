// The operator board: Preact + htm as browser ES modules, no build step. Every value is rendered as text by
// Preact (text nodes and attributes, never innerHTML), so kv values and event data cannot inject markup.
import { h, render } from './preact.mjs';
import { useCallback, useEffect, useRef, useState } from './hooks.mjs';
import htm from './htm.mjs';

const html = htm.bind(h);
const BASE = new URL('..', import.meta.url).pathname.replace(/\/$/, ''); // …/board/assets/board.mjs → …/board
const api = (path) => `${BASE}/api/${path}`;
const TOKEN_KEY = 'redis-atomic-board-token';

async function getJson(path) {
  const res = await fetch(api(path), { headers: { accept: 'application/json' } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(body.message || `HTTP ${res.status}`), { code: body.code, status: res.status });
  return body;
}

async function action(path, token) {
  const res = await fetch(api(path), { method: 'POST', headers: { 'x-board-token': token || '' } });
  const body = res.status === 204 ? {} : await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(body.message || `HTTP ${res.status}`), { code: body.code, status: res.status });
  return body;
}

/** Polls `path` every `ms` (0 = once); returns [data, error, reload]. */
function usePoll(path, ms) {
  const [state, setState] = useState({ data: null, error: null });
  const load = useCallback(() => {
    if (!path) return;
    getJson(path).then((data) => setState({ data, error: null }), (error) => setState((s) => ({ data: s.data, error })));
  }, [path]);
  useEffect(() => {
    load();
    if (!ms) return undefined;
    const timer = setInterval(load, ms);
    return () => clearInterval(timer);
  }, [load, ms]);
  return [state.data, state.error, load];
}

function useHashRoute() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash.replace(/^#/, '') || '/';
}

const n = (v) => (typeof v === 'number' ? v.toLocaleString('en-US') : v == null ? '—' : String(v));
const ago = (s) => (s == null ? '—' : s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`);
const Err = ({ error }) => error && html`<p class="bad" data-testid="error">${error.code ? `${error.code}: ` : ''}${error.message}</p>`;
const accountLink = (ledger, id) => `#/ledgers/${encodeURIComponent(ledger)}/accounts/${encodeURIComponent(id)}`;

function Ledgers({ ledgers }) {
  return html`<section data-testid="ledgers"><h2>Ledgers</h2>
    <table><thead><tr><th>ledger</th><th class="num">accounts</th><th class="num">total posted</th><th class="num">total pending</th>
      <th class="num">open holds</th><th class="num">events / min</th></tr></thead>
    <tbody>${ledgers.map((l) => html`<tr key=${l.name}>
      <td><a href=${`#/ledgers/${encodeURIComponent(l.name)}`}>${l.name}</a>${l.complete === false ? html` <span class="warn" title="the stream was trimmed before the board read it">partial</span>` : ''}
        ${l.error ? html`<div class="bad">${l.error}</div>` : ''}</td>
      <td class="num">${n(l.accounts)}</td><td class="num">${n(l.totalPosted)}</td><td class="num">${n(l.totalPending)}</td>
      <td class="num">${n(l.openPending)}</td><td class="num">${n(l.eventsLastMinute)}</td></tr>`)}</tbody></table>
    <p class="muted">From each ledger's event stream (folded as it grows); the audit compares it with the stored balances.</p></section>`;
}

function Health() {
  const [health, error] = usePoll('health', 5000);
  const libraries = health ? [...new Set(health.nodes.flatMap((node) => node.libraries.map((l) => l.library)))] : [];
  return html`<section data-testid="health"><h2>Health</h2><${Err} error=${error} />
    ${health && html`<p>Strategy <span class="pill">${health.strategy ?? '—'}</span> · store <span class="pill">${health.store}</span></p>
      ${health.nodes.length > 0 && html`<table><thead><tr><th>Redis master</th><th>PING</th>${libraries.map((l) => html`<th key=${l}>${l}</th>`)}</tr></thead><tbody>
        ${health.nodes.map((node) => html`<tr key=${node.node} data-testid="health-node"><td class="mono">${node.node}</td>
          <td class=${node.ok ? 'ok' : 'bad'}>${node.ok ? 'ok' : node.error ?? 'unreachable'}</td>
          ${libraries.map((name) => {
            const lib = node.libraries.find((l) => l.library === name);
            return html`<td key=${name} class=${lib && lib.version === lib.expected ? 'ok mono' : 'bad mono'}
              title=${lib ? `loaded ${lib.version ?? 'nothing'}, expected ${lib.expected}` : ''}>${lib ? (lib.version ?? 'missing').slice(0, 8) : '—'}</td>`;
          })}</tr>`)}</tbody></table>
        <p class="muted">Library versions as loaded on each master (green: this build's).</p>`}
      ${health.error && html`<p class="bad">${health.error}</p>`}`}</section>`;
}

/** Rates and mean latency per operation × outcome, from two reads of the same counters as /metrics. */
function Operations() {
  const previous = useRef(null);
  const [rows, setRows] = useState(null);
  const [data, error] = usePoll('metrics', 2000);
  useEffect(() => {
    if (!data) return;
    const prev = previous.current;
    previous.current = data;
    const seconds = prev ? Math.max(0.001, (data.at - prev.at) / 1000) : null;
    const key = (r) => `${r.module}|${r.instance}|${r.operation}|${r.strategy}`;
    const before = new Map((prev?.operations ?? []).map((r) => [`${key(r)}|${r.outcome}`, r.count]));
    const lat = (list) => {
      const m = new Map();
      for (const r of list ?? []) {
        const e = m.get(key(r)) ?? { sum: 0, count: 0 };
        if (r.sum !== undefined) e.sum = r.sum;
        if (r.count !== undefined) e.count = r.count;
        m.set(key(r), e);
      }
      return m;
    };
    const latNow = lat(data.latency);
    const latPrev = lat(prev?.latency);
    setRows(data.operations.map((r) => {
      const k = key(r);
      const now = latNow.get(k) ?? { sum: 0, count: 0 };
      const was = latPrev.get(k) ?? { sum: 0, count: 0 };
      const dc = now.count - was.count;
      return { ...r, rate: seconds ? (r.count - (before.get(`${k}|${r.outcome}`) ?? 0)) / seconds : null,
        latencyMs: dc > 0 ? ((now.sum - was.sum) / dc) * 1000 : now.count ? (now.sum / now.count) * 1000 : null };
    }).sort((a, b) => (b.count - a.count)));
  }, [data]);
  return html`<section data-testid="operations"><h2>Operations</h2><${Err} error=${error} />
    ${data && !data.enabled && html`<p class="muted">Metrics are off (METRICS=false).</p>`}
    ${rows && html`<table><thead><tr><th>module</th><th>operation</th><th>outcome</th><th class="num">total</th><th class="num">/ s</th><th class="num">mean ms</th></tr></thead>
      <tbody>${rows.slice(0, 30).map((r) => html`<tr key=${`${r.module}${r.instance}${r.operation}${r.outcome}`}>
        <td>${r.module}${r.instance && r.instance !== 'default' ? `/${r.instance}` : ''}</td><td>${r.operation}</td>
        <td class=${r.outcome === 'ok' ? 'ok' : 'warn'}>${r.outcome}</td><td class="num">${n(r.count)}</td>
        <td class="num">${r.rate == null ? '…' : r.rate.toFixed(1)}</td><td class="num">${r.latencyMs == null ? '—' : r.latencyMs.toFixed(2)}</td></tr>`)}</tbody></table>`}
  </section>`;
}

function Pending({ ledger, token }) {
  const [data, error, reload] = usePoll(`ledgers/${encodeURIComponent(ledger)}/pending`, 3000);
  const [message, setMessage] = useState(null);
  const voidIt = (id) => action(`ledgers/${encodeURIComponent(ledger)}/transfers/${encodeURIComponent(id)}/void`, token)
    .then(() => setMessage({ ok: true, text: `voided ${id}` }), (err) => setMessage({ ok: false, text: `${err.code}: ${err.message}` }))
    .finally(reload);
  return html`<section data-testid="pending"><h2>Pending transfers · ${ledger}</h2><${Err} error=${error} />
    ${message && html`<p class=${message.ok ? 'ok' : 'bad'} data-testid="action-result">${message.text}</p>`}
    ${data && (data.transfers.length === 0 ? html`<p class="muted">None open.</p>` : html`<table>
      <thead><tr><th>id</th><th>from → to</th><th class="num">amount</th><th>deadline</th><th></th></tr></thead>
      <tbody>${data.transfers.map((t) => html`<tr key=${t.id}><td class="mono">${t.id}</td>
        <td><a href=${accountLink(ledger, t.from)}>${t.from}</a> → <a href=${accountLink(ledger, t.to)}>${t.to}</a></td>
        <td class="num">${n(t.amount)}</td><td class=${t.status === 'expired' ? 'warn' : ''}>${t.expiresAt}${t.status === 'expired' ? ' (expired, not yet released)' : ''}</td>
        <td>${token ? html`<button onClick=${() => voidIt(t.id)}>void</button>` : ''}</td></tr>`)}</tbody></table>`)}</section>`;
}

function Shop({ shop, token }) {
  const [data, error, reload] = usePoll(`shop?shop=${encodeURIComponent(shop)}`, 3000);
  const [message, setMessage] = useState(null);
  const orders = data?.orders;
  const requeue = (id) => action(`shops/${encodeURIComponent(shop)}/orders/${encodeURIComponent(id)}/requeue`, token)
    .then(() => setMessage({ ok: true, text: `requeued ${id}` }), (err) => setMessage({ ok: false, text: `${err.code}: ${err.message}` }))
    .finally(reload);
  const row = (o) => html`<tr key=${o.id} class=${o.stuck ? 'stuck' : ''} data-stuck=${o.stuck ? 'yes' : 'no'}><td class="mono">${o.id}</td><td>${o.status}</td>
    <td>${o.userId ?? '—'}</td><td class="num">${n(o.total)}</td><td class="num">${ago(o.ageSeconds)}</td>
    <td class="num">${o.processingSeconds == null ? '' : ago(o.processingSeconds)}${o.stuck ? html` <span class="warn">stuck?</span>` : ''}</td>
    <td>${token && o.status === 'processing' ? html`<button onClick=${() => requeue(o.id)}>requeue</button>` : ''}</td></tr>`;
  return html`<section data-testid="shop"><h2>Orders and stock · ${shop}</h2><${Err} error=${error} />
    ${message && html`<p class=${message.ok ? 'ok' : 'bad'} data-testid="shop-action-result">${message.text}</p>`}
    ${orders && html`<p>${n(orders.counts.pending)} pending · ${n(orders.counts.processing)} processing${' '}
      <span class="muted">(claims older than ${data.stuckAfterSeconds} s are highlighted: a crashed worker's claim stays in processing)</span></p>
      <table><thead><tr><th>order</th><th>state</th><th>user</th><th class="num">total</th><th class="num">age</th><th class="num">claimed for</th><th></th></tr></thead>
        <tbody>${orders.processing.map(row)}${orders.pending.map(row)}</tbody></table>`}
    ${data?.lowStock && html`<h2 class="sub">Stock below ${data.lowStockBelow}</h2>
      ${data.lowStock.length === 0 ? html`<p class="muted">Nothing runs low.</p>` : html`<table><thead><tr><th>product</th><th class="num">available</th></tr></thead>
        <tbody>${data.lowStock.map((p) => html`<tr key=${p.productId}><td>${p.productId}</td><td class=${p.stock === 0 ? 'num bad' : 'num'}>${n(p.stock)}</td></tr>`)}</tbody></table>`}`}
    ${data?.reservations && html`<h2 class="sub">Stock reservations</h2>
      ${data.reservations.length === 0 ? html`<p class="muted">None held.</p>` : html`<table data-testid="reservations"><thead><tr><th>reservation</th><th>product</th>
        <th class="num">units</th><th>expires</th></tr></thead><tbody>${data.reservations.map((r) => html`<tr key=${r.id}><td class="mono">${r.id}</td>
          <td>${r.productId}</td><td class="num">${n(r.quantity)}</td>
          <td class=${r.status === 'expired' ? 'warn' : ''}>${r.expiresAt}${r.status === 'expired' ? ' (expired, not yet swept)' : ''}</td></tr>`)}</tbody></table>`}`}
    ${data && !orders && !data.lowStock && html`<p class="muted">Neither Orders nor Inventory is mounted.</p>`}</section>`;
}

function Kv({ namespaces }) {
  const [key, setKey] = useState('');
  const [namespace, setNamespace] = useState(namespaces[0] ?? '');
  const [result, setResult] = useState(null);
  const look = (e) => {
    e.preventDefault();
    if (key) getJson(`kv/${encodeURIComponent(key)}?namespace=${encodeURIComponent(namespace)}`).then((entry) => setResult({ entry }), (error) => setResult({ error }));
  };
  return html`<section data-testid="kv"><h2>Key-value lookup</h2>
    <form class="inline" onSubmit=${look}>${namespaces.length > 1 && html`<select value=${namespace} onChange=${(e) => setNamespace(e.currentTarget.value)}>
      ${namespaces.map((ns) => html`<option key=${ns} value=${ns}>${ns}</option>`)}</select>`}<input placeholder="key" value=${key} onInput=${(e) => setKey(e.currentTarget.value)} data-testid="kv-key" />
      <button type="submit">look up</button></form>
    ${result?.error && html`<${Err} error=${result.error} />`}
    ${result?.entry && html`<table data-testid="kv-result"><tbody><tr><th>type</th><td>${result.entry.type}</td></tr>
      <tr><th>value</th><td>${typeof result.entry.value === 'string' ? html`<pre data-testid="kv-value">${result.entry.value}</pre>`
        : html`<table><tbody>${Object.entries(result.entry.value).map(([f, v]) => html`<tr key=${f}><td class="mono">${f}</td><td><pre>${v}</pre></td></tr>`)}</tbody></table>`}</td></tr>
      ${result.entry.ttlSeconds !== undefined && html`<tr><th>ttl</th><td>${result.entry.ttlSeconds} s</td></tr>`}</tbody></table>`}</section>`;
}

function Audit({ ledgers }) {
  const [reports, setReports] = useState({});
  const run = (name) => {
    setReports((r) => ({ ...r, [name]: { running: true } }));
    getJson(`ledgers/${encodeURIComponent(name)}/audit`).then((report) => setReports((r) => ({ ...r, [name]: { report } })),
      (error) => setReports((r) => ({ ...r, [name]: { error } })));
  };
  return html`<section data-testid="audit"><h2>Audit</h2>
    <p class="muted">Recomputes every balance from the ledger's event stream and compares it with the stored balances (and Σ balances with Σ opens + deposits − withdrawals).</p>
    ${ledgers.map((l) => {
      const state = reports[l.name] ?? {};
      const r = state.report;
      return html`<div key=${l.name}><button onClick=${() => run(l.name)} disabled=${state.running} data-testid="audit-run">audit ${l.name}</button>
        ${state.running && html` <span class="muted">running…</span>`}<${Err} error=${state.error} />
        ${r && html`<div class=${`report ${r.verdict}`} data-testid="audit-report">
          <p><strong class=${r.verdict === 'consistent' ? 'ok' : r.verdict === 'mismatch' ? 'bad' : 'warn'} data-testid="audit-verdict">${r.verdict}</strong>${' '}
            — ${n(r.accounts)} accounts, ${n(r.events)} events, ${n(r.mismatches)} mismatching, ${r.durationMs} ms</p>
          ${r.reason && html`<p>${r.reason}</p>`}
          ${r.firstMismatch && html`<p data-testid="audit-first-mismatch">First mismatch: account <a href=${accountLink(l.name, r.firstMismatch.account)}>${r.firstMismatch.account}</a>, ${r.firstMismatch.field}: stored ${n(r.firstMismatch.stored)}, the stream says ${n(r.firstMismatch.expected)}${r.firstMismatch.eventId && html` (last event <code>${r.firstMismatch.eventId}</code>)`}</p>`}
          <p class="muted">Σ stored ${n(r.totals.stored)} · Σ opens + deposits − withdrawals ${n(r.totals.expected)}${r.totals.checked ? '' : ' (not compared: the ledger kept moving)'}</p>
        </div>`}</div>`;
    })}</section>`;
}

function Tail({ sources }) {
  const [events, setEvents] = useState([]);
  const [live, setLive] = useState(false);
  useEffect(() => {
    const source = new EventSource(`${api('tail')}?shards=${encodeURIComponent(sources.map((s) => s.shard).join(','))}`);
    source.addEventListener('ready', () => setLive(true));
    source.onmessage = (e) => {
      const event = JSON.parse(e.data);
      setEvents((list) => [event, ...list].slice(0, 100));
    };
    source.onerror = () => setLive(false);
    return () => source.close();
  }, [sources.map((s) => s.shard).join(',')]);
  return html`<section class="wide" data-testid="tail"><h2>Event tail <span class=${live ? 'ok' : 'warn'} data-testid="tail-state">${live ? 'live' : 'connecting'}</span></h2>
    <div class="tail"><ul>${events.map((e) => html`<li key=${`${e.stream}${e.id}`} data-testid="tail-event">
      <span class="pill">${e.label ?? e.shard}</span> <code>${e.id}</code> <strong>${e.type}</strong> <code>${JSON.stringify(e.data)}</code></li>`)}</ul>
      ${events.length === 0 && html`<p class="muted">Waiting for events…</p>`}</div></section>`;
}

function Overview({ overview, token }) {
  return html`<main>
    <${Ledgers} ledgers=${overview.ledgers} />
    <${Health} />
    ${overview.ledgers.map((l) => html`<${Pending} key=${l.name} ledger=${l.name} token=${token} />`)}
    ${overview.shops.slice(0, 5).map((shop) => html`<${Shop} key=${shop} shop=${shop} token=${token} />`)}
    <${Audit} ledgers=${overview.ledgers} />
    ${overview.namespaces.length > 0 && html`<${Kv} namespaces=${overview.namespaces} />`}
    <${Operations} />
    <${Tail} sources=${overview.tail} />
  </main>`;
}

function LedgerAccounts({ ledger }) {
  const [data, error] = usePoll(`ledgers/${encodeURIComponent(ledger)}/accounts`, 5000);
  return html`<main class="single"><section data-testid="accounts"><h2>Accounts · ${ledger}</h2><${Err} error=${error} />
    ${data && html`<table><thead><tr><th>account</th><th class="num">balance</th><th class="num">pending debits</th><th class="num">pending credits</th></tr></thead>
      <tbody>${data.accounts.map((a) => html`<tr key=${a.id}><td><a href=${accountLink(ledger, a.id)}>${a.id}</a></td><td class="num">${n(a.balance)}</td>
        <td class="num">${n(a.pendingDebits)}</td><td class="num">${n(a.pendingCredits)}</td></tr>`)}</tbody></table>
      <p class="muted">As the event stream tells it; each account's page shows its stored state.</p>`}</section></main>`;
}

function AccountPage({ ledger, id }) {
  const [cursors, setCursors] = useState(['']);
  const cursor = cursors[cursors.length - 1];
  const [data, error] = usePoll(`ledgers/${encodeURIComponent(ledger)}/accounts/${encodeURIComponent(id)}${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`, 3000);
  const a = data?.account;
  return html`<main class="single">
    <section data-testid="account"><h2>Account · ${ledger} / ${id}</h2><${Err} error=${error} />
      ${a && html`<table><tbody>
        <tr><th>balance (posted)</th><td class="num" data-testid="account-balance">${n(a.balance)}</td></tr>
        <tr><th>floor</th><td class="num">${n(a.minBalance)}</td></tr>
        <tr><th>pending debits</th><td class="num">${n(a.pendingDebits)}</td></tr>
        <tr><th>pending credits</th><td class="num">${n(a.pendingCredits)}</td></tr>
        <tr><th>available</th><td class="num">${n(a.available)}</td></tr></tbody></table>`}</section>
    <section data-testid="history"><h2>History ${cursors.length > 1 ? `(page ${cursors.length})` : ''}</h2>
      ${data && html`<table><thead><tr><th>at</th><th>kind</th><th class="num">amount</th><th>counterparty</th><th class="num">balance after</th><th>transfer</th></tr></thead>
        <tbody>${data.history.entries.map((e) => html`<tr key=${`${e.transferId}${e.type}`} data-testid="history-entry"><td>${e.at}</td><td>${e.type}</td>
          <td class="num">${n(e.amount)}</td><td>${e.counterparty ? html`<a href=${accountLink(ledger, e.counterparty)}>${e.counterparty}</a>` : '—'}</td>
          <td class="num">${n(e.balance)}</td><td class="mono">${e.transferId}</td></tr>`)}</tbody></table>
        <p>${cursors.length > 1 && html`<button onClick=${() => setCursors(cursors.slice(0, -1))}>newer</button> `}
          ${data.history.next && html`<button onClick=${() => setCursors([...cursors, data.history.next])} data-testid="history-older">older</button>`}</p>`}</section>
    <section data-testid="account-events"><h2>Recent events</h2>
      ${data && (data.events.length === 0 ? html`<p class="muted">None in the stream.</p>` : html`<ul class="tail">
        ${data.events.map((e) => html`<li key=${e.id}><code>${e.id}</code> <strong>${e.type}</strong> <code>${JSON.stringify(e.data)}</code></li>`)}</ul>`)}</section>
  </main>`;
}

function TokenBox({ token, setToken }) {
  const [value, setValue] = useState('');
  const [problem, setProblem] = useState(null);
  if (token) return html`<span class="ok">actions unlocked</span> <button onClick=${() => setToken('')}>lock</button>`;
  const unlock = (e) => {
    e.preventDefault();
    action('session', value).then(() => { setProblem(null); setToken(value); }, (err) => setProblem(err.code));
  };
  return html`<form onSubmit=${unlock}><input type="password" placeholder="board token (actions)" value=${value} data-testid="token"
    onInput=${(e) => setValue(e.currentTarget.value)} /> <button type="submit">unlock</button> ${problem && html`<span class="bad">${problem}</span>`}</form>`;
}

function App() {
  const route = useHashRoute();
  const [overview, error] = usePoll('overview', 3000);
  const [token, setTokenState] = useState(sessionStorage.getItem(TOKEN_KEY) || '');
  const setToken = (t) => {
    if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
    setTokenState(t);
  };
  const account = /^\/ledgers\/([^/]+)\/accounts\/([^/]+)$/.exec(route);
  const ledger = /^\/ledgers\/([^/]+)$/.exec(route);
  return html`<header><h1><a href="#/">redis-atomic board</a></h1><span class="spacer"></span>
      ${overview?.actions ? html`<${TokenBox} token=${token} setToken=${setToken} />` : html`<span class="muted">read-only</span>`}</header>
    <${Err} error=${error} />
    ${account ? html`<${AccountPage} ledger=${decodeURIComponent(account[1])} id=${decodeURIComponent(account[2])} key=${route} />`
      : ledger ? html`<${LedgerAccounts} ledger=${decodeURIComponent(ledger[1])} />`
      : overview ? html`<${Overview} overview=${overview} token=${overview.actions ? token : ''} />` : html`<main><p>Loading…</p></main>`}`;
}

render(html`<${App} />`, document.getElementById('app'));
