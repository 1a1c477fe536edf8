/**
 * Starts a real `nats-server` cluster (JetStream clustered, on loopback) for
 * tests that need replicated streams, node failures and client failover.
 *
 * @module
 */

import { delay } from "../../core/async.ts";
import { natsServerPath } from "./server.ts";
import { freePorts, readLog, waitServerReady } from "./server_ready.ts";
import { stopProcess } from "./stop_process.ts";

/** Options of {@linkcode NatsCluster.start}. */
export interface NatsClusterOptions {
  /** How many nodes. Default 3 (what an R3 stream needs). */
  nodes?: number | undefined;
  /** The cluster's name. Default `"x-pubsub-test"`. */
  name?: string | undefined;
}

/** One node of a {@linkcode NatsCluster}. */
export interface NatsClusterNode {
  /** Its `server_name` (`n1`, `n2`, ...): what JetStream reports as leader or peer. */
  readonly name: string;
  /** The client URL, `nats://127.0.0.1:<port>`. */
  readonly url: string;
  /** The client port. */
  readonly port: number;
  /** The route port other nodes connect to. */
  readonly clusterPort: number;
  /** The HTTP monitoring URL (`/varz`, `/jsz`, `/routez`). */
  readonly monitorUrl: string;
  /** Whether its process runs. */
  readonly running: boolean;
}

interface NodeState {
  name: string;
  url: string;
  port: number;
  clusterPort: number;
  monitorPort: number;
  monitorUrl: string;
  dir: string;
  configFile: string;
  logFile: string;
  child: Deno.ChildProcess | undefined;
  exited: Promise<Deno.CommandStatus> | undefined;
  running: boolean;
}

const READY_MS = 20_000;

/**
 * A `nats-server` cluster on loopback: every node a separate process with
 * its own client, route and monitoring ports, JetStream clustered (so streams
 * can have 3 replicas), configuration, log and store in one temp dir removed
 * by `stop()`. Nodes can be stopped (SIGTERM, or killed) and started again on
 * the same ports with the same store, to test failover.
 *
 * @example
 * ```ts ignore
 * import { NatsCluster } from "@x/pubsub/testing/nats";
 * import { NatsPubSub } from "@x/pubsub/nats/tcp";
 *
 * await using cluster = await NatsCluster.start(); // 3 nodes, JetStream ready
 * const ps = await NatsPubSub.connect({ servers: cluster.urls, jetstream: true });
 * const jsm = await ps.jetstreamManager();
 * await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"], num_replicas: 3 });
 * await cluster.stopNode(0); // the stream keeps its quorum
 * await ps.publish("orders.1", "kettle");
 * await ps.close();
 * ```
 */
export class NatsCluster {
  /** The cluster's name. */
  readonly name: string;
  readonly #exe: string;
  readonly #dir: string;
  readonly #nodes: NodeState[];
  #stopped = false;

  private constructor(name: string, exe: string, dir: string, nodes: NodeState[]) {
    this.name = name;
    this.#exe = exe;
    this.#dir = dir;
    this.#nodes = nodes;
  }

