/**
 * A YAML reader for what `kubectl get -o yaml` prints, and for manifests
 * written by hand in the same style: block mappings and sequences (also a
 * sequence at its key's indentation, as kubectl prints it), plain scalars
 * (also folded over several lines), single- and double-quoted scalars (with
 * escapes and folding), literal and folded block scalars (`|`, `>`, chomping
 * and indentation indicators), flow collections (`[a, b]`, `{a: b}`, `{}`),
 * comments and several documents (`---`, `...`). Anchors, aliases, tags,
 * complex keys (`? `) and directives are refused with the line, as are tab
 * indentation and duplicate keys.
 *
 * Plain scalars resolve as kubectl's YAML library (go-yaml v2, YAML 1.1
 * types) resolves them: `true`/`yes`/`on` (and `y`) are booleans, `~` and
 * `null` are null, decimal, `0x`, `0o`, `0b` and leading-`0` octal integers and
 * decimal floats are numbers; everything else (timestamps too) is a string.
 * Keys are always strings. kubectl quotes every string that would resolve
 * otherwise, so its output reads back exactly.
 *
 * One file (about 750 lines): one recursive-descent reader over one cursor,
 * whose block, scalar and flow parts call one another.
 *
 * Why not npm:yaml: the plugin runs as one bundle, and a dynamic import of
 * npm:yaml there put Node's module loader under every CNI call (+30 ms) and
 * 268 KB into the file (+4-8 ms to start even without it; measured in
 * docs/DESIGN.md). This reader is loaded only by the subcommands (`coordinator
 * defaults`, `coordinator doctor --conf`), and the tests check it against npm:yaml.
 *
 * @example
 * ```ts
 * import { parseYaml } from "./yaml.ts";
 * const [doc] = parseYaml("spec:\n  hijackCIDR:\n  - 169.254.0.0/16\n  vethMTU: 1400\n");
 * if (JSON.stringify(doc) !== '{"spec":{"hijackCIDR":["169.254.0.0/16"],"vethMTU":1400}}') {
 *   throw new Error("unexpected");
 * }
 * ```
 *
 * @module
 */

import { CniError, ErrorCode } from "../errors.ts";

/** A text that this reader cannot read as YAML, with where. */
export class YamlError extends Error {
  /** 1-based line of the problem. */
  readonly line: number;
  /** 1-based column of the problem. */
  readonly column: number;

  /**
   * @param message what is wrong
   * @param line 1-based line
   * @param column 1-based column
   */
  constructor(message: string, line: number, column: number) {
    super(`${message} (line ${line}, column ${column})`);
    this.name = "YamlError";
    this.line = line;
    this.column = column;
  }
}

const TRUE = new Set(["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"]);
const FALSE = new Set(["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"]);
const NULL = new Set(["", "~", "null", "Null", "NULL"]);

/**
 * The value of a plain (unquoted) scalar, with go-yaml v2's YAML 1.1 types.
 *
 * @param text the scalar
 * @returns null, a boolean, a number or the text
 */
export function resolvePlain(text: string): unknown {
  if (NULL.has(text)) return null;
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  const int = /^([-+]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/
    .exec(text);
  if (int !== null && !int[2]!.endsWith("_") && !/__/.test(int[2]!)) {
    const digits = int[2]!.replaceAll("_", "");
    const radix = /^0[xX]/.test(digits)
      ? 16
      : /^0[oO]/.test(digits)
      ? 8
      : /^0[bB]/.test(digits)
      ? 2
      : digits.length > 1 && digits.startsWith("0")
      ? 8
      : 10;
    const body = radix === 10 ? digits : digits.replace(/^0[xXoObB]?/, "") || "0";
    const value = parseInt(body, radix);
    return int[1] === "-" ? -value : value;
  }
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(text)) return Number(text);
  if (/^[-+]?\.(inf|Inf|INF)$/.test(text)) return text.startsWith("-") ? -Infinity : Infinity;
  if (/^\.(nan|NaN|NAN)$/.test(text)) return NaN;
  return text;
}

