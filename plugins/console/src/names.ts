/**
 * The reserved names the console talks on. Only operators (and the console's own agent) may use
 * any name under the prefix, for any topic: the plugin's `authorize` tap decides them before any
 * permission plugin.
 */
export const PREFIX = '$console/';
/** Each node publishes its live figures here once per interval. */
export const STATS_EVENT = `${PREFIX}stats`;
/** Answered by any node: lets the page learn whether its login is an operator's. */
export const HELLO_RPC = `${PREFIX}hello`;
export const sessionsRpc = (server: string) => `${PREFIX}sessions/${server}`;
export const disconnectRpc = (server: string) => `${PREFIX}disconnect/${server}`;
