/**
 * ZeroMQ plumbing shared by the PostTroll clients: receives raced against an
 * `AbortSignal` (zeromq's `receiveTimeout` crashes Deno 2.9.6), a request
 * with a timeout, a serialised sender, and closing: waiting until libzmq
 * destroyed a socket, reading socket events safely, and leaving zeromq alone
 * once the isolate unloads. Socket options and CURVE are in
 * `socket_security.ts`.
 *
 * @module
 */

import * as zmq from "zeromq";
import { setImmediate } from "node:timers";
import { delay, withDeadline } from "../core/async.ts";
import { ConnectionError, TimeoutError } from "../core/errors.ts";

let unloadingNow = false;
// `deno test` (Deno 2.9.2 and later, denoland/deno#35695) frees every zeromq object when a test file ends, those
// still in use too, and then runs the callbacks that are due once more: a receive loop, a timer or a promise
// settled by a zeromq destructor that touches a socket then reads freed memory and the process dies of SIGSEGV.
// The `unload` event comes just before: from then on PostTroll leaves zeromq alone.
globalThis.addEventListener?.("unload", () => {
  unloadingNow = true;
});

/**
 * Whether the isolate is unloading (the `unload` event fired). Deno then
 * frees every zeromq object, in use or not, so nothing may call zeromq any
 * more: not even `close()` or `closed`.
 *
 * @returns True once the `unload` event fired.
 */
export function unloading(): boolean {
  return unloadingNow;
}

/** The error of an operation refused because the isolate is unloading. */
function unloadingError(what: string): ConnectionError {
  return new ConnectionError(`${what} failed: the process is exiting`);
}

/** The longest pause between two readability checks of an idle socket, in ms. */
const MAX_POLL_DELAY = 4;
/** How long a wait spins on `setImmediate` before it sleeps on timers, in ms. */
const SPIN_MS = 2;

/**
 * Receives the next message, or rejects with the signal's reason when it is
 * aborted first. Under Deno 2.9.6 a `receive()` left pending on an empty
 * socket is not always woken when a message arrives (and `receiveTimeout`
 * crashes the process), so this never leaves one pending: it checks
 * `socket.readable` yielding with `setImmediate` for 2 ms, then sleeping 1
 * to 4 ms between checks, and calls `receive()` only when a message is there,
 * which then completes at once.
 *
 * The cause: Deno's `uv_poll_start` shim stops watching after its first
 * callback (denoland/deno#36317), while zeromq.js starts the poll once per
 * waiting operation and expects further callbacks after a spurious one (the
 * ZeroMQ descriptor signals any event, not only an incoming message). A
 * REQ waiting for its reply in the same process as the REP that answers
 * hangs every time. Once Deno polls as libuv does, a pending `receive()`
 * raced against the signal can replace this loop.
 *
 * @param socket The socket.
 * @param signal Aborts the wait.
 * @returns The frames.
 */
export async function receive(socket: zmq.Readable & zmq.Socket, signal: AbortSignal): Promise<Buffer[]> {
  const spinUntil = performance.now() + SPIN_MS;
  let polls = 0;
  for (;;) {
    signal.throwIfAborted();
    if (unloadingNow) throw unloadingError("Receiving");
    if (socket.closed) throw new ConnectionError("Receiving failed: the socket is closed");
    if (socket.readable) return await socket.receive();
    if (performance.now() < spinUntil) {
      // A stream rarely pauses long: yield to the event loop without a timer's delay.
      await new Promise<void>((resolve) => setImmediate(resolve));
      continue;
    }
    await delay(Math.min(2 ** polls++, MAX_POLL_DELAY), signal);
  }
}

/**
 * Receives messages one after another ({@linkcode receive}) and hands each
 * message's frames to `onFrames`, waiting for it before the next receive,
 * until the signal aborts, a receive fails (the socket closed), or
 * `onFrames` returns `false`. The request loops of the nameserver, the ZAP
 * handler and the address listener are this loop.
 *
 * @param socket The socket.
 * @param signal Ends the loop.
 * @param onFrames Handles one message; `false` stops the loop.
 * @returns A promise that resolves when the loop ended (it never rejects unless `onFrames` throws).
 */
export async function receiveEach(
  socket: zmq.Readable & zmq.Socket,
  signal: AbortSignal,
  onFrames: (frames: Buffer[]) => Promise<boolean | void> | boolean | void,
): Promise<void> {
  while (!signal.aborted) {
    let frames: Buffer[];
    try {
      frames = await receive(socket, signal);
    } catch {
      return;
    }
    if ((await onFrames(frames)) === false) return;
  }
}

/**
 * How long closing a socket waits for libzmq to report it destroyed, in ms,
 * before it stops waiting (see {@linkcode closeSocket}). libzmq does it
 * within milliseconds (every socket has linger 0); the bound only matters
 * if Deno misses the observer's wake-up (denoland/deno#36317).
 */
const CLOSE_WAIT_MS = 2000;

