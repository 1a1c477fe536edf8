/**
 * Test helpers for MDB: {@linkcode FakeMas} (config, mTLS gateway, registry
 * and MAS on one loopback HTTPS server), {@linkcode createTestPki} (an X.509
 * v3 PKI made with openssl at run time) and {@linkcode MdbTestBed} (those plus
 * a real nats-server in operator mode and an admin connection).
 *
 * @example
 * ```ts ignore
 * import { MdbTestBed } from "@x/pubsub/testing/mdb";
 *
 * const bed = await MdbTestBed.start();
 * await bed.createDataset("demo");
 * const conn = await bed.connect();
 * const sub = await conn.subscribe("demo");
 * await bed.publish("demo", "hello");
 * for await (const msg of sub) { console.log(msg.text()); break; }
 * await conn.close();
 * await bed.stop();
 * ```
 *
 * @module
 */

export {
  FakeMas,
  type FakeMasCall,
  type FakeMasFailures,
  type FakeMasOptions,
  type FakeMasPeer,
  type MintRequest,
} from "./fake_mas.ts";
export { createTestPki, type TestPki } from "./pki.ts";
export { type ConsumerState, MdbTestBed, type MdbTestBedOptions, type Sniffer } from "./test_bed.ts";
export type { MintUserOptions, NatsServer, NatsServerOptions } from "../nats/mod.ts";
export type { PublishReceipt } from "../../core/pubsub.ts";
