/**
 * The world of the privileged tests: everything of tools/lib/world.ts (the
 * netns world of docs/network.md's worked examples, the pods' macvlan NICs, the coordinator config the
 * tests start from), plus {@linkcode worldTest}, a test in a fresh world.
 *
 * @example
 * ```ts ignore
 * await using world = await createWorld();
 * const pod = await world.addPod();
 * await world.addServiceAddress("10.233.0.10/32");
 * ```
 *
 * @module
 */

import { createWorld, type World, type WorldOptions } from "../../tools/lib/world.ts";
import { testNamer } from "./netns.ts";

export * from "../../tools/lib/world.ts";

/**
 * A privileged test in a fresh world, deleted afterwards; ignored (with the
 * reason in its name) when `skip` is set.
 *
 * @param skip the reason to ignore the test, if any
 * @param title the test's name
 * @param fn the test, given the world
 * @param opts options of the world
 */
export function worldTest(
  skip: string | undefined,
  title: string,
  fn: (w: World) => Promise<void>,
  opts: WorldOptions = {},
): void {
  Deno.test({
    name: testNamer(skip)(title),
    ignore: skip !== undefined,
    async fn() {
      await using w = await createWorld(opts);
      await fn(w);
    },
  });
}
