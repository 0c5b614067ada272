/**
 * The house plan of mod/ as tests: imports go down the layers without a
 * circle (file by file and folder by folder), each kind of side effect has one
 * gateway, only mod/kernel/ speaks iproute2, mode-specific behaviour stays in
 * the modes' rules, nothing of the plugin or the tools imports the tests, a
 * long module says why it is one file, and no comment or document names a
 * file that is not there.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(new URL(dir, ROOT))) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...walk(path));
    else if (e.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

function read(path: string): string {
  return Deno.readTextFileSync(new URL(path, ROOT));
}

/** Relative specifiers of imports (static, bare, re-exports, literal dynamic), as repository paths. */
function importsOf(path: string): string[] {
  const text = read(path);
  const dir = path.slice(0, path.lastIndexOf("/") + 1);
  const out: string[] = [];
  const specs = [
    ...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s*"(\.{1,2}\/[^"]+)"/gms),
    ...text.matchAll(/^import\s*"(\.{1,2}\/[^"]+)"/gm),
    ...text.matchAll(/\bimport\(\s*"(\.{1,2}\/[^"]+)"\s*\)/g),
  ];
  for (const m of specs) out.push(new URL(m[1]!, new URL(dir, "file:///")).pathname.slice(1));
  return out;
}

/** A circle in a directed graph, or undefined. */
function findCircle(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    state.set(n, 1);
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 1) return [...stack.slice(stack.indexOf(m)), m];
      if (state.get(m) === undefined) {
        const c = visit(m);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(n, 2);
    return undefined;
  };
  for (const n of graph.keys()) {
    if (state.get(n) === undefined) {
      const c = visit(n);
      if (c) return c;
    }
  }
  return undefined;
}

const MOD = walk("mod");

/** mod/plan/pod.ts -> mod/plan; a top-level module is its own unit. */
function unitOf(path: string): string {
  const parts = path.split("/");
  return parts.length > 2 ? parts.slice(0, 2).join("/") : path;
}

Deno.test("mod/ has no import circle between files", () => {
  const graph = new Map(MOD.map((f) => [f, new Set(importsOf(f))]));
  assert.equal(findCircle(graph)?.join(" -> "), undefined);
});

Deno.test("mod/ has no import circle between its folders (layers go down)", () => {
  const graph = new Map<string, Set<string>>();
  for (const f of MOD) {
    const from = unitOf(f);
    const to = graph.get(from) ?? new Set<string>();
    for (const i of importsOf(f)) if (unitOf(i) !== from) to.add(unitOf(i));
    graph.set(from, to);
  }
  assert.equal(findCircle(graph)?.join(" -> "), undefined);
});

