// Test helpers: a throwaway v3 PKI made with openssl at test time (never committed), and small async utilities.

/** A CA and a server certificate for 127.0.0.1, PEM. */
export interface TestPki {
  ca: string;
  cert: string;
  key: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
}

let pki: Promise<TestPki> | undefined;

/** Makes (once per process) a CA and a v3 server certificate for 127.0.0.1 and localhost. */
export function testPki(): Promise<TestPki> {
  pki ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "messagebus-pki-" });
    try {
      await openssl([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=messagebus test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
      ], dir);
      await openssl([
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
      ], dir);
      await Deno.writeTextFile(
        `${dir}/ext.cnf`,
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n" +
          "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
      );
      await openssl([
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
      ], dir);
      return {
        ca: await Deno.readTextFile(`${dir}/ca.pem`),
        cert: await Deno.readTextFile(`${dir}/server.pem`),
        key: await Deno.readTextFile(`${dir}/server.key`),
      };
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
  return pki;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Rejects when `p` does not settle within `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Reads `n` values from a stream. */
export async function take<T>(stream: ReadableStream<T>, n: number, ms = 5000): Promise<T[]> {
  const reader = stream.getReader();
  const out: T[] = [];
  try {
    while (out.length < n) {
      const r = await within(reader.read(), ms, `Reading value ${out.length + 1} of ${n}`);
      if (r.done) break;
      out.push(r.value);
    }
  } finally {
    reader.releaseLock();
  }
  return out;
}

/** Hex string (spaces ignored) to bytes. */
export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Bytes to a hex string. */
export function toHex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

/** UTF-8 bytes of a string. */
export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