/**
 * Reads a socket's events (libzmq's monitor, zeromq's `Observer`) until the
 * monitor stops, handing each to `onEvent`. libzmq stops it, with a last
 * `"end"` event, when it destroys the closed socket, after its listeners
 * closed their ports; zeromq then closes the observer itself.
 *
 * Two rules keep libzmq and the process whole:
 * - The observer is never closed while its socket lives: libzmq sends each
 *   event with a blocking send, and with the observer gone the send waits
 *   forever, in libzmq's I/O or reaper thread, which then serves no other
 *   socket of the process (a closed publisher never releases its port).
 * - After a failed receive the observer is not touched again, not even
 *   `closed` (as zeromq's own async iterator does): an observer still
 *   receiving when Deno tears the isolate down (at exit, after the last
 *   test of a `deno test` file) is freed by its finaliser, which rejects
 *   that receive, and any later call on it crashes the process (SIGSEGV).
 *
 * @param events The socket's observer (`socket.events`, taken before the socket is closed).
 * @param onEvent Called with each event but the last.
 * @returns A promise that resolves when the monitor stopped or the observer failed.
 */
export async function followEvents(events: zmq.Observer, onEvent: (event: zmq.Event) => void): Promise<void> {
  for (;;) {
    let event: zmq.Event;
    try {
      event = await events.receive();
    } catch {
      return;
    }
    if (event.type === "end" || unloadingNow) return;
    onEvent(event);
  }
}

/**
 * Waits for a promise to settle, at most `ms` milliseconds.
 *
 * @param promise What to wait for.
 * @param ms The longest wait.
 * @returns Whether it settled in time.
 */
async function settleWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return await withDeadline(ms, promise.then(() => true, () => true)).catch(() => false);
}

/**
 * Closes a socket and waits until libzmq destroyed it, so its ports are free
 * when this resolves: `socket.close()` only hands the socket to libzmq's
 * reaper thread, and a socket bound again to the same port a moment later
 * may fail with "Address already in use". The wait follows the socket's
 * events to their `"end"` ({@linkcode followEvents}), for at most
 * {@linkcode CLOSE_WAIT_MS}.
 *
 * @param socket The socket; nothing happens if it is closed already, or
 *   once the isolate is unloading ({@linkcode unloading}).
 * @param watching A {@linkcode followEvents} already reading this socket's
 *   events, to wait for instead of starting one.
 * @returns Whether libzmq reported the socket destroyed in time.
 */
export async function closeSocket(socket: zmq.Socket, watching?: Promise<void>): Promise<boolean> {
  if (unloadingNow) return false; // Deno frees it (see `unloading`)
  if (socket.closed) return true;
  const ended = watching ?? followEvents(socket.events, () => {});
  socket.close();
  return await settleWithin(ended, CLOSE_WAIT_MS);
}

/**
 * One request and its reply on a fresh REQ socket, with a timeout; the
 * socket is always closed afterwards.
 *
 * @param url Where to connect.
 * @param frame The request.
 * @param options The socket options.
 * @param timeoutMs How long to wait for the reply.
 * @param signal Aborts the wait.
 * @returns The first frame of the reply.
 * @throws {TimeoutError} When no reply came in time.
 */
export async function request(
  url: string,
  frame: string,
  options: Record<string, string | number | boolean>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  if (unloadingNow) throw unloadingError(`Requesting from ${url}`);
  const socket = new zmq.Request(options);
  const timeout = AbortSignal.timeout(timeoutMs);
  const stop = signal === undefined ? timeout : AbortSignal.any([timeout, signal]);
  try {
    socket.connect(url);
    await socket.send(frame);
    const [reply] = await receive(socket, stop);
    return reply ?? new Uint8Array(0);
  } catch (err) {
    if (timeout.aborted && (signal === undefined || !signal.aborted)) {
      throw new TimeoutError(`Waiting for a reply from ${url} timed out after ${timeoutMs} ms`, {
        timeoutMs,
        cause: err,
      });
    }
    throw err;
  } finally {
    if (!unloadingNow) socket.close();
  }
}

/** What {@linkcode SerialSender} sends on: a socket, or a function sending on one. */
export interface FrameSink {
  /** Sends one frame; resolves once zeromq took it. */
  send(frame: string | Uint8Array): Promise<void>;
}

/**
 * Sends frames on one socket one at a time (zeromq allows a single send in
 * progress), in the order given.
 */
export class SerialSender {
  readonly #socket: FrameSink;
  #tail: Promise<void> = Promise.resolve();
  #queued = 0;

  /** @param socket The socket to send on (or anything that sends on one). */
  constructor(socket: FrameSink) {
    this.#socket = socket;
  }

  /**
   * Sends one frame.
   *
   * @param frame The frame.
   * @returns A promise that resolves when zeromq took it.
   */
  send(frame: string | Uint8Array): Promise<void> {
    this.#queued++;
    const p = this.#queued === 1 ? this.#sendNow(frame) : this.#tail.then(() => this.#sendNow(frame));
    // One derived promise per send: it settles (never rejects) once the send did, and keeps the order.
    this.#tail = p.then(this.#done, this.#done);
    return p;
  }

  #sendNow(frame: string | Uint8Array): Promise<void> {
    return unloadingNow ? Promise.reject(unloadingError("Sending")) : this.#socket.send(frame);
  }

  readonly #done = (): void => {
    this.#queued--;
  };

  /** @returns A promise that resolves when every send so far is done. */
  idle(): Promise<void> {
    return this.#tail;
  }
}
