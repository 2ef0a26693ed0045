// The operator console: a deepstream client like any other. Its figures come from the `$console/`
// event and RPCs every node's console plugin provides; edits, emits and calls are ordinary client
// calls, so the server applies permissions, versions and fan-out as for any client.
const { DeepstreamClient } = window.DeepstreamClient;

const PREFIX = '$console/';
const STATS_EVENT = `${PREFIX}stats`;
const HELLO_RPC = `${PREFIX}hello`;
const sessionsRpc = (server) => `${PREFIX}sessions/${server}`;
const disconnectRpc = (server) => `${PREFIX}disconnect/${server}`;

const $ = (selector) => document.querySelector(selector);
const websocketUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${document.body.dataset.websocketPath || '/deepstream'}`;

/** Builds an element; children are nodes or text (never parsed as HTML: names come from clients). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  node.append(...children.map((child) => (child instanceof Node ? child : String(child))));
  return node;
}

const state = {
  client: undefined,
  /** server name → { figures, at } */
  nodes: new Map(),
  /** server name → session rows */
  sessions: new Map(),
  online: new Set(),
  record: undefined,
  /** The operator has typed into the record since it was loaded or saved. */
  recordDirty: false,
  timers: [],
  lastSessionsHtml: '',
};

function show(text, isError = false) {
  const node = $('#action-result');
  node.textContent = text;
  node.className = isError ? 'error' : 'ok';
}

const reason = (error) => (typeof error === 'string' ? error : (error && (error.reason || error.message)) || JSON.stringify(error));

$('#login').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('#login-error').textContent = '';
  const token = $('#token').value;
  const authData = token !== '' ? { operatorToken: token } : { username: $('#username').value, password: $('#password').value };
  const client = new DeepstreamClient(websocketUrl, { maxReconnectAttempts: 5 });
  client.on('connectionStateChanged', (connectionState) => {
    $('#status').textContent = connectionState;
    $('#status').dataset.state = connectionState;
  });
  client.on('error', (error, event, topic) => console.warn('deepstream', topic, event, error));
  try {
    await client.login(authData);
  } catch (error) {
    client.close();
    return refuse(`login refused: ${reason(error)}`);
  }
  // A valid login is not yet an operator's: the reserved names tell.
  client.rpc.make(HELLO_RPC, null, (error, hello) => {
    if (error) {
      client.close();
      return refuse(error === 'MESSAGE_DENIED' ? 'refused: this user is not an operator' : `refused: ${reason(error)}`);
    }
    start(client, authData.username || 'operator token', hello);
  });
});

function refuse(text) {
  $('#login-error').textContent = text;
}

function start(client, who, hello) {
  state.client = client;
  $('#login').hidden = true;
  $('#app').hidden = false;
  $('#logout').hidden = false;
  $('#who').textContent = `${who} on ${hello.server}`;
  client.event.subscribe(STATS_EVENT, (figures) => {
    state.nodes.set(figures.server, { figures, at: Date.now() });
  });
  client.presence.getAll().then((users) => {
    for (const user of users) state.online.add(user);
  });
  client.presence.subscribe((user, online) => (online ? state.online.add(user) : state.online.delete(user)));
  state.timers.push(setInterval(render, 250), setInterval(refreshSessions, 1000));
  refreshSessions();
}

$('#logout').addEventListener('click', () => {
  for (const timer of state.timers.splice(0)) clearInterval(timer);
  state.client?.close();
  location.reload();
});

function refreshSessions() {
  const client = state.client;
  const query = $('#session-search').value;
  for (const server of state.nodes.keys()) {
    client.rpc.make(sessionsRpc(server), { query }, (error, result) => {
      if (error) return state.sessions.delete(server);
      state.sessions.set(server, result);
      renderSessions();
    });
  }
}
$('#session-search').addEventListener('input', () => refreshSessions());

const healthOf = ({ figures, at }) => (Date.now() - at <= 3 * figures.interval ? 'up' : 'missing');
const sum = (values) => values.reduce((a, b) => a + b, 0);
const megabytes = (bytes) => `${Math.round(bytes / 1048576)} MB`;

function render() {
  const nodes = [...state.nodes.values()].sort((a, b) => a.figures.server.localeCompare(b.figures.server));
  $('#nodes tbody').replaceChildren(
    ...nodes.map((node) => {
      const { figures } = node;
      const health = healthOf(node);
      return el(
        'tr',
        { 'data-server': figures.server, class: health },
        el('td', {}, figures.server),
        el('td', { class: 'health' }, health),
        el('td', { class: 'connections' }, figures.connections),
        el('td', { class: 'users' }, figures.uniqueUsers),
        el('td', {}, sum(Object.values(figures.traffic.inPerSecond)).toFixed(1)),
        el('td', {}, sum(Object.values(figures.traffic.outPerSecond)).toFixed(1)),
        el('td', {}, `${figures.eventLoopDelay} ms`),
        el('td', {}, megabytes(figures.memory.rss)),
        el('td', {}, figures.peers.join(', ') || '–'),
      );
    }),
  );
  const live = nodes.filter((node) => healthOf(node) === 'up').map((node) => node.figures);
  const topics = [...new Set(live.flatMap((f) => Object.keys(f.traffic.inPerSecond)))];
  $('#rates tbody').replaceChildren(
    ...topics
      .map((topic) => [topic, sum(live.map((f) => f.traffic.inPerSecond[topic] || 0)), sum(live.map((f) => f.traffic.outPerSecond[topic] || 0))])
      .filter(([, i, o]) => i > 0 || o > 0)
      .map(([topic, i, o]) => el('tr', {}, el('td', {}, topic), el('td', {}, i.toFixed(1)), el('td', {}, o.toFixed(1)))),
  );
  renderGauges(live);
  for (const [list, key] of [['#busy-events', 'busiestEvents'], ['#busy-records', 'busiestRecords'], ['#busy-rpcs', 'busiestRpcs']]) {
    const counts = new Map();
    for (const f of live) for (const { name, count } of f.traffic[key]) counts.set(name, (counts.get(name) || 0) + count);
    $(list).replaceChildren(...[...counts].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([name, count]) => el('li', {}, `${name} `, el('span', { class: 'count' }, count))));
  }
  $('#presence-count').textContent = `(${state.online.size})`;
  $('#presence').replaceChildren(...[...state.online].sort().map((user) => el('li', { 'data-user': user }, user)));
}

/** Per-node readings summed over the cluster; cluster-wide ones (presence) are the same on every node. */
function renderGauges(live) {
  const totals = new Map();
  for (const f of live) {
    for (const { name, labels, value } of f.gauges) {
      const label = Object.values(labels).join(', ');
      const key = label === '' ? name : `${name} (${label})`;
      const clusterWide = name.startsWith('presence_online');
      totals.set(key, clusterWide ? Math.max(totals.get(key) || 0, value) : (totals.get(key) || 0) + value);
    }
  }
  $('#gauges tbody').replaceChildren(...[...totals].sort().map(([key, value]) => el('tr', { 'data-gauge': key }, el('td', {}, key.replaceAll('_', ' ')), el('td', {}, value))));
}

function renderSessions() {
  const rows = [...state.sessions.values()].flatMap((result) => result.rows.map((row) => ({ ...row, server: result.server })));
  const total = sum([...state.sessions.values()].map((result) => result.total));
  const signature = JSON.stringify(rows);
  $('#session-count').textContent = `(${total})`;
  if (signature === state.lastSessionsHtml) return; // unchanged: keep the DOM, and the button under the pointer
  state.lastSessionsHtml = signature;
  renderProviders(rows);
  $('#sessions tbody').replaceChildren(
    ...rows.map((row) =>
      el(
        'tr',
        { 'data-session': row.id, 'data-user': row.user ?? '' },
        el('td', {}, row.server),
        el('td', {}, row.id),
        el('td', {}, row.user ?? '(not logged in)', row.operator ? el('span', { class: 'badge' }, 'operator') : ''),
        el('td', {}, row.address),
        el('td', {}, row.transport),
        el('td', {}, new Date(row.since).toLocaleTimeString()),
        el('td', { class: 'subscriptions' }, row.subscriptions.map(({ kind, names }) => `${kind}: ${names.join(', ')}`).join('; ') || '–'),
        el('td', {}, el('button', { class: 'disconnect', onclick: () => disconnect(row) }, 'Disconnect')),
      ),
    ),
  );
}

/** Who provides which RPC and listens to which pattern, from the session rows of every node. */
function renderProviders(rows) {
  const providers = new Map();
  for (const row of rows) {
    for (const { kind, names } of row.subscriptions) {
      if (!kind.endsWith(' provides') && !kind.endsWith(' listens')) continue;
      for (const name of names) {
        const key = `${kind}\u0000${name}`;
        providers.set(key, [...(providers.get(key) || []), row.user ?? row.id]);
      }
    }
  }
  $('#providers tbody').replaceChildren(
    ...[...providers].sort().map(([key, users]) => {
      const [kind, name] = key.split('\u0000');
      return el('tr', { 'data-provider': name }, el('td', {}, kind), el('td', {}, name), el('td', {}, users.join(', ')));
    }),
  );
}

function disconnect(row) {
  const why = $('#disconnect-reason').value;
  state.client.rpc.make(disconnectRpc(row.server), { session: row.id, reason: why }, (error) => {
    if (error) return show(`disconnect failed: ${reason(error)}`, true);
    show(`disconnected ${row.user ?? row.id} (${row.id})`);
    refreshSessions();
  });
}

const parseJson = (text, what) => {
  try {
    return text.trim() === '' ? undefined : JSON.parse(text);
  } catch {
    throw new Error(`${what} is not valid JSON`);
  }
};

$('#emit').addEventListener('submit', (event) => {
  event.preventDefault();
  try {
    const name = $('#emit-name').value;
    state.client.event.emit(name, parseJson($('#emit-data').value, 'the event data'));
    show(`emitted ${name}`);
  } catch (error) {
    show(error.message, true);
  }
});

$('#record-load').addEventListener('click', async () => {
  const name = $('#record-name').value;
  if (name === '') return show('name the record to load', true);
  state.record?.discard();
  const record = state.client.record.getRecord(name);
  state.record = record;
  await record.whenReady();
  state.recordDirty = false;
  const fill = () => {
    $('#record-version').textContent = String(record.version);
    // Others' writes show as they happen, unless the operator is editing: then they are told.
    if (state.recordDirty) return show(`${name} changed to version ${record.version} while you were editing: Load shows it`, true);
    $('#record-data').value = JSON.stringify(record.get(), null, 2);
  };
  fill();
  record.subscribe(fill);
  show(`loaded ${name} at version ${record.version}`);
});

$('#record-data').addEventListener('input', () => (state.recordDirty = true));

$('#record').addEventListener('submit', async (event) => {
  event.preventDefault();
  const record = state.record;
  if (record === undefined || record.name !== $('#record-name').value) return show('load the record first', true);
  try {
    await record.setWithAck(parseJson($('#record-data').value, 'the record data') ?? {});
    state.recordDirty = false;
    $('#record-version').textContent = String(record.version);
    show(`saved ${record.name}, now version ${record.version}`);
  } catch (error) {
    show(`save failed: ${reason(error)}`, true);
  }
});

$('#rpc').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    const name = $('#rpc-name').value;
    const result = await state.client.rpc.make(name, parseJson($('#rpc-data').value, 'the RPC data'));
    $('#rpc-result').textContent = JSON.stringify(result, null, 2);
    show(`${name} answered`);
  } catch (error) {
    $('#rpc-result').textContent = '';
    show(`RPC failed: ${reason(error)}`, true);
  }
});
