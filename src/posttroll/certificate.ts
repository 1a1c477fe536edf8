/**
 * ZMQ certificate files (the ZPL-like format pyzmq writes and posttroll
 * reads): parsing and formatting. Pure: no I/O.
 *
 * @module
 */

/** A CURVE key pair (or just the public key) in Z85 text. */
export interface CurveCertificate {
  /** The 40-character Z85 public key. */
  publicKey: string;
  /** The 40-character Z85 secret key, in secret certificates only. */
  secretKey?: string | undefined;
}

const Z85 = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

/**
 * Tells whether a string is a 40-character Z85 CURVE key.
 *
 * @example
 * ```ts
 * import { isZ85Key } from "./certificate.ts";
 *
 * console.log(isZ85Key("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"), isZ85Key("short")); // true false
 * ```
 *
 * @param key The text.
 * @returns Whether it is one.
 */
export function isZ85Key(key: string): boolean {
  return Z85.test(key);
}

/**
 * Reads a certificate as Python posttroll does: lines starting with `#` are
 * ignored; on lines starting (after indentation) with `public-key` or
 * `secret-key`, the text after the first `=`, with spaces, tabs and quotes
 * removed, is the key.
 *
 * @example
 * ```ts
 * import { parseCertificate } from "@x/pubsub/posttroll/wire";
 *
 * const cert = parseCertificate('metadata\ncurve\n    public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"\n');
 * console.log(cert.publicKey); // rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7
 * ```
 *
 * @param text The file's text.
 * @param name The file's name, for the message.
 * @returns The keys.
 * @throws {SyntaxError} When there is no valid public key, or a secret key is not valid Z85.
 */
export function parseCertificate(text: string, name = "the certificate"): CurveCertificate {
  let publicKey: string | undefined;
  let secretKey: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (t.startsWith("#")) continue;
    const eq = t.indexOf("=");
    if (eq < 0) continue;
    const value = t.slice(eq + 1).replace(/[ \t"']/g, "");
    if (t.startsWith("public-key")) publicKey = value;
    else if (t.startsWith("secret-key")) secretKey = value;
  }
  if (publicKey === undefined || !isZ85Key(publicKey)) {
    throw new SyntaxError(`Reading ${name} failed: it has no valid public-key`);
  }
  if (secretKey !== undefined && !isZ85Key(secretKey)) {
    throw new SyntaxError(`Reading ${name} failed: its secret-key is not a 40-character Z85 key`);
  }
  return secretKey === undefined ? { publicKey } : { publicKey, secretKey };
}

/**
 * Writes a certificate in the ZPL-like layout pyzmq uses: a `#` banner, a
 * `metadata` section, a `curve` section with the quoted keys.
 *
 * @example
 * ```ts
 * import { formatCertificate, parseCertificate } from "@x/pubsub/posttroll/wire";
 *
 * const text = formatCertificate({ publicKey: "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7" }, new Date(0));
 * console.log(parseCertificate(text).publicKey); // rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7
 * ```
 *
 * @param cert The keys; with `secretKey`, a secret certificate.
 * @param date When it was made, for the banner.
 * @returns The file's text.
 * @throws {TypeError} When a key is not a 40-character Z85 key.
 */
export function formatCertificate(cert: CurveCertificate, date: Date = new Date()): string {
  if (!isZ85Key(cert.publicKey)) {
    throw new TypeError("Formatting a certificate failed: the public key is not a 40-character Z85 key");
  }
  if (cert.secretKey !== undefined && !isZ85Key(cert.secretKey)) {
    throw new TypeError("Formatting a certificate failed: the secret key is not a 40-character Z85 key");
  }
  const secret = cert.secretKey !== undefined;
  const lines = [
    `#   ****  Generated on ${date.toISOString()} by @x/pubsub  ****`,
    secret ? "#   ZeroMQ CURVE **Secret** Certificate" : "#   ZeroMQ CURVE Public Certificate",
    secret ? "#   Keep this file private." : "#   Share it with the peers that must trust this key.",
    "",
    "metadata",
    "curve",
    `    public-key = "${cert.publicKey}"`,
  ];
  if (secret) lines.push(`    secret-key = "${cert.secretKey}"`);
  return lines.join("\n") + "\n";
}
