import {
  AsyncSeriesBailHook,
  AsyncSeriesHook,
  SyncBailHook,
  SyncHook,
  type Hook,
} from 'tapable';
import { DeepstreamError, describeError } from './errors.ts';
import type { JSONValue, Message } from './protocol/messages.ts';
import type { Session, ConnectionInfo } from './session/session.ts';

/** What an authentication strategy is asked (SECURITY §1). */
export interface AuthenticationRequest {
  /** The client's credentials: the parsed `data` of AUTH.REQUEST, always an object or array. */
  readonly authData: Readonly<Record<string, unknown>> | readonly unknown[];
  readonly connection: ConnectionInfo;
}

/** A strategy's definite answer. Return `undefined` from a tap instead to let the next strategy decide. */
export interface AuthenticationResult {
  readonly isValid: boolean;
  /** The user id; `OPEN` when a valid result has none. */
  readonly id?: string;
  /** Sent to the client with AUTH_SUCCESSFUL (or AUTH_UNSUCCESSFUL on failure). */
  readonly clientData?: JSONValue;
  /** Private to the server: permission rules see it as `user.data`. */
  readonly serverData?: JSONValue;
  /**
   * A token the strategy hands back for later logins (deepstream's webhook answers may carry
   * one): the HTTP API's token login answers it, and later requests bring it as authData `{token}`.
   */
  readonly token?: string;
}

/**
 * One permission question, feature-neutral: may `session` have `permission` on the `resource`
 * called `name`? The router asks it for every wire message whose topic owner declared a
 * permission (`ctx.claim(topic, handler, access)`); features ask it for work that comes from
 * no message of the asking session (`ctx.authorize`). Bulk messages are asked once per name.
 */
export interface AuthorizationRequest {
  /** The user: `session.userId`, `session.serverData`. */
  readonly session: Session;
  /** What kind of thing is asked about, named by the feature that owns it: `record`, `event`, `rpc`, `presence`. */
  readonly resource: string;
  /** The one name being checked; a nameless request is asked with the name its feature declares (`TopicAccess.nameless`). */
  readonly name: string;
  /** What the user wants to do, in the feature's words: `read`, `write`, `create`, `publish`, `subscribe`, ... */
  readonly permission: string;
  /** The wire action this question stands for, as a number rules may look at; absent when none does. */
  readonly action?: number;
  /** What the owning feature knows about the state the request acts on, computed when asked. */
  readonly facts?: AuthorizationFacts;
}

/**
 * Facts the feature that owns a resource supplies on demand, so that permission plugins judge the
 * exact state a request is applied to (a record write is judged at its turn in the record's write
 * queue, after the writes queued before it). Each may be called more than once and returns the
 * same answer; absent means "not known here". Either may throw or reject: the check then fails
 * (MESSAGE_PERMISSION_ERROR).
 */
export interface AuthorizationFacts {
  /** The resource's data before the request: `null` when it does not exist. */
  oldData?(): unknown;
  /** The request's data: an event's or RPC's payload, a record as it will be once the write is applied. */
  data?(): unknown;
}

export interface AuthorizationVerdict {
  readonly allowed: boolean;
  /** The rule could not be evaluated (MESSAGE_PERMISSION_ERROR rather than MESSAGE_DENIED). */
  readonly error?: boolean;
}

/** A tap that threw, as reported on the `error` hook and in the log. */
export interface HookFailure {
  readonly hook: string;
  /** The tap name, which by convention is the plugin name. */
  readonly plugin: string;
  readonly error: DeepstreamError;
}

/**
 * The kernel's hook table, in lifecycle order. Declared once, frozen, and the only way plugins
 * observe or change what the kernel does. Every tap must be named after its plugin (`ctx.name`):
 * the name appears in errors and profiling.
 */
export interface KernelHooks {
  /** All plugins are set up; the server is not listening yet. */
  readonly boot: AsyncSeriesHook<[]>;
  /** The server listens and accepts connections. */
  readonly ready: AsyncSeriesHook<[]>;
  /** A socket opened; it is not authenticated yet. */
  readonly connection: SyncHook<[Session]>;
  /** Authentication strategies in config order; the first result that is not `undefined` wins. */
  readonly authenticate: AsyncSeriesBailHook<[AuthenticationRequest], AuthenticationResult | undefined>;
  /** A session logged in (presence joins here). */
  readonly authenticated: SyncHook<[Session]>;
  /** Every message of an authenticated session before routing. Return `'drop'` to stop it. Keep it cheap. */
  readonly inbound: SyncBailHook<[Session, Message], 'drop' | undefined>;
  /** Permission plugins; the first verdict wins, no verdict means allowed. A throwing tap denies. Ask it through `ctx.authorize`, never directly. */
  readonly authorize: AsyncSeriesBailHook<[AuthorizationRequest], AuthorizationVerdict | undefined>;
  /** Every message sent to a session, when anything taps it (metrics). Observe only. */
  readonly outbound: SyncHook<[Session, Message]>;
  /** A session is gone, for whatever reason: the one cleanup point for every registry. */
  readonly disconnect: SyncHook<[Session]>;
  /** Shutdown started; sessions are still open. */
  readonly beforeShutdown: AsyncSeriesHook<[]>;
  /** Sessions are closed and plugins are closed; last call before the process may exit. */
  readonly shutdown: AsyncSeriesHook<[]>;
  /** A plugin threw inside a hook. The kernel logs it; taps may count it. */
  readonly error: SyncHook<[HookFailure]>;
}