  /**
   * Starts every node and waits until each accepts clients and JetStream has
   * elected its meta leader.
   *
   * @param options Number of nodes, cluster name.
   * @returns The running cluster.
   * @throws {Error} When nats-server is missing, a node exits, or the cluster is not ready within 20 s.
   * @throws {RangeError} When `nodes` is not an integer from 1 to 9.
   */
  static async start(options: NatsClusterOptions = {}): Promise<NatsCluster> {
    const exe = natsServerPath();
    if (exe === undefined) throw new Error("Starting a nats-server cluster failed: nats-server is not installed");
    const n = options.nodes ?? 3;
    if (!Number.isInteger(n) || n < 1 || n > 9) {
      throw new RangeError(`Starting a nats-server cluster failed: nodes ${n} is not an integer from 1 to 9`);
    }
    const name = options.name ?? "x-pubsub-test";
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const dir = await Deno.makeTempDir({ prefix: "x-pubsub-cluster-" });
      const ports = freePorts(3 * n);
      const nodes: NodeState[] = [];
      for (let i = 0; i < n; i++) {
        const [port, clusterPort, monitorPort] = ports.slice(3 * i, 3 * i + 3) as [number, number, number];
        const nodeDir = `${dir}/n${i + 1}`;
        nodes.push({
          name: `n${i + 1}`,
          url: `nats://127.0.0.1:${port}`,
          port,
          clusterPort,
          monitorPort,
          monitorUrl: `http://127.0.0.1:${monitorPort}`,
          dir: nodeDir,
          configFile: `${nodeDir}/nats-server.conf`,
          logFile: `${nodeDir}/nats-server.log`,
          child: undefined,
          exited: undefined,
          running: false,
        });
      }
      for (const node of nodes) {
        await Deno.mkdir(node.dir, { recursive: true });
        const routes = nodes.filter((o) => o !== node).map((o) => `"nats-route://127.0.0.1:${o.clusterPort}"`);
        await Deno.writeTextFile(
          node.configFile,
          [
            `server_name: "${node.name}"`,
            `listen: "127.0.0.1:${node.port}"`,
            `http: "127.0.0.1:${node.monitorPort}"`,
            `log_file: ${JSON.stringify(node.logFile)}`,
            `jetstream: { store_dir: ${JSON.stringify(`${node.dir}/jetstream`)} }`,
            `cluster: {`,
            `  name: ${JSON.stringify(name)}`,
            `  listen: "127.0.0.1:${node.clusterPort}"`,
            `  routes: [${routes.join(", ")}]`,
            `}`,
          ].join("\n") + "\n",
        );
      }
      const cluster = new NatsCluster(name, exe, dir, nodes);
      try {
        for (const node of nodes) cluster.#spawn(node);
        await Promise.all(nodes.map((node) => cluster.#waitReady(node)));
        await cluster.waitForJetStream();
        return cluster;
      } catch (err) {
        // A port taken between choosing and binding it, or a node too slow on a loaded machine: start again.
        lastError = err;
        await cluster.stop();
      }
    }
    throw lastError;
  }

  /** The nodes, in order. */
  get nodes(): readonly NatsClusterNode[] {
    return this.#nodes.map((n) => ({
      name: n.name,
      url: n.url,
      port: n.port,
      clusterPort: n.clusterPort,
      monitorUrl: n.monitorUrl,
      running: n.running,
    }));
  }

  /** The client URLs of every node (running or not): what clients list as `servers`. */
  get urls(): string[] {
    return this.#nodes.map((n) => n.url);
  }

  #node(index: number): NodeState {
    const node = this.#nodes[index];
    if (node === undefined) {
      throw new RangeError(`The cluster has no node ${index} (it has ${this.#nodes.length}, from 0)`);
    }
    return node;
  }

  #spawn(node: NodeState): void {
    const child = new Deno.Command(this.#exe, {
      args: ["-c", node.configFile],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    node.child = child;
    node.exited = child.status;
    node.running = true;
    void child.status.then(() => {
      if (node.child === child) node.running = false;
    });
  }

  async #waitReady(node: NodeState): Promise<void> {
    const logStart = (await readLog(node.logFile)).length;
    await waitServerReady({
      name: `nats-server ${node.name}`,
      logFile: node.logFile,
      logStart,
      ports: [node.port],
      timeoutMs: READY_MS,
      exited: async () =>
        node.running ? undefined : `: ${(await readLog(node.logFile)).slice(logStart).trim().slice(-800)}`,
    });
  }

  /**
   * Waits until every running node reports the same JetStream meta leader
   * (the cluster can create streams and elect their leaders).
   *
   * @param ms How long to wait.
   * @returns The meta leader's name.
   * @throws {Error} When no leader is agreed within `ms`.
   */
  async waitForJetStream(ms: number = READY_MS): Promise<string> {
    const deadline = Date.now() + ms;
    while (true) {
      const leaders = await Promise.all(
        this.#nodes.filter((n) => n.running).map(async (n) => {
          try {
            const res = await fetch(`${n.monitorUrl}/jsz`);
            const body = await res.json() as { meta_cluster?: { leader?: string } };
            return body.meta_cluster?.leader ?? "";
          } catch {
            return "";
          }
        }),
      );
      const first = leaders[0] ?? "";
      if (first !== "" && leaders.every((l) => l === first)) return first;
      if (Date.now() > deadline) {
        throw new Error(`Waiting for the JetStream meta leader failed: none agreed within ${ms} ms (${leaders})`);
      }
      await delay(50);
    }
  }

  /**
   * Stops one node: SIGTERM (a clean shutdown), or SIGKILL with `kill`.
   * Its ports, config and store stay for {@linkcode NatsCluster.startNode}.
   *
   * @param index The node, from 0.
   * @param options `kill: true` for SIGKILL.
   * @returns When the process has exited.
   * @throws {RangeError} When there is no such node.
   */
  async stopNode(index: number, options: { kill?: boolean } = {}): Promise<void> {
    const node = this.#node(index);
    const child = node.child;
    const exited = node.exited;
    node.child = undefined;
    node.exited = undefined;
    node.running = false;
    if (child === undefined || exited === undefined) return;
    await stopProcess(child, exited, options.kill === true ? "SIGKILL" : "SIGTERM");
  }

  /**
   * Starts a stopped node again, on its ports with its store, and waits until
   * it accepts clients.
   *
   * @param index The node, from 0.
   * @returns When it is ready.
   * @throws {Error} When the cluster was stopped or the node does not come back.
   * @throws {RangeError} When there is no such node.
   */
  async startNode(index: number): Promise<void> {
    if (this.#stopped) throw new Error("Starting a node failed: the cluster was stopped");
    const node = this.#node(index);
    if (node.running) return;
    let lastError: unknown;
    for (let attempt = 0; attempt < 20; attempt++) {
      this.#spawn(node);
      try {
        await this.#waitReady(node);
        return;
      } catch (err) {
        lastError = err;
        await this.stopNode(index, { kill: true });
        await delay(100);
      }
    }
    throw lastError;
  }

  /**
   * Stops every node and removes the temp dir (configs, logs, stores).
   *
   * @returns When everything is released.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#nodes.map((_, i) => this.stopNode(i)));
    try {
      await Deno.remove(this.#dir, { recursive: true });
    } catch { /* already removed */ }
  }

  /** Calls {@linkcode NatsCluster.stop}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
