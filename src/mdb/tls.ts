/**
 * Certificates and HTTPS calls of the MDB client: the client certificate for
 * the API gateway, the CA bundle for every HTTPS call and the `wss://` link,
 * and the mapping of failures to typed errors.
 *
 * @module
 */

import { AuthError, ConnectionError, TimeoutError } from "../core/errors.ts";

/** A certificate or key: a file path, or the PEM text itself. */
export type PemSource = string;

/** The client certificate: `[certificate, key]`, each a path or PEM text. */
export type ClientCert = readonly [cert: PemSource, key: PemSource];

/** TLS options shared by {@linkcode Connection} and {@linkcode JWTManager}. */
export interface TlsOptions {
  /**
   * The client certificate and key for the API gateway: paths or PEM text.
   * Default `~/.ssh/cert.crt` and `~/.ssh/cert.key`.
   */
  cert?: ClientCert | undefined;
  /**
   * CA certificates (a path or PEM text) to verify every server with. Default:
   * the file named by `SSL_CA_BUNDLE`, else the system roots.
   */
  caBundle?: PemSource | undefined;
  /** How long each HTTPS call may take, in ms. Default 10 000 (as speedracer). */
  timeoutMs?: number | undefined;
}

/** How long an HTTP call may take, as in speedracer. */
export const HTTP_TIMEOUT_MS = 10_000;

function isPem(s: string): boolean {
  return s.includes("-----BEGIN ");
}

function home(): string {
  const h = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
  if (h === undefined || h === "") {
    throw new ConnectionError("Finding the default client certificate failed: HOME is not set");
  }
  return h;
}

/**
 * The default client certificate paths, `~/.ssh/cert.crt` and `~/.ssh/cert.key`.
 *
 * @returns The pair.
 */
export function defaultCert(): ClientCert {
  const h = home();
  return [`${h}/.ssh/cert.crt`, `${h}/.ssh/cert.key`];
}

async function readPem(source: PemSource, what: string): Promise<string> {
  if (typeof source !== "string" || source === "") {
    throw new TypeError(`Loading the ${what} failed: expected a path or PEM text, got ${typeof source}`);
  }
  if (isPem(source)) return source;
  try {
    return await Deno.readTextFile(source);
  } catch (cause) {
    const why = cause instanceof Deno.errors.NotFound ? "the file does not exist" : String(cause);
    throw new ConnectionError(`Loading the ${what} from ${source} failed: ${why}`, { cause });
  }
}

/**
 * The CA certificates to trust: `caBundle`, else `SSL_CA_BUNDLE`, else none
 * (system roots).
 *
 * @param caBundle A path or PEM text.
 * @returns The PEM texts, or `undefined` for the system roots.
 * @throws {ConnectionError} When the file cannot be read.
 */
export async function loadCaCerts(caBundle: PemSource | undefined): Promise<string[] | undefined> {
  let source = caBundle;
  let what = "CA bundle";
  if (source === undefined) {
    let env: string | undefined;
    try {
      env = Deno.env.get("SSL_CA_BUNDLE");
    } catch {
      env = undefined;
    }
    if (env === undefined || env === "") return undefined;
    source = env;
    what = "CA bundle named by SSL_CA_BUNDLE";
  }
  return [await readPem(source, what)];
}

/**
 * Loads the client certificate and key.
 *
 * @param cert The pair, or `undefined` for the defaults.
 * @returns The PEM texts.
 * @throws {ConnectionError} When a file cannot be read.
 * @throws {TypeError} When `cert` is not a pair of strings.
 */
export async function loadClientCert(cert: ClientCert | undefined): Promise<{ cert: string; key: string }> {
  if (cert !== undefined && (!Array.isArray(cert) || cert.length !== 2)) {
    throw new TypeError("Loading the client certificate failed: cert must be [certificate, key]");
  }
  const [c, k] = cert ?? defaultCert();
  return { cert: await readPem(c, "client certificate"), key: await readPem(k, "client key") };
}

/** TLS alerts by which a server refuses the client certificate. */
const CLIENT_CERT_ALERT =
  /fatal alert: ?(CertificateRequired|BadCertificate|UnknownCA|CertificateUnknown|AccessDenied|UnsupportedCertificate|CertificateRevoked|CertificateExpired)/i;

function errorTexts(err: unknown): { text: string; innerText: string } {
  const text = String((err as { message?: unknown })?.message ?? err);
  const inner = (err as { cause?: unknown })?.cause;
  const innerText = inner === undefined ? "" : String((inner as { message?: unknown })?.message ?? inner);
  return { text, innerText };
}

