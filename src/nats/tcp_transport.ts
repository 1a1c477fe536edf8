/**
 * The NATS transport over TCP (and TLS): nats.js's transport-node
 * `NodeTransport` (Nagle off), made per dial for one connection. Loading this
 * module also lets connections nats.js opened itself redial over TCP through
 * the dispatching factory of {@linkcode connectNats}.
 *
 * @module
 */

import { nodeResolveHost, NodeTransport } from "@nats-io/transport-node/lib/node_transport.js";
import { type NatsTransport, registerTcpTransport } from "./client.ts";

/** The TCP transport: one `NodeTransport` per dial. */
export const TCP_TRANSPORT: NatsTransport = { kind: "tcp", create: () => new NodeTransport() };

registerTcpTransport(TCP_TRANSPORT, nodeResolveHost);
