/**
 * The `--help` texts of `pubsub fake` and its systems.
 *
 * @module
 */

const SHARED = `Shared options:
      --port N          the port to listen on (default 0: a free one)
      --admin-port N    the admin endpoint's port on 127.0.0.1 (default a free one)
      --log             print each request or frame the fake sees, one JSON object per line on stdout
  -q, --quiet           do not print the "listening" line on stderr
  -h, --help            show this text`;

const READY = `Once listening it prints one JSON line on stdout: "fake", "url" (for the pubsub program and
open()), the addresses and the credentials in force, and "admin", the base URL of the admin
endpoint (loopback only). It runs until SIGINT or SIGTERM, then stops everything it started
and exits 0.`;

const ADMIN = `Admin endpoint (JSON in and out): GET / (the ready line), GET /<list>, POST /<action>.`;

/** The help texts, by system (`main` for `pubsub fake --help`). */
export const FAKE_HELP: Readonly<Record<"main" | "messagebus" | "streamsea" | "httppubsub" | "mdb", string>> = {
  main: `Usage: pubsub fake <system> [options]

Runs a system's fake server from @x/pubsub/testing as a standalone dev server, so tests in any
language can connect to it:
  streamsea     stream-sea 4.x: HTTP API and WebSocket, Basic and JWT auth, jails, schemas
  messagebus    jetblack-messagebus: TCP or TLS, users or JWT, roles, authorizers, v3/v4 credentials
  httppubsub    a lonelypss broadcaster: HTTP and WebSocket subscribers, none/token/hmac auth
  mdb           Autobahn MDB: config, mTLS gateway, registry and MAS next to a real nats-server

${READY}

${ADMIN}

Run "pubsub fake <system> --help" for a system's options. See docs/testing.md.
`,

  messagebus: `Usage: pubsub fake messagebus [options]

A jetblack-messagebus server (FakeMessageBus) on TCP or TLS.

Options:
      --host ADDR       the address to listen on (default 127.0.0.1)
  -u, --users N:P,...   password users (repeatable): name:password pairs
      --jwt-secret S    JWT authentication instead: HMAC tokens with this secret, "exp" required, user = "sub"
      --dialect D       credentials as v3 (separate strings, Python client 3.0.1; default) or v4 (a connection string)
      --image-field F   bool (default) or contentType (server 6.x)
      --tls-cert FILE   serve TLS with this PEM certificate chain ...
      --tls-key FILE    ... and this PEM key
      --publishers FEED=u1,u2     only these users may publish on FEED (repeatable)
      --subscribers FEED=u1,u2    only these users may subscribe on FEED (repeatable)
      --authorizers FEED=u1,u2    these users answer authorization requests for FEED (repeatable)
      --require-authorization FEED  subscriptions to FEED need an authorizer's answer ("*": every feed)
      --heartbeat MS    send __admin__/heartbeat this often
      --on-auth-failure stall|close   after refused credentials: stop reading (default, as the server) or close
      --host-name NAME  the host name the fake reports for its clients
${SHARED}

${READY}

${ADMIN}
  GET  /clients         [{id, user, host}]
  GET  /subscriptions   [{clientId, user, feed, topic, refCount}]
  POST /publish         {feed, topic, data | base64 | json, entitlements?, isImage?, contentType?, user?}
                        or {feed, topic, packets: [{data | base64 | json, entitlements?}]}  → {sent}
  POST /kill            {client?}: drop one client's connection, or all → {killed}
  POST /restart         close everything and listen again on the same port → {restarted, port}

Example:
  pubsub fake messagebus --users alice:pw --port 9091
`,

  streamsea: `Usage: pubsub fake streamsea [options]

A stream-sea 4.x server (FakeStreamSea): the HTTP API and the WebSocket protocol on one port.

Options:
      --host ADDR       the address to listen on (default 127.0.0.1)
  -c, --client ID:SECRET[@JAIL]   a client account (repeatable; default abc:def123@some_jail)
      --jwt-key ID=FILE           the RSA public key (PEM) that verifies client ID's JWTs (repeatable)
      --ping-interval S           seconds between server pings (default 30)
      --reply-action A            subscription (default, as real servers) or subscribe
      --default-group G           per-client (default) or broadcast: subscriptions without groupId
      --batch-delivery B          whole (default) or split: how a batch publish is delivered
      --must-fanout M             reject (default) or force: a mustFanout JWT without groupId
      --require-schema            refuse publish and subscribe on streams without a schema
      --max-body BYTES            the largest request body (default 8 MiB)
${SHARED}

${READY}

${ADMIN}
  GET  /clients         [{connection, clientId, jailId, subscriptions}]
  GET  /subscriptions   [{stream, id, groupId, clientId, connection}]
  GET  /streams         [{jailId, stream, version, subscriptions}]
  GET  /schemas         [{jailId, name, version, fields}]
  GET  /settings        the behaviour switches
  POST /publish         {stream, payload, jail?} → {delivered}
  POST /kill            {code?}: close every WebSocket (default code 1012) → {killed}
  POST /restart         close the WebSockets, stop and listen again on the same port (schemas kept)
  POST /settings        {refuseAuth?, replyDelayMs?, killAfterMessages?, killAfterMs?, ...} → the switches

Example:
  pubsub fake streamsea --client abc:def123 --port 8080
`,

  httppubsub: `Usage: pubsub fake httppubsub [options]

A lonelypss broadcaster (FakeBroadcaster): HTTP subscribers (webhooks) and WebSocket subscribers.

Options:
      --host ADDR            the address to listen on (default 127.0.0.1)
      --to-broadcaster AUTH  none (default), token or hmac: what subscribers and notifiers sign
      --to-subscriber AUTH   none (default), token or hmac: what the broadcaster signs
      --secrets FILE         a secrets file (version 2, as lonelypss --setup writes it): read when it
                             exists, else written with fresh secrets for the schemes asked for.
                             Without it, fresh secrets go to a temp file, removed on exit
      --receive-timeout MS   how long a subscriber may take to confirm a delivery (default 5000)
      --missed-delay MS      delay before a missed notice (default 0)
      --missed-burst N       missed notices per failure (default 1)
      --max-message BYTES    the largest notify (default 64 MiB)
${SHARED}

${READY}

${ADMIN}
  GET  /clients         [{transport: "http", url, subscriptions} | {transport: "websocket", peer, subscriptions}]
  GET  /subscriptions   [{transport, url? | peer?, kind, key, recovery?}]
  GET  /stats           the broadcaster's counters
  POST /publish         {topic, data | base64 | json} → {notified}
  POST /kill            close every WebSocket subscriber → {killed}
  POST /restart         close the WebSockets, stop and listen again on the same port (subscriptions kept)
  POST /fail-next       {statuses: [503, ...]}: answer the next requests with these statuses

Example:
  pubsub fake httppubsub --to-broadcaster hmac --to-subscriber hmac --secrets ./secrets.json
`,

  mdb: `Usage: pubsub fake mdb [options]

Autobahn MDB (MdbTestBed): a real nats-server (operator mode, JetStream, WebSocket) it starts,
and one HTTPS server on 127.0.0.1 playing the config endpoint, the mTLS API gateway, the dataset
registry and the MAS. Needs nats-server (PATH or /usr/sbin) and openssl.

Options:
      --port N               the HTTPS port (default a free one); nats-server takes free ports
      --cn NAME              the test user's certificate CN (default alice)
      --user NAME            issue another client certificate for NAME (repeatable)
  -d, --dataset SLUG         create a dataset (registry entry and stream) at start (repeatable)
      --auto-create          create any dataset asked for on first use
      --user-jwt-ttl S       lifetime of NATS user JWTs (default 3600)
      --gateway-jwt-ttl S    lifetime of gateway JWTs (default 3600)
      --allow-consumer-create  also allow nats.js-style CONSUMER.CREATE
      --pki-dir DIR          copy the CA and certificates there (ca.crt, cert.crt, cert.key,
                             <user>.crt, <user>.key), kept on exit; default: a temp folder, removed
${SHARED.replace(/\n\s+--port N[^\n]*/, "")}

${READY}

${ADMIN}
  GET  /datasets        the registry entries
  GET  /streams         [{name, subjects, messages, bytes, firstSeq, lastSeq, consumers}]
  GET  /subscriptions   the durable consumers: [{stream, consumer, deliveredStreamSeq, numPending, ...}]
  GET  /clients         nats-server's connections: [{cid, name, ip, port, subscriptions, admin}]
  GET  /calls           the HTTPS calls the fake answered (role, path, cn, status)
  POST /publish         {dataset, data | base64 | json, headers?} → {dataset, sequence}
  POST /datasets        {slug, ...registry fields} → {slug, subject}
  POST /kill            drop every NATS connection (nats-server 2.9 cannot kick one: it restarts)
  POST /restart         restart nats-server on the same ports with the same store
  POST /failures        {config?, gateway?, registry?, mas?}: answer that role with this status

Example:
  pubsub fake mdb --dataset weather --pki-dir ./pki
`,
};
