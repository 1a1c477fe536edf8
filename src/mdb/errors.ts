/**
 * The error of a dataset that does not exist.
 *
 * @module
 */

import { PubSubError } from "../core/errors.ts";

/**
 * The dataset does not exist: the registry does not know it, or no stream
 * holds its subject.
 *
 * @example
 * ```ts
 * import { UnknownDatasetError } from "@x/pubsub/mdb";
 *
 * const err = new UnknownDatasetError("Subscribing to dataset nope failed: unknown", { dataset: "nope" });
 * console.log(err.dataset); // nope
 * ```
 */
export class UnknownDatasetError extends PubSubError {
  /** Always `"UnknownDatasetError"`. */
  override name: string = "UnknownDatasetError";
  /** The dataset asked for. */
  readonly dataset: string;

  /**
   * Creates the error.
   *
   * @param message What went wrong.
   * @param options The dataset and the cause.
   */
  constructor(message: string, options: { dataset: string; cause?: unknown }) {
    super(message, options);
    this.dataset = options.dataset;
  }
}
