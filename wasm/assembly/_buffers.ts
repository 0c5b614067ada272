// The static buffers of the module. The stub runtime never frees, so nothing
// here is allocated at run time: these are fixed regions of linear memory,
// zero-initialised and not stored in the binary.

import {
  ARGS_SIZE,
  BATCH_CAPACITY,
  BATCH_ENTRY_SIZE,
  INPUT_CAPACITY,
  NUM_SIZE,
  OPTION_TABLE_CAPACITY,
  OUTPUT_CAPACITY,
  REC_SIZE,
  RES_SIZE,
} from "./_fields";

/** The frame to parse, copied in by the caller. */
export const INPUT: usize = memory.data(INPUT_CAPACITY, 16);
/** The frame a build call produced. */
export const OUTPUT: usize = memory.data(OUTPUT_CAPACITY, 16);
/** Build arguments (layout ARG_* in _fields.ts). */
export const ARGS: usize = memory.data(ARGS_SIZE, 16);
/** Parse result (layout RES_* in _fields.ts). */
export const RESULT: usize = memory.data(RES_SIZE, 16);
/** Offsets (u32, from the frame start) of each NDP option of the last parse. */
export const OPTIONS: usize = memory.data(OPTION_TABLE_CAPACITY * 4, 16);
/** ARP numbers of the last parseArp() (layout NUM_* in _fields.ts), 8-byte aligned for a Float64Array. */
export const NUMBERS: usize = memory.data(NUM_SIZE, 16);
/** The frame table of parseArpBatch (layout BATCH_* in _fields.ts), written by the caller. */
export const BATCH: usize = memory.data(BATCH_CAPACITY * BATCH_ENTRY_SIZE, 16);
/** One record per batch entry (layout REC_* in _fields.ts), written by parseArpBatch. */
export const RECORDS: usize = memory.data(BATCH_CAPACITY * REC_SIZE, 16);
