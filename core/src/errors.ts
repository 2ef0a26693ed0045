/**
 * Every error the kernel raises has a stable code from this table. Codes never change meaning;
 * messages may be reworded. The same table is documented in core/README.md (a test keeps the two
 * in step).
 */
export const ERROR_CODES = {
  DS_CONFIG_NOT_FOUND: 'No config file was found, or the file given with --config does not exist.',
  DS_CONFIG_INVALID: 'The config file could not be loaded, or a setting (nested ones and environment overrides included) is unknown, has the wrong type or is out of range; the message names the key path and quotes the value.',
  DS_PLUGIN_INVALID: 'A plugin entry is not a valid plugin manifest.',
  DS_PLUGIN_OPTIONS_INVALID: "A plugin's options do not fit its schema (an unknown key, a wrong type, a value out of range) or break a rule the plugin checks itself; the message names the plugin, the key path and the value.",
  DS_PLUGIN_NOT_FOUND: 'A plugin named by package could not be resolved from the config directory.',
  DS_PLUGIN_KERNEL_MISMATCH: "A plugin's supported kernel range does not include this kernel's version.",
  DS_PLUGIN_DUPLICATE: 'Two plugins with the same name were configured.',
  DS_PLUGIN_DEPENDENCY_MISSING: 'A plugin depends on a plugin that is not configured.',
  DS_PLUGIN_DEPENDENCY_MISMATCH: "A dependency is configured, but its version is outside the required range.",
  DS_PLUGIN_DEPENDENCY_CYCLE: 'Plugins wait for each other in a cycle, through dependencies or needed services.',
  DS_PLUGIN_SETUP_FAILED: "A plugin's setup threw or rejected.",
  DS_PLUGIN_SETUP_TIMEOUT: "A plugin's setup did not finish within pluginSetupTimeout.",
  DS_TOPIC_ALREADY_CLAIMED: 'A plugin tried to own a topic (or HTTP path) that already has an owner, or a kernel topic.',
  DS_SERVICE_ALREADY_PROVIDED: 'Two plugins provide the same service, or a plugin declares a service the kernel provides.',
  DS_SERVICE_MISSING: 'A plugin needs a service that no plugin provides, or did not provide a service it declared.',
  DS_SERVICE_UNDECLARED: "A plugin provided or used a service its manifest does not declare in provides or needs.",
  DS_PLUGIN_API_REMOVED: 'A plugin called a part of the plugin API that no longer exists (ctx.authorize with a session and a message, ctx.permittedNames); the message names what replaced it.',
  DS_HOOK_TAP_FAILED: 'A plugin threw inside a hook; the kernel reported it and carried on.',
  DS_UNHANDLED_ERROR: 'A rejection nobody handled or an exception nobody caught reached the kernel; it logged it, naming the plugin, and carried on.',
  DS_LISTEN_FAILED: 'The server could not listen on the configured host and port.',
  DS_CLUSTER_UNAVAILABLE: 'A cluster transport is configured but could not be joined at start.',
  DS_KERNEL_STATE: 'A kernel method was called in the wrong lifecycle state (e.g. started twice).',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class DeepstreamError extends Error {
  override readonly name = 'DeepstreamError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
  }
}

export function isDeepstreamError(error: unknown, code?: ErrorCode): error is DeepstreamError {
  return error instanceof DeepstreamError && (code === undefined || error.code === code);
}

/** Formats anything thrown into one log-friendly line. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