Deno.test("only mod/kernel/exec.ts starts processes, only mod/kernel/libc.ts opens libc", () => {
  const spawners = MOD.filter((f) => /new Deno\.Command\b/.test(read(f)));
  const dlopeners = MOD.filter((f) => /Deno\.dlopen\(/.test(read(f)));
  assert.deepEqual(spawners, ["mod/kernel/exec.ts"]);
  assert.deepEqual(dlopeners, ["mod/kernel/libc.ts"]);
});

Deno.test("nothing under mod/ or tools/ imports tests/", () => {
  const offenders = [...MOD, ...walk("tools"), "main.ts", "build.ts"].filter((f) =>
    importsOf(f).some((i) => i.startsWith("tests/"))
  );
  assert.deepEqual(offenders, []);
});

Deno.test("a module of mod/ over 400 lines says in its header why it is one file", () => {
  const long = MOD.filter((f) => !f.endsWith("/_wasm.ts") && read(f).split("\n").length > 400);
  const silent = long.filter((f) => {
    const header = read(f).split("@module")[0] ?? "";
    return !/One file/.test(header);
  });
  assert.deepEqual(silent, []);
});

Deno.test("mod/ imports node: built-ins only on demand (a static one would load for every CNI call)", () => {
  // The plugin runs as one bundle: a static import of any module is evaluated at
  // start-up, and node: built-ins bring Deno's Node.js layer (+10 ms per call).
  const offenders = MOD.filter((f) => /^import[^;]*from\s*"node:/m.test(read(f)));
  assert.deepEqual(offenders, []);
});

Deno.test("mode-specific behaviour lives in the mode's rules: no comparison with a mode's name elsewhere", () => {
  const allowed = /^mod\/plan\/(mode[^/]*|underlay|overlay)\.ts$/;
  const compares = /[!=]==?\s*"(underlay|overlay)"|"(underlay|overlay)"\s*[!=]==?/;
  const offenders = MOD.filter((f) => !allowed.test(f) && compares.test(read(f)));
  assert.deepEqual(offenders, []);
});

Deno.test("only mod/kernel/ speaks iproute2: nothing else builds an ip line or casts an ip -j answer", () => {
  const ipLine = /\[\s*"(route|rule|link|neigh|addr)",\s*"/;
  const cast = /\bas (readonly )?Ip[A-Z]\w*/;
  const offenders = MOD.filter((f) =>
    !f.startsWith("mod/kernel/") && (ipLine.test(read(f)) || cast.test(read(f)))
  );
  assert.deepEqual(offenders, []);
});

/**
 * The files a comment or a document names that do not exist: paths under
 * mod/, tools/ or tests/, relative ones, and those of a folder of mod/ (plan/ ...).
 */
function namedFiles(path: string): string[] {
  const sub = "cni|config|plan|kernel|commands|detect|codec|cli|doctor";
  const re = new RegExp(
    String
      .raw`(?<![\w./-])((?:mod|tools|tests|\.{1,2}|${sub})/[\w./-]*\w\.(?:ts|md|json|sh|py|wat|wasm))`,
    "g",
  );
  const dir = path.slice(0, path.lastIndexOf("/") + 1);
  const missing: string[] = [];
  for (const m of read(path).matchAll(re)) {
    const ref = m[1]!;
    // "./x" is relative to the file, or to the repository (as `deno test` prints paths).
    const candidates = ref.startsWith(".")
      ? [new URL(ref, new URL(dir, "file:///")).pathname.slice(1), ref.replace(/^\.\//, "")]
      : /^(mod|tools|tests)\//.test(ref)
      ? [ref]
      : [`mod/${ref}`, `${dir}${ref}`];
    const exists = candidates.some((c) => {
      try {
        Deno.statSync(new URL(c, ROOT));
        return true;
      } catch {
        return false;
      }
    });
    if (!exists) missing.push(`${path}: ${ref}`);
  }
  return missing;
}

Deno.test("comments and documents name only files that exist (mod/, tools/, tests/, relative)", () => {
  const docs = (dir: string) =>
    [...Deno.readDirSync(new URL(dir, ROOT))].filter((e) => e.name.endsWith(".md")).map((e) =>
      `${dir}/${e.name}`
    );
  const sources = (dir: string) =>
    walk(dir).filter((f) => !f.includes("/testdata/") && !f.includes("/build/"));
  const files = [
    ...sources("mod"),
    ...sources("tools"),
    ...sources("tests"),
    ...sources("wasm"),
    ...docs("docs"),
    "README.md",
    "main.ts",
    "build.ts",
  ];
  assert.deepEqual(files.flatMap(namedFiles), []);
});

/** The modules only the subcommands load (`coordinator <subcommand>`, no CNI_COMMAND). */
const CLI_ONLY = (f: string) => f.startsWith("mod/cli/") || f === "mod/config/spidercoordinator.ts";

Deno.test("the CNI path reaches no module of the subcommands (mod/cli/, the SpiderCoordinator conversion)", () => {
  // Everything main.ts can load for a CNI_COMMAND: static and literal dynamic
  // imports, followed to the end, but not into mod/cli/mod.ts (loaded only
  // without CNI_COMMAND). In the bundle, a module no import of this path
  // reaches is never evaluated by a CNI call.
  const reached = new Set<string>();
  const todo = ["main.ts"];
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (reached.has(f)) continue;
    reached.add(f);
    for (const i of importsOf(f)) if (i !== "mod/cli/mod.ts") todo.push(i);
  }
  assert.ok(reached.has("mod/commands/add.ts") && reached.has("mod/detect/detect.ts"));
  assert.deepEqual([...reached].filter(CLI_ONLY), []);
  assert.ok(MOD.includes("mod/cli/yaml.ts") && MOD.includes("mod/config/spidercoordinator.ts"));
});
