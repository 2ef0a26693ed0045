// The collaborative to-do page. Uses only the official client's public API:
//   records  - the list record 'collab-todo/list' holds the todo ids in order, and each todo is a
//              record 'collab-todo/todo/<id>' holding { text, done, by }
//   events   - 'collab-todo/typing' carries { user, typing } while someone types a new todo
//   presence - who is online
// The client comes from vendor/ds.min.js (its UMD build), loaded by a classic <script> before
// this module: window.DeepstreamClient is the package's exports.
const { DeepstreamClient } = window.DeepstreamClient;

const LIST = 'collab-todo/list';
const TYPING = 'collab-todo/typing';
const todoName = (id) => `collab-todo/todo/${id}`;

// ws://<this page's host>:6020/deepstream, or ?server=ws://... (tests use ephemeral ports).
const params = new URLSearchParams(location.search);
const server = params.get('server') || `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.hostname || 'localhost'}:6020/deepstream`;

const $ = (id) => document.getElementById(id);
const ui = {
  status: $('status'),
  login: $('login'),
  username: $('username'),
  join: $('join'),
  loginError: $('login-error'),
  app: $('app'),
  online: $('online'),
  onlineCount: $('online-count'),
  add: $('add'),
  newTodo: $('new-todo'),
  typing: $('typing'),
  todos: $('todos'),
  summary: $('summary'),
};
ui.username.value = params.get('user') ?? '';

const client = new DeepstreamClient(server);
const showState = (state) => {
  ui.status.dataset.state = state;
  ui.status.textContent = state === 'OPEN' ? 'connected' : state.toLowerCase().replaceAll('_', ' ');
};
showState(client.getConnectionState());
client.on('connectionStateChanged', showState);
client.on('error', (error, event, topic) => console.warn('deepstream:', event, topic, error));

ui.login.addEventListener('submit', async (submit) => {
  submit.preventDefault();
  const username = ui.username.value.trim() || `guest-${Math.random().toString(36).slice(2, 6)}`;
  ui.join.disabled = true;
  ui.loginError.hidden = true;
  try {
    await client.login({ username });
  } catch (error) {
    ui.loginError.textContent = `Login failed: ${error?.reason ?? error?.message ?? error}`;
    ui.loginError.hidden = false;
    ui.join.disabled = false;
    return;
  }
  ui.login.hidden = true;
  ui.app.hidden = false;
  document.title = `${username} · Collaborative to-do`;
  ui.newTodo.focus();
  startPresence(username);
  startTyping(username);
  startTodos(username);
});

// ---- presence: who is online ------------------------------------------------------------------

let forgetTyper = () => {};

function startPresence(me) {
  const online = new Set([me]);
  const render = () => {
    const others = [...online].filter((user) => user !== me).sort();
    ui.online.replaceChildren(
      ...[me, ...others].map((user) => {
        const li = document.createElement('li');
        li.dataset.user = user;
        li.textContent = user === me ? `${user} (you)` : user;
        li.classList.toggle('me', user === me);
        return li;
      }),
    );
    ui.onlineCount.textContent = `(${online.size})`;
  };
  // Subscribe first, then ask, so that nobody who comes or goes in between is missed.
  client.presence.subscribe((user, isOnline) => {
    if (isOnline) online.add(user);
    else if (user !== me) {
      online.delete(user);
      forgetTyper(user);
    }
    render();
  });
  const refresh = () =>
    client.presence.getAll().then((users) => {
      for (const user of online) if (user !== me && !users.includes(user)) online.delete(user);
      for (const user of users) online.add(user);
      render();
    });
  refresh();
  // After a reconnect, people who left meanwhile would linger: ask again.
  client.on('connectionStateChanged', (state) => state === 'OPEN' && refresh());
  render();
}

// ---- events: "someone is typing" --------------------------------------------------------------

