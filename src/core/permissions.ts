/**
 * Asking the runtime about permissions without ever prompting.
 *
 * @module
 */

/**
 * Whether this process may use a resource without being asked for it: under
 * Deno, only when the permission is already granted (`querySync` never
 * prompts); in runtimes without permissions (Node, browsers), always.
 *
 * @param descriptor What to use, e.g. `{ name: "read", path }`.
 * @returns Whether to go ahead.
 */
export function grantedWithoutPrompt(descriptor: Deno.PermissionDescriptor): boolean {
  if (typeof Deno === "undefined") return true;
  try {
    return Deno.permissions?.querySync?.(descriptor).state === "granted";
  } catch {
    return false;
  }
}
