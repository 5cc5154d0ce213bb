#!/usr/bin/env node
// Solve conda specs against a channel with rattler (the Rust core of pixi and
// mamba's libsolv replacement), through its WASM bindings @conda-org/rattler.
// It proves that a real conda client can fetch and solve against a channel.
//
// Usage:
//   node solve.mjs [options] CHANNEL_URL[,CHANNEL_URL...] PLATFORM[,PLATFORM...] SPEC...
//
//   node solve.mjs http://127.0.0.1:8080/conda/recipes noarch,linux-64 dependent
//
// rattler does not add noarch by itself: list it among the platforms.
// Platforms must be ones rattler knows (linux-64, osx-arm64, noarch, ...);
// made-up subdirs such as linux-fake are rejected by rattler.
//
// Options:
//   --repodata=FORMAT  the best repodata format the client may use:
//                        shards (default; CEP-16 repodata_shards.msgpack.zst,
//                                falling back as rattler does),
//                        zst    (repodata_shards.msgpack.zst answers 404 locally),
//                        bz2    (… and repodata.json.zst answers 404),
//                        json   (… and repodata.json.bz2 answers 404).
//                      The 404s are made up inside this process; the server
//                      never sees those requests.
//   --verify           download every package of the solution and check its
//                      size, sha256 and md5 against the repodata record.
//   --trace            write each HTTP request as a JSON line
//                      {"method","url","status"} to stderr.
//
// Credentials: user:password in a channel URL are taken out of the URL (the
// fetch API refuses URLs with credentials) and sent as HTTP Basic auth to
// that URL's origin. SOLVE_BASIC_AUTH=user:password does the same for every
// channel.
//
// Output: a JSON array on stdout, sorted by name, one object per package:
//   {name, version, build, build_number, subdir, filename, url, sha256, md5, size}
// Exit status: 0 solved, 1 the solve (or --verify) failed, the error on
// stderr; 2 bad usage.
//
// @conda-org/rattler is resolved from this directory's node_modules (npm install
// here) or from NODE_PATH (npm install elsewhere, NODE_PATH=that/node_modules).

import { createRequire } from "node:module";
import { createHash } from "node:crypto";

const usage =
  "usage: node solve.mjs [--repodata=shards|zst|bz2|json] [--verify] [--trace] CHANNEL_URL[,CHANNEL_URL...] PLATFORM[,PLATFORM...] SPEC...";

function fail(code, msg) {
  process.stderr.write(msg.endsWith("\n") ? msg : msg + "\n");
  process.exit(code);
}

// ---- arguments ----------------------------------------------------------

let repodata = "shards";
let verify = false;
let trace = false;
const positional = [];
for (const arg of process.argv.slice(2)) {
  if (arg === "--verify") verify = true;
  else if (arg === "--trace") trace = true;
  else if (arg.startsWith("--repodata=")) repodata = arg.slice("--repodata=".length);
  else if (arg === "-h" || arg === "--help") fail(0, usage);
  else if (arg.startsWith("--")) fail(2, `unknown option ${arg}\n${usage}`);
  else positional.push(arg);
}
if (positional.length < 3) fail(2, usage);
const blockedSuffixes = {
  shards: [],
  zst: ["/repodata_shards.msgpack.zst"],
  bz2: ["/repodata_shards.msgpack.zst", "/repodata.json.zst"],
  json: ["/repodata_shards.msgpack.zst", "/repodata.json.zst", "/repodata.json.bz2"],
}[repodata];
if (!blockedSuffixes) fail(2, `--repodata must be shards, zst, bz2 or json\n${usage}`);

const [channelArg, platformArg, ...specs] = positional;

// Credentials per origin, taken from the channel URLs and SOLVE_BASIC_AUTH.
const authByOrigin = new Map();
const channels = channelArg.split(",").map((raw) => {
  let u;
  try {
    u = new URL(raw);
  } catch {
    fail(2, `not a URL: ${raw}`);
  }
  let auth = process.env.SOLVE_BASIC_AUTH || "";
  if (u.username || u.password) {
    auth = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
    u.username = "";
    u.password = "";
  }
  if (auth) authByOrigin.set(u.origin, "Basic " + Buffer.from(auth).toString("base64"));
  return u.href;
});

// ---- rattler ------------------------------------------------------------

const require = createRequire(import.meta.url);
let rattler;
try {
  rattler = require("@conda-org/rattler"); // the Node (CommonJS + .wasm) build
} catch (e) {
  fail(1, `cannot load @conda-org/rattler (run npm install in ${new URL(".", import.meta.url).pathname}): ${e.message}`);
}

const platforms = platformArg.split(",");
for (const p of platforms) {
  if (!rattler.isPlatform(p)) fail(2, `rattler does not know the platform ${p}`);
}

// ---- HTTP: rattler's WASM build fetches through globalThis.fetch ---------

const realFetch = globalThis.fetch;
async function loggedFetch(input, init) {
  let req = new Request(input, init);
  const url = req.url;
  const path = new URL(url).pathname;
  let res;
  if (blockedSuffixes.some((s) => path.endsWith(s))) {
    res = new Response("blocked by solve.mjs --repodata", { status: 404, statusText: "Not Found" });
    // rattler (reqwest) parses response.url, which is empty on a made-up Response.
    Object.defineProperty(res, "url", { value: url });
  } else {
    const auth = authByOrigin.get(new URL(url).origin);
    if (auth && !req.headers.has("authorization")) {
      const headers = new Headers(req.headers);
      headers.set("authorization", auth);
      req = new Request(req, { headers });
    }
    res = await realFetch(req);
  }
  if (trace) {
    process.stderr.write(JSON.stringify({ method: req.method, url, status: res.status }) + "\n");
  }
  return res;
}
globalThis.fetch = loggedFetch;

// ---- solve --------------------------------------------------------------

function errorText(e) {
  if (e instanceof Error) return e.message;
  if (typeof e === "string") return e;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}

const num = (v) => (v === undefined || v === null ? null : Number(v));

let solved;
try {
  solved = await rattler.simpleSolve(specs, channels, platforms, []);
} catch (e) {
  fail(1, `solve failed: ${errorText(e)}`);
}

const out = solved
  .map((p) => ({
    name: p.packageName,
    version: p.version,
    build: p.build,
    build_number: num(p.buildNumber),
    subdir: p.subdir ?? null,
    filename: p.filename,
    url: p.url,
    sha256: p.sha256 ?? null,
    md5: p.md5 ?? null,
    size: num(p.size),
  }))
  .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

if (verify) {
  for (const p of out) {
    const res = await globalThis.fetch(p.url);
    if (!res.ok) fail(1, `verify: GET ${p.url}: HTTP ${res.status}`);
    const body = Buffer.from(await res.arrayBuffer());
    const sha256 = createHash("sha256").update(body).digest("hex");
    const md5 = createHash("md5").update(body).digest("hex");
    if (p.size !== null && body.length !== p.size) fail(1, `verify: ${p.url}: ${body.length} bytes, repodata says ${p.size}`);
    if (p.sha256 && sha256 !== p.sha256) fail(1, `verify: ${p.url}: sha256 ${sha256}, repodata says ${p.sha256}`);
    if (p.md5 && md5 !== p.md5) fail(1, `verify: ${p.url}: md5 ${md5}, repodata says ${p.md5}`);
  }
}

process.stdout.write(JSON.stringify(out, null, 2) + "\n");
