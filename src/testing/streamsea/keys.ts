/**
 * RSA public keys for the fake server: PKCS#1 (`BEGIN RSA PUBLIC KEY`, what
 * the stream-sea CLI writes) wrapped into SPKI, which WebCrypto imports.
 *
 * @module
 */

import { decodeBase64, encodeBase64 } from "../../core/base64.ts";
import { concatBytes } from "../../core/bytes.ts";

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

function der(tag: number, body: Uint8Array): Uint8Array {
  const len = derLength(body.length);
  const out = new Uint8Array(1 + len.length + body.length);
  out[0] = tag;
  out.set(len, 1);
  out.set(body, 1 + len.length);
  return out;
}

/** The DER AlgorithmIdentifier of rsaEncryption (1.2.840.113549.1.1.1) with NULL parameters. */
const RSA_ALGORITHM = new Uint8Array([
  0x30,
  0x0d,
  0x06,
  0x09,
  0x2a,
  0x86,
  0x48,
  0x86,
  0xf7,
  0x0d,
  0x01,
  0x01,
  0x01,
  0x05,
  0x00,
]);

function pemBody(pem: string, label: string): Uint8Array | undefined {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`);
  const m = re.exec(pem);
  if (m === null) return undefined;
  return decodeBase64(m[1]!.replace(/\s+/g, ""));
}

function toPem(bytes: Uint8Array, label: string): string {
  const b64 = encodeBase64(bytes).replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

/**
 * Normalises an RSA public key PEM to SPKI (`BEGIN PUBLIC KEY`): an SPKI PEM
 * is returned as is, a PKCS#1 PEM (`BEGIN RSA PUBLIC KEY`) is wrapped.
 *
 * @example
 * ```ts
 * import { toSpkiPem } from "@x/pubsub/testing/streamsea";
 *
 * console.log(toSpkiPem("not a key")); // undefined
 * ```
 *
 * @param pem The key.
 * @returns The SPKI PEM, or `undefined` when it is neither format.
 */
export function toSpkiPem(pem: string): string | undefined {
  if (pemBody(pem, "PUBLIC KEY") !== undefined) return pem;
  const pkcs1 = pemBody(pem, "RSA PUBLIC KEY");
  if (pkcs1 === undefined) return undefined;
  const bitString = der(0x03, concatBytes([new Uint8Array([0]), pkcs1]));
  return toPem(der(0x30, concatBytes([RSA_ALGORITHM, bitString])), "PUBLIC KEY");
}