/**
 * How many authentication strategies are tapped: taps of `authenticate` registered with
 * `strategy: false` (the HTTP API's token tap, which only recognises its own tokens) do not judge
 * credentials. A strategy alone in the chain may say why it refused (SECURITY §1).
 */
export function countAuthenticationStrategies(hooks: KernelHooks): number {
  return hooks.authenticate.taps.filter((tap) => (tap as { strategy?: unknown }).strategy !== false).length;
}

/** What a failing tap returns instead of its result, per hook. Authorization fails closed. */
const FALLBACK_ON_ERROR: Partial<Record<keyof KernelHooks, unknown>> = {
  authorize: { allowed: false, error: true } satisfies AuthorizationVerdict,
};

type AnyHook = Hook<unknown[], unknown>;
/** tapable's registered tap (not exported by its typings under this name). */
interface Tap {
  name: string;
  type: 'sync' | 'async' | 'promise';
  fn: Function;
}

export function createHooks(report: (failure: HookFailure) => void): KernelHooks {
  const hooks: KernelHooks = {
    boot: new AsyncSeriesHook([], 'boot'),
    ready: new AsyncSeriesHook([], 'ready'),
    connection: new SyncHook(['session'], 'connection'),
    authenticate: new AsyncSeriesBailHook(['request'], 'authenticate'),
    authenticated: new SyncHook(['session'], 'authenticated'),
    inbound: new SyncBailHook(['session', 'message'], 'inbound'),
    authorize: new AsyncSeriesBailHook(['request'], 'authorize'),
    outbound: new SyncHook(['session', 'message'], 'outbound'),
    disconnect: new SyncHook(['session'], 'disconnect'),
    beforeShutdown: new AsyncSeriesHook([], 'beforeShutdown'),
    shutdown: new AsyncSeriesHook([], 'shutdown'),
    error: new SyncHook(['failure'], 'error'),
  };
  for (const [name, hook] of Object.entries(hooks) as Array<[keyof KernelHooks, AnyHook]>) {
    const fallback = FALLBACK_ON_ERROR[name];
    const onFailure =
      name === 'error'
        ? () => undefined // an error tap that throws is dropped, never reported again (no loops)
        : (tap: Tap, error: unknown) => {
            report({
              hook: name,
              plugin: tap.name,
              error: new DeepstreamError('DS_HOOK_TAP_FAILED', `plugin "${tap.name}" threw in hook "${name}": ${describeError(error)}`, {
                cause: error,
              }),
            });
            return fallback;
          };
    hook.intercept({ register: (tap) => Object.assign(tap, { fn: guardTap(tap, onFailure) }) });
    // tapable counts interceptors as use; ours is on every hook, so "used" must mean "tapped", or
    // hot paths (inbound, outbound, authorize) could never skip an untapped hook.
    hook.isUsed = () => hook.taps.length > 0;
  }
  return Object.freeze(hooks);
}

type Guarded = (...args: unknown[]) => unknown;

/** Wraps a tap's function so that a throw or rejection is reported and replaced by the hook's fallback. */
function guardTap(tap: Tap, onFailure: (tap: Tap, error: unknown) => unknown): Guarded {
  const original = tap.fn as Guarded;
  let fn: Guarded;
  if (tap.type === 'promise') {
    fn = (...args) => {
      try {
        return Promise.resolve(original(...args)).catch((error: unknown) => onFailure(tap, error));
      } catch (error) {
        return Promise.resolve(onFailure(tap, error));
      }
    };
  } else if (tap.type === 'async') {
    fn = (...args) => {
      const callback = args.pop() as (error: unknown, result?: unknown) => void;
      const done = (error: unknown, result?: unknown) =>
        error == null ? callback(null, result) : callback(null, onFailure(tap, error));
      try {
        original(...args, done);
      } catch (error) {
        done(error);
      }
    };
  } else {
    fn = (...args) => {
      try {
        return original(...args);
      } catch (error) {
        return onFailure(tap, error);
      }
    };
  }
  return fn;
}