function tlsReason(err: unknown): string {
  const { text, innerText } = errorTexts(err);
  const all = `${text} ${innerText}`;
  if (CLIENT_CERT_ALERT.test(all)) return `the server refused the client certificate: ${innerText || text}`;
  if (/UnknownIssuer|unknown ?issuer|invalid peer certificate|certificate/i.test(all)) {
    return `the server's TLS certificate was not accepted (wrong CA?): ${innerText || text}`;
  }
  if (/handshake|alert|tls/i.test(all)) return `the TLS handshake failed: ${innerText || text}`;
  if (/refused/i.test(all)) return `the connection was refused: ${innerText || text}`;
  return innerText || text;
}

/**
 * Checks a `timeoutMs` option.
 *
 * @param value The value given.
 * @param action The action, for the message.
 * @returns The timeout in ms.
 * @throws {RangeError} When it is not a positive finite number.
 */
export function checkTimeout(value: number | undefined, action: string): number {
  if (value === undefined) return HTTP_TIMEOUT_MS;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${action} failed: timeoutMs ${String(value)} is not a positive number`);
  }
  return value;
}

/** What {@linkcode httpGet} returns. */
export interface HttpResult {
  readonly status: number;
  readonly text: string;
}

/**
 * GETs a URL with a 10 s timeout; network and TLS failures become
 * {@linkcode ConnectionError}, the timeout {@linkcode TimeoutError}. On a
 * call that presents a client certificate, a TLS alert refusing it becomes
 * {@linkcode AuthError}, and a connection closed during the handshake a
 * `ConnectionError` that says the certificate may be the cause.
 *
 * @param url The URL.
 * @param what The call, for messages ("the MDB config", ...).
 * @param init Headers, the client and a signal.
 * @returns Status and body.
 */
export async function httpGet(
  url: string,
  what: string,
  init: {
    headers?: Record<string, string>;
    client?: Deno.HttpClient | undefined;
    signal?: AbortSignal | undefined;
    timeoutMs?: number | undefined;
    /** The call presents a client certificate (the API gateway): handshake refusals are told apart. */
    clientCert?: boolean | undefined;
  },
): Promise<HttpResult> {
  const ms = init.timeoutMs ?? HTTP_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(ms);
  const signal = init.signal === undefined ? timeout : AbortSignal.any([timeout, init.signal]);
  let res: Response;
  try {
    res = await fetch(url, {
      headers: init.headers ?? {},
      signal,
      ...(init.client === undefined ? {} : { client: init.client }),
    });
  } catch (cause) {
    if (timeout.aborted) {
      throw new TimeoutError(`Fetching ${what} from ${url} timed out after ${ms} ms`, {
        cause,
        timeoutMs: ms,
      });
    }
    if (init.signal?.aborted) throw init.signal.reason;
    if (init.clientCert === true) {
      const { text, innerText } = errorTexts(cause);
      const alert = `${text} ${innerText}`.match(CLIENT_CERT_ALERT);
      if (alert !== null) {
        throw new AuthError(
          `Fetching ${what} from ${url} was refused at the TLS handshake: the server did not accept the client certificate (${
            alert[0]
          })`,
          { cause, url },
        );
      }
      if (/handshake eof|close_notify|unexpected ?eof/i.test(`${text} ${innerText}`)) {
        throw new ConnectionError(
          `Fetching ${what} from ${url} failed: the server closed the connection during the TLS handshake (it may not accept the client certificate): ${
            innerText || text
          }`,
          { cause, url },
        );
      }
    }
    throw new ConnectionError(`Fetching ${what} from ${url} failed: ${tlsReason(cause)}`, { cause, url });
  }
  let text: string;
  try {
    text = await res.text();
  } catch (cause) {
    throw new ConnectionError(`Reading ${what} from ${url} failed: ${tlsReason(cause)}`, { cause, url });
  }
  return { status: res.status, text };
}

/**
 * Throws {@linkcode AuthError} for 401/403 (for any non-2xx when `credential`
 * is set: the gateway and the MAS issue credentials, so any refusal is an
 * authentication failure) and {@linkcode ConnectionError} otherwise.
 *
 * @param result The answer.
 * @param url The URL.
 * @param what The call, for messages.
 * @param credential Whether the call issues a credential.
 */
export function checkStatus(result: HttpResult, url: string, what: string, credential = false): void {
  const { status } = result;
  if (status >= 200 && status < 300) return;
  const body = result.text.slice(0, 200).trim();
  const detail = body === "" ? "" : `: ${body}`;
  if (credential || status === 401 || status === 403) {
    throw new AuthError(`Fetching ${what} from ${url} was refused with status ${status}${detail}`, { url, status });
  }
  throw new ConnectionError(`Fetching ${what} from ${url} failed with status ${status}${detail}`, { url });
}
