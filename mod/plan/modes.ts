/**
 * The mode table: {@linkcode ModeRules} per resolved mode. Plans and commands
 * look a mode up here instead of branching on its name.
 *
 * @module
 */

import type { ModeRules } from "./mode.ts";
import { OVERLAY } from "./overlay.ts";
import { UNDERLAY } from "./underlay.ts";

/** The rules of each mode. */
export const MODES: Readonly<Record<ModeRules["mode"], ModeRules>> = {
  underlay: UNDERLAY,
  overlay: OVERLAY,
};
