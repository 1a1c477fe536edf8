/**
 * A throwaway test PKI made with `openssl` at run time: X.509 v3 certificates
 * (Deno rejects v1) for a CA, a loopback server and MDB client users.
 *
 * @module
 */

/** The files and PEM texts of a {@linkcode createTestPki} run. */
export interface TestPki {
  /** The temp directory holding every file. */
  readonly dir: string;
  /** The CA certificate (PEM) that signed the server and the client. */
  readonly caCert: string;
  /** Its path. */
  readonly caCertPath: string;
  /** The server certificate for `127.0.0.1` and `localhost` (PEM). */
  readonly serverCert: string;
  /** The server key (PEM). */
  readonly serverKey: string;
  /** The client certificate of the user `clientCn` (PEM). */
  readonly clientCert: string;
  /** The client key (PEM). */
  readonly clientKey: string;
  /** The client certificate's path. */
  readonly clientCertPath: string;
  /** The client key's path. */
  readonly clientKeyPath: string;
  /** The user's CN. */
  readonly clientCn: string;
  /** A second, unrelated CA (PEM): trusting it instead of `caCert` must fail. */
  readonly otherCaCert: string;
  /** Its path. */
  readonly otherCaCertPath: string;
  /** A server certificate for `127.0.0.1` signed by the other CA (PEM): a server clients must not trust. */
  readonly otherServerCert: string;
  /** Its key (PEM). */
  readonly otherServerKey: string;
  /** A client certificate for `clientCn` signed by the other CA (path). */
  readonly foreignClientCertPath: string;
  /** Its key (path). */
  readonly foreignClientKeyPath: string;
  /**
   * Issues another client certificate signed by the CA.
   *
   * @param cn The user's CN.
   * @returns The paths of the certificate and its key.
   */
  issueClient(cn: string): Promise<{ certPath: string; keyPath: string }>;
  /** Removes the directory. */
  remove(): Promise<void>;
}

async function openssl(args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`Running openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl([
    "req",
    "-x509",
    ...EC,
    "-keyout",
    `${dir}/${name}.key`,
    "-out",
    `${dir}/${name}.crt`,
    "-subj",
    `/CN=${name} test CA`,
    "-days",
    "2",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
}

async function issue(dir: string, ca: string, name: string, subject: string, ext: string): Promise<void> {
  await openssl([
    "req",
    "-new",
    ...EC,
    "-keyout",
    `${dir}/${name}.key`,
    "-out",
    `${dir}/${name}.csr`,
    "-subj",
    subject,
  ]);
  await Deno.writeTextFile(`${dir}/${name}.ext`, ext);
  await openssl([
    "x509",
    "-req",
    "-in",
    `${dir}/${name}.csr`,
    "-CA",
    `${dir}/${ca}.crt`,
    "-CAkey",
    `${dir}/${ca}.key`,
    "-set_serial",
    String(Math.floor(Math.random() * 2 ** 48)),
    "-out",
    `${dir}/${name}.crt`,
    "-days",
    "2",
    "-extfile",
    `${dir}/${name}.ext`,
  ]);
}

const CLIENT_EXT = "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n";

/**
 * Makes a fresh PKI in a temp directory with `openssl` (which must be on
 * PATH): a CA, a server certificate for 127.0.0.1, a client certificate for
 * `clientCn`, and a second CA with its own client and server certificates
 * for negative tests. Nothing is reused between runs.
 *
 * @example
 * ```ts ignore
 * import { createTestPki } from "@x/pubsub/testing/mdb";
 *
 * const pki = await createTestPki("alice");
 * console.log(pki.clientCertPath);
 * await pki.remove();
 * ```
 *
 * @param clientCn The CN of the client certificate. Default `"alice"`.
 * @returns The PKI.
 * @throws {Error} When openssl is missing or fails.
 */
export async function createTestPki(clientCn = "alice"): Promise<TestPki> {
  if (!/^[A-Za-z0-9 _.@-]+$/.test(clientCn)) {
    throw new TypeError(`Creating a test PKI failed: the CN ${JSON.stringify(clientCn)} has unsupported characters`);
  }
  const dir = await Deno.makeTempDir({ prefix: "mdb-pki-" });
  try {
    await Promise.all([makeCa(dir, "ca"), makeCa(dir, "other")]);
    const serverExt = "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n" +
      "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
    await Promise.all([
      issue(dir, "ca", "server", "/CN=127.0.0.1", serverExt),
      issue(dir, "other", "otherserver", "/CN=127.0.0.1", serverExt),
      issue(dir, "ca", "client", `/CN=${clientCn}`, CLIENT_EXT),
      issue(dir, "other", "foreign", `/CN=${clientCn}`, CLIENT_EXT),
    ]);
  } catch (err) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
  const read = (f: string) => Deno.readTextFile(`${dir}/${f}`);
  const [caCert, serverCert, serverKey, clientCert, clientKey, otherCaCert, otherServerCert, otherServerKey] =
    await Promise.all([
      read("ca.crt"),
      read("server.crt"),
      read("server.key"),
      read("client.crt"),
      read("client.key"),
      read("other.crt"),
      read("otherserver.crt"),
      read("otherserver.key"),
    ]);
  let n = 0;
  return {
    dir,
    caCert,
    caCertPath: `${dir}/ca.crt`,
    serverCert,
    serverKey,
    clientCert,
    clientKey,
    clientCertPath: `${dir}/client.crt`,
    clientKeyPath: `${dir}/client.key`,
    clientCn,
    otherCaCert,
    otherCaCertPath: `${dir}/other.crt`,
    otherServerCert,
    otherServerKey,
    foreignClientCertPath: `${dir}/foreign.crt`,
    foreignClientKeyPath: `${dir}/foreign.key`,
    async issueClient(cn: string) {
      if (!/^[A-Za-z0-9 _.@-]+$/.test(cn)) {
        throw new TypeError(`Issuing a client certificate failed: the CN ${JSON.stringify(cn)} is unsupported`);
      }
      const name = `client${++n}`;
      await issue(dir, "ca", name, `/CN=${cn}`, CLIENT_EXT);
      return { certPath: `${dir}/${name}.crt`, keyPath: `${dir}/${name}.key` };
    },
    async remove() {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