function startTyping(me) {
  const typers = new Map(); // user -> timer that forgets them
  const render = () => {
    const names = [...typers.keys()].sort();
    ui.typing.textContent =
      names.length === 0 ? '' : names.length === 1 ? `${names[0]} is typing…` : `${names.slice(0, -1).join(', ')} and ${names.at(-1)} are typing…`;
  };
  forgetTyper = (user) => {
    clearTimeout(typers.get(user));
    if (typers.delete(user)) render();
  };
  client.event.subscribe(TYPING, (message) => {
    const { user, typing } = message ?? {};
    if (typeof user !== 'string' || user === me) return; // the client hands us our own emits too
    forgetTyper(user);
    // A typist repeats the event every 1.5 s; forget them if that stops (closed tab, lost network).
    if (typing) typers.set(user, setTimeout(() => forgetTyper(user), 4000));
    render();
  });

  let sentAt = 0;
  let idle;
  const stop = () => {
    clearTimeout(idle);
    if (sentAt === 0) return;
    sentAt = 0;
    client.event.emit(TYPING, { user: me, typing: false });
  };
  ui.newTodo.addEventListener('input', () => {
    if (ui.newTodo.value === '') return stop();
    if (Date.now() - sentAt > 1500) {
      sentAt = Date.now();
      client.event.emit(TYPING, { user: me, typing: true });
    }
    clearTimeout(idle);
    idle = setTimeout(stop, 3000);
  });
  ui.newTodo.addEventListener('blur', stop);
  ui.add.addEventListener('submit', stop);
}

// ---- records: the list of ids and one record per todo -----------------------------------------

function startTodos(me) {
  const list = client.record.getList(LIST);
  const todos = new Map(); // id -> { id, record, data, gone }
  let order = [];

  // Two people changing the list at once: the server keeps one write and tells the other client
  // VERSION_EXISTS. The default strategy (remote wins) would drop the other's change, so keep
  // the server's list, minus what we removed, plus what we added and have not seen acknowledged.
  const addedHere = new Set();
  const removedHere = new Set();
  client.record.setMergeStrategy(LIST, (_local, _localVersion, remote, _remoteVersion, done) => {
    const merged = (Array.isArray(remote) ? remote : []).filter((id) => !removedHere.has(id));
    for (const id of addedHere) if (!merged.includes(id)) merged.push(id);
    done(null, merged);
  });

  let scheduled = false;
  const render = () => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      draw();
    });
  };

  const track = (id) => {
    const todo = { id, record: client.record.getRecord(todoName(id)), data: null, gone: false };
    todos.set(id, todo);
    todo.record.subscribe((data) => {
      todo.data = data;
      render();
    }, true);
    todo.record.on('delete', () => {
      todo.gone = true;
      todo.data = null;
      render();
    });
  };
  const untrack = (id) => {
    const todo = todos.get(id);
    todos.delete(id);
    if (todo && !todo.gone) todo.record.discard();
  };
  const sync = (ids) => {
    order = ids;
    for (const id of ids) if (!todos.has(id)) track(id);
    for (const id of [...todos.keys()]) if (!ids.includes(id)) untrack(id);
    render();
  };

  function draw() {
    const shown = order.map((id) => todos.get(id)).filter((todo) => todo && todo.data && typeof todo.data.text === 'string');
    ui.todos.replaceChildren(...shown.map(item));
    const done = shown.filter((todo) => todo.data.done).length;
    ui.summary.textContent = shown.length === 0 ? 'Nothing to do yet.' : `${done} of ${shown.length} done`;
  }

  function item(todo) {
    const li = document.createElement('li');
    li.dataset.id = todo.id;
    li.classList.toggle('done', todo.data.done === true);
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.className = 'toggle';
    box.checked = todo.data.done === true;
    box.setAttribute('aria-label', `done: ${todo.data.text}`);
    box.addEventListener('change', () => todo.record.set('done', box.checked));
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = todo.data.text;
    const by = document.createElement('span');
    by.className = 'by';
    by.textContent = typeof todo.data.by === 'string' ? `by ${todo.data.by}` : '';
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'delete';
    remove.title = 'Delete';
    remove.textContent = '×';
    remove.addEventListener('click', () => {
      removedHere.add(todo.id);
      todos.delete(todo.id); // ours to delete, not to discard
      list.removeEntry(todo.id);
      todo.record.delete().catch((error) => console.warn('delete failed', error));
    });
    li.append(box, text, by, remove);
    return li;
  }

  ui.add.addEventListener('submit', async (submit) => {
    submit.preventDefault();
    const text = ui.newTodo.value.trim();
    if (text === '') return;
    ui.newTodo.value = '';
    const id = client.getUid();
    try {
      // The todo's record exists before its id is in the list, so nobody sees an empty one.
      await client.record.setDataWithAck(todoName(id), { text, done: false, by: me });
    } catch (error) {
      console.warn('could not save the todo', error);
      ui.newTodo.value = text;
      return;
    }
    addedHere.add(id);
    list.addEntry(id, undefined, (error) => {
      if (!error) addedHere.delete(id);
    });
  });

  list.whenReady().then(() => {
    sync(list.getEntries());
    list.subscribe(sync);
  });
}