const ESCAPES: Readonly<Record<string, string>> = {
  "0": "\0",
  a: "\x07",
  b: "\b",
  t: "\t",
  "\t": "\t",
  n: "\n",
  v: "\v",
  f: "\f",
  r: "\r",
  e: "\x1b",
  " ": " ",
  '"': '"',
  "/": "/",
  "\\": "\\",
  N: "\x85",
  _: "\xa0",
  L: "\u2028",
  P: "\u2029",
};
const HEX_ESCAPES: Readonly<Record<string, number>> = { x: 2, u: 4, U: 8 };

/** YAML's white space is the space and the tab only (not JS's `trim()` set). */
function isWhite(text: string): boolean {
  return /^[ \t]*$/.test(text);
}

function trimWhite(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, "");
}

function isBlank(ch: string | undefined): boolean {
  return ch === undefined || ch === " " || ch === "\t" || ch === "\n";
}

/** Set a key without ever touching the prototype ("__proto__" is a key like any other). */
function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

class Reader {
  readonly #src: string;
  #pos = 0;

  constructor(src: string) {
    this.#src = src;
  }

  // --- positions ------------------------------------------------------------

  #ch(offset = 0): string | undefined {
    return this.#src[this.#pos + offset];
  }

  #lineStart(p: number = this.#pos): number {
    return this.#src.lastIndexOf("\n", p - 1) + 1;
  }

  #col(p: number = this.#pos): number {
    return p - this.#lineStart(p);
  }

  #lineEnd(p: number = this.#pos): number {
    const n = this.#src.indexOf("\n", p);
    return n < 0 ? this.#src.length : n;
  }

  #fail(message: string, p: number = this.#pos): never {
    const line = this.#src.slice(0, p).split("\n").length;
    throw new YamlError(message, line, this.#col(p) + 1);
  }

  #atEnd(): boolean {
    return this.#pos >= this.#src.length;
  }

  /** `---` or `...` at the start of a line, followed by a blank. */
  #isDocMarker(p: number = this.#pos): boolean {
    if (p !== this.#lineStart(p)) return false;
    const three = this.#src.slice(p, p + 3);
    return (three === "---" || three === "...") && isBlank(this.#src[p + 3]);
  }

  #skipInline(): void {
    while (this.#ch() === " " || this.#ch() === "\t") this.#pos++;
  }

  /** Past spaces, line breaks and comments to the next content (or the end). */
  #skipToContent(): void {
    for (;;) {
      const ch = this.#ch();
      if (ch === " " || ch === "\n") {
        this.#pos++;
      } else if (ch === "\t") {
        // A tab may separate tokens, never indent a line.
        const before = this.#src.slice(this.#lineStart(), this.#pos);
        const rest = this.#src.slice(this.#pos, this.#lineEnd());
        if (/^[ \t]*$/.test(before) && !/^[ \t]*(#|$)/.test(rest)) {
          this.#fail("A tab character indents this line: YAML indents with spaces only");
        }
        this.#pos++;
      } else if (ch === "#") {
        this.#pos = this.#lineEnd();
      } else {
        return;
      }
    }
  }

  /** After a value on its line: only spaces and a comment may follow. */
  #endOfLine(what: string): void {
    this.#skipInline();
    if (this.#ch() === "#") this.#pos = this.#lineEnd();
    if (!this.#atEnd() && this.#ch() !== "\n") this.#fail(`Unexpected text after ${what}`);
  }

  // --- documents ------------------------------------------------------------

  documents(): unknown[] {
    const docs: unknown[] = [];
    this.#skipToContent();
    while (!this.#atEnd()) {
      if (this.#ch() === "%" && this.#col() === 0) {
        this.#fail("YAML directives (%YAML, %TAG) are not supported");
      }
      let explicit = false;
      if (this.#isDocMarker() && this.#src.startsWith("---", this.#pos)) {
        this.#pos += 3;
        explicit = true;
        this.#skipToContent();
      }
      if (this.#atEnd() || this.#isDocMarker()) {
        if (explicit) docs.push(null);
      } else {
        docs.push(this.#node(-1));
        this.#skipToContent();
      }
      if (this.#atEnd()) break;
      if (this.#isDocMarker()) {
        if (this.#src.startsWith("...", this.#pos)) {
          this.#pos += 3;
          this.#skipToContent();
        }
        continue;
      }
      this.#fail("Unexpected content after the end of a node (bad indentation?)");
    }
    return docs;
  }

  // --- block structure ------------------------------------------------------

  /**
   * The node at the current content, which is more indented than its parent
   * (`parent`, -1 at the top level).
   */
  #node(parent: number): unknown {
    const col = this.#col();
    const ch = this.#ch();
    if (ch === "-" && isBlank(this.#ch(1))) return this.#sequence(col);
    this.#refuseUnsupported();
    if (ch === "|" || ch === ">") return this.#blockScalar(parent);
    if (ch === "[" || ch === "{") {
      const value = this.#flow();
      this.#endOfLine("a flow collection");
      return value;
    }
    if (this.#keyAhead() !== undefined) return this.#mapping(col);
    return this.#scalar(parent);
  }

  #refuseUnsupported(): void {
    const ch = this.#ch();
    if (ch === "&" || ch === "*") this.#fail("YAML anchors and aliases are not supported");
    if (ch === "!") this.#fail("YAML tags are not supported");
    if (ch === "?" && isBlank(this.#ch(1))) this.#fail("Complex mapping keys are not supported");
  }

  /** The key of a `key: value` line starting here, and where its value starts. */
  #keyAhead(): { key: string; next: number } | undefined {
    const start = this.#pos;
    try {
      let key: string;
      const ch = this.#ch();
      if (ch === '"' || ch === "'") {
        key = ch === '"' ? this.#doubleQuoted() : this.#singleQuoted();
        if (this.#lineStart() !== this.#lineStart(start)) return undefined;
        this.#skipInline();
        if (this.#ch() !== ":" || !isBlank(this.#ch(1))) return undefined;
      } else {
        const end = this.#lineEnd();
        let i = this.#pos;
        for (; i < end; i++) {
          const c = this.#src[i];
          if (c === ":" && isBlank(this.#src[i + 1])) break;
          if (c === "#" && (this.#src[i - 1] === " " || this.#src[i - 1] === "\t")) {
            return undefined;
          }
        }
        if (i >= end) return undefined;
        const text = trimWhite(this.#src.slice(this.#pos, i));
        if (text === "") this.#fail("A mapping key is empty");
        // As kubectl turns keys into JSON: typed, then written as text (`yes:` is "true").
        key = text === "<<" ? text : String(resolvePlain(text));
        this.#pos = i;
      }
      return { key, next: this.#pos + 1 };
    } finally {
      this.#pos = start;
    }
  }

  #mapping(col: number): Record<string, unknown> {
    const obj: Record<string, unknown> = {};
    for (;;) {
      this.#refuseUnsupported();
      if (this.#ch() === "-" && isBlank(this.#ch(1))) {
        this.#fail("A sequence item where a mapping key was expected");
      }
      const key = this.#keyAhead();
      if (key === undefined) this.#fail("Expected a `key: value` entry of the mapping");
      if (Object.hasOwn(obj, key.key)) this.#fail(`Duplicate mapping key "${key.key}"`);
      if (key.key === "<<") this.#fail("YAML merge keys (<<) are not supported");
      this.#pos = key.next;
      setKey(obj, key.key, this.#mappingValue(col));
      this.#skipToContent();
      if (this.#atEnd() || this.#isDocMarker()) break;
      const next = this.#col();
      if (next < col) break;
      if (next > col) this.#fail("Bad indentation of a mapping entry");
    }
    return obj;
  }

  #mappingValue(col: number): unknown {
    this.#skipInline();
    const ch = this.#ch();
    if (ch === undefined || ch === "\n" || ch === "#") {
      this.#skipToContent();
      if (this.#atEnd() || this.#isDocMarker()) return null;
      const next = this.#col();
      if (next > col) return this.#node(col);
      // kubectl prints a list at its key's indentation.
      if (next === col && this.#ch() === "-" && isBlank(this.#ch(1))) return this.#sequence(col);
      return null;
    }
    this.#refuseUnsupported();
    if (ch === "|" || ch === ">") return this.#blockScalar(col);
    if (ch === "[" || ch === "{") {
      const value = this.#flow();
      this.#endOfLine("a flow collection");
      return value;
    }
    if (ch === "-" && isBlank(this.#ch(1))) {
      this.#fail("A block sequence cannot start on the line of its key");
    }
    if (this.#keyAhead() !== undefined) {
      this.#fail("A mapping cannot start on the line of its key (quote a value with `: `)");
    }
    return this.#scalar(col);
  }

  #sequence(col: number): unknown[] {
    const items: unknown[] = [];
    for (;;) {
      this.#pos++; // "-"
      this.#skipInline();
      const ch = this.#ch();
      if (ch === undefined || ch === "\n" || ch === "#") {
        this.#skipToContent();
        items.push(
          this.#atEnd() || this.#isDocMarker() || this.#col() <= col ? null : this.#node(col),
        );
      } else {
        items.push(this.#node(col));
      }
      this.#skipToContent();
      if (this.#atEnd() || this.#isDocMarker()) break;
      const next = this.#col();
      if (next < col) break;
      if (next > col) this.#fail("Bad indentation of a sequence item");
      // At the same column: the next item, or the next key of a mapping that
      // holds this list at its own indentation.
      if (this.#ch() !== "-" || !isBlank(this.#ch(1))) break;
    }
    return items;
  }

  // --- scalars ---------------------------------------------------------------

  #scalar(parent: number): unknown {
    const ch = this.#ch();
    if (ch === '"' || ch === "'") {
      const text = ch === '"' ? this.#doubleQuoted() : this.#singleQuoted();
      this.#endOfLine("a quoted string");
      return text;
    }
    return resolvePlain(this.#plain(parent));
  }

  /** The rest of a plain scalar's line (up to a comment), checked. */
  #plainLine(): string {
    const start = this.#pos;
    const end = this.#lineEnd();
    let i = start;
    for (; i < end; i++) {
      const c = this.#src[i];
      if (c === "#" && (this.#src[i - 1] === " " || this.#src[i - 1] === "\t")) break;
      if (c === ":" && isBlank(this.#src[i + 1])) {
        this.#fail("A plain value contains `: ` (quote it)", i);
      }
    }
    this.#pos = i;
    return trimWhite(this.#src.slice(start, i));
  }

  #plain(parent: number): string {
    const first = this.#ch();
    if (first !== undefined && "@`,[]{}%|>".includes(first)) {
      this.#fail(`A plain value cannot start with "${first}" (quote it)`);
    }
    let text = this.#plainLine();
    // Continuation lines, more indented than the parent: folded into the value.
    for (;;) {
      if (!isWhite(this.#src.slice(this.#pos, this.#lineEnd()))) break; // a comment
      let p = this.#lineEnd();
      let empty = 0;
      let contentStart = -1;
      while (p < this.#src.length) {
        const lineStart = p + 1;
        const lineEnd = this.#lineEnd(lineStart);
        const line = this.#src.slice(lineStart, lineEnd);
        if (isWhite(line)) {
          empty++;
          p = lineEnd;
          if (lineEnd >= this.#src.length) break;
          continue;
        }
        const indent = line.length - line.replace(/^[ \t]+/, "").length;
        if (indent > parent && line[indent] !== "#" && !this.#isDocMarker(lineStart)) {
          contentStart = lineStart + indent;
        }
        break;
      }
      if (contentStart < 0) break;
      this.#pos = contentStart;
      const more = this.#plainLine();
      text += empty === 0 ? ` ${more}` : "\n".repeat(empty) + more;
    }
    return text;
  }

  /** Fold a line break inside a quoted scalar (opened at `open`): the text up to it, trailing blanks cut. */
  #foldBreak(out: string, keep: number, open: number): string {
    // `keep`: length of `out` that must not be trimmed (escaped blanks).
    let text = out;
    while (text.length > keep && (text.endsWith(" ") || text.endsWith("\t"))) {
      text = text.slice(0, -1);
    }
    let empty = 0;
    this.#pos++; // "\n"
    for (;;) {
      this.#skipInline();
      if (this.#ch() !== "\n") break;
      empty++;
      this.#pos++;
    }
    if (this.#atEnd() || this.#isDocMarker()) this.#fail("A quoted string is not closed", open);
    return text + (empty === 0 ? " " : "\n".repeat(empty));
  }

  #singleQuoted(): string {
    const open = this.#pos;
    this.#pos++;
    let out = "";
    let keep = 0;
    for (;;) {
      const ch = this.#ch();
      if (ch === undefined) this.#fail("A quoted string is not closed", open);
      if (ch === "'") {
        if (this.#ch(1) === "'") {
          out += "'";
          this.#pos += 2;
          keep = out.length;
          continue;
        }
        this.#pos++;
        return out;
      }
      if (ch === "\n") {
        out = this.#foldBreak(out, keep, open);
        keep = out.length;
        continue;
      }
      out += ch;
      this.#pos++;
    }
  }

  #doubleQuoted(): string {
    const open = this.#pos;
    this.#pos++;
    let out = "";
    let keep = 0;
    for (;;) {
      const ch = this.#ch();
      if (ch === undefined) this.#fail("A quoted string is not closed", open);
      if (ch === '"') {
        this.#pos++;
        return out;
      }
      if (ch === "\n") {
        out = this.#foldBreak(out, keep, open);
        keep = out.length;
        continue;
      }
      if (ch !== "\\") {
        out += ch;
        this.#pos++;
        continue;
      }
      const esc = this.#ch(1);
      if (esc === "\n") {
        // An escaped line break: joined without a space, the next line's indentation dropped.
        this.#pos += 2;
        this.#skipInline();
        keep = out.length;
        continue;
      }
      const simple = esc === undefined ? undefined : ESCAPES[esc];
      if (simple !== undefined) {
        out += simple;
        this.#pos += 2;
        keep = out.length;
        continue;
      }
      const width = esc === undefined ? undefined : HEX_ESCAPES[esc];
      const hex = width === undefined ? "" : this.#src.slice(this.#pos + 2, this.#pos + 2 + width);
      if (width === undefined || !new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) {
        this.#fail(`Unknown escape "\\${esc ?? ""}" in a double-quoted string`);
      }
      const code = parseInt(hex, 16);
      if (code > 0x10ffff) this.#fail(`Escape "\\${esc}${hex}" is not a Unicode character`);
      out += String.fromCodePoint(code);
      this.#pos += 2 + width;
      keep = out.length;
    }
  }

  /** `|` or `>` with its header; the lines below, more indented than `parent`. */
  #blockScalar(parent: number): string {
    const folded = this.#ch() === ">";
    this.#pos++;
    let chomp: "clip" | "strip" | "keep" = "clip";
    let explicit = 0;
    for (let i = 0; i < 2; i++) {
      const ch = this.#ch();
      if (ch === "-" || ch === "+") {
        chomp = ch === "-" ? "strip" : "keep";
        this.#pos++;
      } else if (ch !== undefined && ch >= "1" && ch <= "9") {
        explicit = Number(ch);
        this.#pos++;
      }
    }
    this.#endOfLine("a block scalar header");
    // The content's indentation: the parent's plus the indicator, or that of
    // the first non-empty line (which must be more indented than the parent).
    let indent = explicit > 0 ? Math.max(parent, 0) + explicit : -1;
    const lines: string[] = [];
    let p = this.#lineEnd() + 1;
    let next = this.#src.length; // where the node after this scalar starts
    while (p <= this.#src.length) {
      if (p === this.#src.length) break;
      const end = this.#lineEnd(p);
      const line = this.#src.slice(p, end);
      const spaces = line.length - line.replace(/^ +/, "").length;
      if (/^ *$/.test(line)) {
        // Only spaces: an empty line (a tab after the indentation is content).
        lines.push(indent >= 0 && line.length > indent ? line.slice(indent) : "");
        p = end + 1;
        continue;
      }
      if (indent < 0) {
        if (spaces <= parent) {
          next = p;
          break;
        }
        indent = spaces;
      }
      if (spaces < indent || this.#isDocMarker(p)) {
        next = p;
        break;
      }
      lines.push(line.slice(indent));
      p = end + 1;
    }
    this.#pos = Math.min(next, this.#src.length);
    let last = lines.length - 1;
    while (last >= 0 && lines[last] === "") last--;
    const body = lines.slice(0, last + 1);
    const trailing = lines.length - body.length;
    let text: string;
    if (!folded) {
      text = body.join("\n");
    } else {
      text = "";
      let prev: "start" | "normal" | "more" = "start";
      let empty = 0;
      for (const line of body) {
        if (line === "") {
          empty++;
          continue;
        }
        const more = line.startsWith(" ") || line.startsWith("\t");
        if (prev === "start") text += "\n".repeat(empty) + line;
        else if (prev === "normal" && !more) {
          text += empty === 0 ? ` ${line}` : "\n".repeat(empty) + line;
        } else text += "\n".repeat(empty + 1) + line;
        empty = 0;
        prev = more ? "more" : "normal";
      }
    }
    if (body.length === 0) return chomp === "keep" ? "\n".repeat(trailing) : "";
    if (chomp === "strip") return text;
    if (chomp === "clip") return text + "\n";
    return text + "\n" + "\n".repeat(trailing);
  }

  // --- flow collections -------------------------------------------------------

  #skipFlowSpace(): void {
    for (;;) {
      const ch = this.#ch();
      if (ch === " " || ch === "\t" || ch === "\n") this.#pos++;
      else if (ch === "#") this.#pos = this.#lineEnd();
      else return;
    }
  }

  #flow(): unknown {
    const open = this.#ch();
    const close = open === "[" ? "]" : "}";
    const start = this.#pos;
    this.#pos++;
    const items: unknown[] = [];
    const obj: Record<string, unknown> = {};
    for (;;) {
      this.#skipFlowSpace();
      if (this.#atEnd()) this.#fail(`A flow collection is not closed with "${close}"`, start);
      if (this.#ch() === close) {
        this.#pos++;
        return open === "[" ? items : obj;
      }
      if (this.#isDocMarker()) this.#fail(`A flow collection is not closed with "${close}"`, start);
      this.#refuseUnsupported();
      const keyPos = this.#pos;
      const first = this.#flowNode();
      this.#skipFlowSpace();
      let pair: [string, unknown] | undefined;
      if (this.#ch() === ":") {
        if (typeof first.value === "object" && first.value !== null) {
          this.#fail("Complex mapping keys are not supported", keyPos);
        }
        this.#pos++;
        this.#skipFlowSpace();
        const ch = this.#ch();
        const value = ch === "," || ch === close ? null : this.#flowNode().value;
        pair = [first.key, value];
        this.#skipFlowSpace();
      }
      if (open === "{") {
        const [key, value] = pair ?? [first.key, null];
        if (Object.hasOwn(obj, key)) this.#fail(`Duplicate mapping key "${key}"`, keyPos);
        setKey(obj, key, value);
      } else {
        items.push(pair === undefined ? first.value : Object.fromEntries([pair]));
      }
      if (this.#atEnd()) this.#fail(`A flow collection is not closed with "${close}"`, start);
      if (this.#ch() === ",") this.#pos++;
      else if (this.#ch() !== close) this.#fail(`Expected "," or "${close}" in a flow collection`);
    }
  }

  /** A plain scalar's text in a flow collection, up to an indicator or the line's end. */
  #flowPlainLine(): string {
    const start = this.#pos;
    for (;;) {
      const c = this.#ch();
      if (c === undefined || c === "\n" || c === "," || c === "[" || c === "]") break;
      if (c === "{" || c === "}") break;
      if (c === ":" && (isBlank(this.#ch(1)) || ",[]{}".includes(this.#ch(1)!))) break;
      if (c === "#" && (this.#src[this.#pos - 1] === " " || this.#src[this.#pos - 1] === "\t")) {
        break;
      }
      this.#pos++;
    }
    return trimWhite(this.#src.slice(start, this.#pos));
  }

  /** One node inside a flow collection: its value and, for a scalar, its text as a key. */
  #flowNode(): { value: unknown; key: string } {
    this.#refuseUnsupported();
    const ch = this.#ch();
    if (ch === "[" || ch === "{") return { value: this.#flow(), key: "" };
    if (ch === '"' || ch === "'") {
      const text = ch === '"' ? this.#doubleQuoted() : this.#singleQuoted();
      return { value: text, key: text };
    }
    let text = this.#flowPlainLine();
    // A plain scalar goes on over line breaks until a flow indicator (folded).
    while (this.#ch() === "\n") {
      const end = this.#pos;
      let empty = 0;
      this.#pos++;
      for (;;) {
        this.#skipInline();
        if (this.#ch() !== "\n") break;
        empty++;
        this.#pos++;
      }
      const c = this.#ch();
      if (
        c === undefined || ",[]{}#".includes(c) || this.#isDocMarker(this.#lineStart()) ||
        (c === ":" && (isBlank(this.#ch(1)) || ",[]{}".includes(this.#ch(1)!)))
      ) {
        this.#pos = end;
        break;
      }
      const more = this.#flowPlainLine();
      text += empty === 0 ? ` ${more}` : "\n".repeat(empty) + more;
    }
    if (text === "" && this.#ch() !== ":") this.#fail("Expected a value in a flow collection");
    const value = resolvePlain(text);
    return { value, key: String(value) };
  }
}

/**
 * Read every document of a YAML text.
 *
 * @param text the YAML (a leading byte order mark and CRLF line ends are accepted)
 * @returns one value per document (an empty text has none)
 * @throws YamlError naming the line and column of the first problem
 */
export function parseYaml(text: string): unknown[] {
  const src = text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  return new Reader(src).documents();
}

/**
 * The documents of a file as kubectl prints it: JSON (`-o json`), else YAML.
 *
 * @param text the file
 * @param source its name, for messages
 * @returns the documents
 * @throws CniError 7 with the parser's reason and the place
 */
export function readDocuments(text: string, source: string): unknown[] {
  let jsonError: string | undefined;
  if (/^\s*[{[]/.test(text)) {
    try {
      return [JSON.parse(text)];
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      jsonError = err.message; // maybe YAML's flow style; tried next
    }
  }
  try {
    return parseYaml(text);
  } catch (err) {
    if (!(err instanceof YamlError)) throw err;
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `Cannot read "${source}": ${
        jsonError === undefined ? `not YAML as kubectl prints it: ${err.message}` : jsonError
      }`,
    );
  }
}
