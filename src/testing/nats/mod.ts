/**
 * Test helpers for NATS: {@linkcode NatsServer} starts a real `nats-server`
 * on free loopback ports (JetStream in a temp store, WebSocket, optional
 * operator mode with generated JWTs) and stops it cleanly;
 * {@linkcode natsServerSkipReason} lets tests skip when it is not installed;
 * {@linkcode ignoreLateSocketResets} guards tests that expect a TCP
 * connection to be refused against a known Deno/nats.js issue.
 *
 * @example A test against a real server
 * ```ts ignore
 * import { NatsServer, natsServerSkipReason } from "@x/pubsub/testing/nats";
 *
 * Deno.test({ name: "my code talks to NATS", ignore: natsServerSkipReason() !== undefined }, async () => {
 *   const server = await NatsServer.start({ operator: true });
 *   try {
 *     const { jwt } = await server.mintUser({ name: "reader", bearer: true, expiresInSeconds: 60 });
 *     console.log(server.wsUrl, jwt.length > 0);
 *   } finally {
 *     await server.stop();
 *   }
 * });
 * ```
 *
 * @module
 */

export {
  type MintUserOptions,
  NatsServer,
  type NatsServerOptions,
  natsServerPath,
  natsServerSkipReason,
  type RestartOptions,
} from "./server.ts";
export { ignoreLateSocketResets, type LateResetGuard } from "./reset_guard.ts";
export { NatsCluster, type NatsClusterNode, type NatsClusterOptions } from "./cluster.ts";
