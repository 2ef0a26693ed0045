export interface AuthHttpOptions {
  /** Receives a POST per login attempt; required. */
  endpointUrl: string;
  /** Statuses that mean "valid". */
  permittedStatusCodes: number[];
  /** Milliseconds one request may take, connect to last byte. */
  requestTimeout: number;
  /** Fields of the login data also sent as request headers of the same name (when truthy). */
  promoteToHeader: string[];
  /** Statuses that mean "try again" (the endpoint or a proxy in front of it is unwell). */
  retryStatusCodes: number[];
  /** Retries after the first request; network errors and timeouts are retried too. */
  retryAttempts: number;
  /** Milliseconds between attempts. */
  retryInterval: number;
  /**
   * Refusals end the login (true) or let the next strategy try (false).
   * Unset: true when this is the only strategy, false when there are several (SECURITY §1).
   */
  reportInvalidParameters?: boolean;
}

export const DEFAULT_OPTIONS: Omit<AuthHttpOptions, 'endpointUrl'> = {
  permittedStatusCodes: [200],
  requestTimeout: 2000,
  promoteToHeader: [],
  retryStatusCodes: [502, 503, 504],
  retryAttempts: 3,
  retryInterval: 1000,
};

/** Returns the options typed as complete, or throws naming the one that cannot work. */
export function checkOptions(options: Readonly<Partial<AuthHttpOptions>>): Readonly<AuthHttpOptions> {
  const { endpointUrl, permittedStatusCodes, retryStatusCodes, promoteToHeader, reportInvalidParameters } = options;
  let url: URL | undefined;
  try {
    url = typeof endpointUrl === 'string' ? new URL(endpointUrl) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TypeError(`auth-http option endpointUrl must be an http:// or https:// URL, got ${JSON.stringify(endpointUrl)}`);
  }
  for (const key of ['permittedStatusCodes', 'retryStatusCodes'] as const) {
    const codes = options[key];
    if (!Array.isArray(codes) || codes.some((code) => !Number.isInteger(code) || code < 100 || code > 599)) {
      throw new TypeError(`auth-http option ${key} must be a list of HTTP status codes, got ${JSON.stringify(codes)}`);
    }
  }
  const both = permittedStatusCodes!.filter((code) => retryStatusCodes!.includes(code));
  if (both.length > 0) throw new TypeError(`auth-http: status ${both[0]} is in both permittedStatusCodes and retryStatusCodes`);
  if (!Array.isArray(promoteToHeader)) throw new TypeError(`auth-http option promoteToHeader must be a list of field names, got ${JSON.stringify(promoteToHeader)}`);
  for (const field of promoteToHeader) {
    try {
      new Headers().set(field, 'x');
    } catch {
      throw new TypeError(`auth-http option promoteToHeader: ${JSON.stringify(field)} cannot be an HTTP header name`);
    }
  }
  for (const key of ['requestTimeout', 'retryInterval'] as const) {
    const value = options[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new TypeError(`auth-http option ${key} must be a positive number of milliseconds, got ${String(value)}`);
  }
  if (!Number.isInteger(options.retryAttempts) || options.retryAttempts! < 0) {
    throw new TypeError(`auth-http option retryAttempts must be an integer >= 0, got ${String(options.retryAttempts)}`);
  }
  if (reportInvalidParameters !== undefined && typeof reportInvalidParameters !== 'boolean') {
    throw new TypeError(`auth-http option reportInvalidParameters must be true or false, got ${String(reportInvalidParameters)}`);
  }
  return options as AuthHttpOptions;
}
