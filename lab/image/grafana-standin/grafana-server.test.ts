/**
 * The Grafana stand-in's server, run with python3 from the source tree against the monitoring host's real files
 * (the provisioning and dashboards monitoring/monitoring-files.ts renders), checked answer by answer against
 * Grafana's documented behaviour, refusals included.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { delegatorDashboard, delegatorDashboardUid, operatorDashboard } from "../../../monitoring/dashboards";
import { publicDashboardAccessToken } from "../../../monitoring/grafana-access";
import { monitoringFiles } from "../../../monitoring/monitoring-files";
import { testPool } from "../../../test/pool-fixtures";
import { grafanaStandinVersion } from "../grafana-repo";
import { standinExit, standinServerUnavailableReason, startStandin, stopStandin, type StandinRun } from "./standin-server";

const SKIP = standinServerUnavailableReason();
const config = testPool({ monitoring: { alertEmails: ["ops@example.org"], publicDashboard: { enabled: true, cidrs: ["0.0.0.0/0"] } } });
const DELEGATOR_UID = delegatorDashboardUid(config.name);
const DELEGATOR_TITLE = (delegatorDashboard(config.name) as { title: string }).title;
const OPERATOR_TITLE = (operatorDashboard(config.name) as { title: string }).title;
const TOKEN = publicDashboardAccessToken(config.name);
const PASSWORD = "0f3a9c4e5b6d7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b";

/** The monitoring host's Grafana files, moved under a server directory: provisioning/… and dashboards/…. */
function hostFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const file of monitoringFiles(config, { alertTopicArn: "arn:aws:sns:eu-west-1:123456789012:alerts" })) {
    if (file.path.startsWith("/etc/grafana/provisioning/")) files[file.path.replace("/etc/grafana/", "")] = file.content;
    if (file.path.startsWith("/var/lib/grafana/dashboards/")) files[file.path.replace("/var/lib/grafana/", "")] = file.content;
  }
  return files;
}

/** Starts a server on the host's files; `dashboards/` is wherever the dashboard provider's path points. */
function hostServer(env: Record<string, string>): Promise<StandinRun> {
  return startStandinIn((dir) => ({ ...withDashboardPath(hostFiles(), dir), "admin-password": PASSWORD }), env);
}

function withDashboardPath(files: Record<string, string>, dir: string): Record<string, string> {
  const yaml = files["provisioning/dashboards/pool.yaml"];
  if (!yaml?.includes("/var/lib/grafana/dashboards")) throw new Error("the dashboard provider no longer reads /var/lib/grafana/dashboards");
  return { ...files, "provisioning/dashboards/pool.yaml": yaml.replace("/var/lib/grafana/dashboards", join(dir, "dashboards")) };
}

/** Starts a server whose files may name its own directory. */
async function startStandinIn(files: (dir: string) => Record<string, string>, env: Record<string, string>, grafanaIni?: string): Promise<StandinRun> {
  const dir = mkdtempSync(join(tmpdir(), "grafana-standin-"));
  const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replaceAll("@DIR@", dir)]));
  return startStandin({ dir, files: files(dir), env: resolved, grafanaIni });
}

const basic = (user: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });
const ADMIN = basic("admin", PASSWORD);

async function call(run: StandinRun, path: string, init: RequestInit = {}): Promise<{ status: number; body: string; json: unknown; headers: Headers }> {
  const answer = await fetch(`${run.url}${path}`, { redirect: "manual", ...init });
  const body = await answer.text();
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: answer.status, body, json, headers: answer.headers };
}

const post = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/json", ...headers },
  body: JSON.stringify(body),
});

/** The environment the pool's drop-in sets, with the admin password read as Grafana reads files: $__file{}. */
const POOL_ENV = {
  GF_SECURITY_ADMIN_PASSWORD: "$__file{@DIR@/admin-password}",
  GF_SECURITY_DISABLE_GRAVATAR: "true",
  GF_USERS_ALLOW_SIGN_UP: "false",
  GF_USERS_ALLOW_ORG_CREATE: "false",
  GF_AUTH_ANONYMOUS_ENABLED: "false",
  GF_ANALYTICS_REPORTING_ENABLED: "false",
  GF_ANALYTICS_CHECK_FOR_UPDATES: "false",
  GF_PUBLIC_DASHBOARDS_ENABLED: "true",
};

describe.skipIf(SKIP)(`the Grafana stand-in's server${SKIP ? ` [skipped: ${SKIP}]` : ""}`, () => {
  let grafana: StandinRun;
  beforeAll(async () => {
    grafana = await hostServer(POOL_ENV);
  });
  afterAll(async () => {
    if (grafana) await stopStandin(grafana);
  });

  it("answers /api/health without login: database ok and the package's version", async () => {
    const r = await call(grafana, "/api/health");
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ database: "ok", version: grafanaStandinVersion() });
  });

  it("serves the login page, and sends a signed-out browser there from every other page", async () => {
    const login = await call(grafana, "/login");
    expect(login.status).toBe(200);
    expect(login.headers.get("content-type")).toMatch(/^text\/html/);
    expect(login.body).toContain("<title>Grafana</title>");
    for (const page of ["/", `/d/${DELEGATOR_UID}`, "/dashboards"]) {
      const r = await call(grafana, page);
      expect([r.status, r.headers.get("location")], page).toEqual([302, "/login"]);
    }
  });

  it("lets the admin in with the password from the file, by basic auth", async () => {
    const me = await call(grafana, "/api/user", { headers: ADMIN });
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({ login: "admin", isGrafanaAdmin: true });
  });

  it("lists the provisioned dashboards in search, and serves each by uid", async () => {
    const search = await call(grafana, "/api/search?type=dash-db", { headers: ADMIN });
    expect(search.status).toBe(200);
    const hits = search.json as { uid: string; title: string; type: string; url: string }[];
    expect(hits.map((h) => h.title).sort()).toEqual([DELEGATOR_TITLE, OPERATOR_TITLE].sort());
    expect(hits.every((h) => h.type === "dash-db" && h.url.startsWith(`/d/${h.uid}/`))).toBe(true);
    const filtered = await call(grafana, `/api/search?query=${encodeURIComponent("pool health")}`, { headers: ADMIN });
    expect((filtered.json as { uid: string }[]).map((h) => h.uid)).toEqual([DELEGATOR_UID]);

    const dashboard = await call(grafana, `/api/dashboards/uid/${DELEGATOR_UID}`, { headers: ADMIN });
    expect(dashboard.status).toBe(200);
    const { dashboard: d, meta } = dashboard.json as { dashboard: { uid: string; title: string; panels: unknown[] }; meta: Record<string, unknown> };
    expect(d).toMatchObject({ uid: DELEGATOR_UID, title: DELEGATOR_TITLE });
    expect(d.panels.length).toBeGreaterThan(0);
    expect(meta).toMatchObject({ provisioned: true, provisionedExternalId: "delegator.json", folderTitle: "General" });
  });

  it("serves the provisioned Prometheus data source to the admin", async () => {
    const list = await call(grafana, "/api/datasources", { headers: ADMIN });
    expect(list.json).toEqual([expect.objectContaining({ uid: "pool-prometheus", type: "prometheus", url: "http://127.0.0.1:9090", isDefault: true })]);
    expect((await call(grafana, "/api/datasources/uid/pool-prometheus", { headers: ADMIN })).status).toBe(200);
    expect((await call(grafana, "/api/datasources/uid/nope", { headers: ADMIN })).status).toBe(404);
  });

  it("refuses anonymous requests, a wrong password, an unknown user and any API token with 401", async () => {
    const protectedPaths = ["/api/search", `/api/dashboards/uid/${DELEGATOR_UID}`, "/api/datasources", "/api/user", `/api/dashboards/uid/${DELEGATOR_UID}/public-dashboards`];
    for (const path of protectedPaths) {
      const anonymous = await call(grafana, path);
      expect([anonymous.status, anonymous.json], path).toEqual([401, { message: "Unauthorized" }]);
    }
    const wrong = await call(grafana, "/api/search", { headers: basic("admin", "admin") });
    expect([wrong.status, wrong.json]).toEqual([401, { message: "Invalid username or password" }]);
    expect((await call(grafana, "/api/search", { headers: basic("operator", PASSWORD) })).status).toBe(401);
    expect((await call(grafana, "/api/search", { headers: { Authorization: "Bearer glsa_0123456789abcdef" } })).status).toBe(401);
    expect((await call(grafana, "/api/search", { headers: { Authorization: "Basic !!!" } })).status).toBe(401);
  });

  it("answers 404 for an unknown dashboard and an unknown API path, and 500 for a request it cannot read, staying up", async () => {
    expect((await call(grafana, "/api/dashboards/uid/not-there", { headers: ADMIN })).json).toEqual({ message: "Dashboard not found" });
    expect((await call(grafana, "/api/no/such/thing", { headers: ADMIN })).status).toBe(404);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(grafana.port, "127.0.0.1", () => socket.end("GET /api/health HTTP/1.1\r\nHost: grafana\r\nContent-Length: many\r\n\r\n"));
      let text = "";
      socket.on("data", (d: Buffer) => (text += d.toString()));
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 500 /);
    expect((await call(grafana, "/api/health")).status).toBe(200);
  });

  it("refuses sign-up", async () => {
    for (const path of ["/api/user/signup", "/api/user/signup/step2"]) {
      const r = await call(grafana, path, post({ email: "visitor@example.org", username: "visitor", password: "visitor-password" }));
      expect([r.status, r.json], path).toEqual([401, { message: "User signup is disabled" }]);
    }
  });

  it("logs in through POST /login with a session cookie, which logout ends", async () => {
    const refused = await call(grafana, "/login", post({ user: "admin", password: "nope" }));
    expect(refused.status).toBe(401);
    expect(refused.headers.get("set-cookie")).toBeNull();
    const login = await call(grafana, "/login", post({ user: "admin", password: PASSWORD }));
    expect([login.status, login.json]).toEqual([200, { message: "Logged in", redirectUrl: "/" }]);
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0]!;
    expect(cookie).toMatch(/^grafana_session=[0-9a-f]{32}$/);
    expect((await call(grafana, "/api/search", { headers: { Cookie: cookie } })).status).toBe(200);
    expect((await call(grafana, "/", { headers: { Cookie: cookie } })).status).toBe(200);
    expect((await call(grafana, "/login", { headers: { Cookie: cookie } })).headers.get("location")).toBe("/");
    const logout = await call(grafana, "/logout", { headers: { Cookie: cookie } });
    expect([logout.status, logout.headers.get("location")]).toEqual([302, "/login"]);
    expect((await call(grafana, "/api/search", { headers: { Cookie: cookie } })).status).toBe(401);
  });

  it("publishes the delegator dashboard as the boot script does: public to anyone, without its queries", async () => {
    const api = `/api/dashboards/uid/${DELEGATOR_UID}/public-dashboards`;
    const before = await call(grafana, api, { headers: ADMIN });
    expect(before.status).toBe(404);
    expect(before.body).not.toContain("accessToken");
    // The body publishDashboardScript sends.
    const body = { accessToken: TOKEN, isEnabled: true, timeSelectionEnabled: false, annotationsEnabled: false, share: "public" };
    expect((await call(grafana, `${api}/`, post(body))).status).toBe(401);
    const created = await call(grafana, `${api}/`, post(body, ADMIN));
    expect(created.status).toBe(200);
    expect(created.json).toMatchObject({ dashboardUid: DELEGATOR_UID, accessToken: TOKEN, isEnabled: true, share: "public", createdBy: 1 });
    expect((await call(grafana, api, { headers: ADMIN })).json).toMatchObject({ accessToken: TOKEN });
    const again = await call(grafana, `${api}/`, post(body, ADMIN));
    expect([again.status, (again.json as { messageId: string }).messageId]).toEqual([400, "publicdashboards.dashboardIsPublic"]);

    const view = await call(grafana, `/api/public/dashboards/${TOKEN}`);
    expect(view.status).toBe(200);
    expect((view.json as { dashboard: { title: string } }).dashboard.title).toBe(DELEGATOR_TITLE);
    expect(view.body).not.toContain('"expr"');
    expect((view.json as { meta: { canEdit: boolean } }).meta.canEdit).toBe(false);
    const page = await call(grafana, `/public-dashboards/${TOKEN}`);
    expect([page.status, page.headers.get("content-type")?.startsWith("text/html")]).toEqual([200, true]);
    const list = await call(grafana, "/api/dashboards/public-dashboards", { headers: ADMIN });
    expect(list.json).toMatchObject({ publicDashboards: [{ title: DELEGATOR_TITLE, accessToken: TOKEN, isEnabled: true }], totalCount: 1 });

    expect((await call(grafana, `/api/public/dashboards/${TOKEN}/panels/1/query`, post({}))).status).toBe(501);
  });

  it("refuses public views of a malformed, unknown or paused token, and publishing a dashboard that does not exist", async () => {
    expect((await call(grafana, "/api/public/dashboards/not-a-token")).json).toMatchObject({ statusCode: 400, messageId: "publicdashboards.invalidAccessToken" });
    expect((await call(grafana, "/api/public/dashboards/00000000000040008000000000000000")).json).toMatchObject({ statusCode: 404, messageId: "publicdashboards.notFound" });
    const missing = await call(grafana, "/api/dashboards/uid/not-there/public-dashboards/", post({ isEnabled: true }, ADMIN));
    expect([missing.status, (missing.json as { messageId: string }).messageId]).toEqual([404, "publicdashboards.dashboardNotFound"]);
    const badShare = await call(grafana, `/api/dashboards/uid/${(operatorDashboard(config.name) as { uid: string }).uid}/public-dashboards/`, post({ share: "world" }, ADMIN));
    expect([badShare.status, (badShare.json as { messageId: string }).messageId]).toEqual([400, "publicdashboards.invalidShareType"]);

    const mine = (await call(grafana, `/api/dashboards/uid/${DELEGATOR_UID}/public-dashboards`, { headers: ADMIN })).json as { uid: string } | undefined;
    if (!mine) throw new Error("publish the delegator dashboard first (the test above)");
    const patch = (isEnabled: boolean) => ({ method: "PATCH", headers: { ...ADMIN, "Content-Type": "application/json" }, body: JSON.stringify({ isEnabled }) });
    expect((await call(grafana, `/api/dashboards/uid/${DELEGATOR_UID}/public-dashboards/${mine.uid}`, patch(false))).status).toBe(200);
    expect((await call(grafana, `/api/public/dashboards/${TOKEN}`)).json).toMatchObject({ statusCode: 403, message: "Dashboard paused" });
    expect((await call(grafana, `/api/dashboards/uid/${DELEGATOR_UID}/public-dashboards/${mine.uid}`, patch(true))).status).toBe(200);
    expect((await call(grafana, `/api/public/dashboards/${TOKEN}`)).status).toBe(200);
  });

  it("keeps the admin password and the public dashboard across a restart, and ignores a changed admin_password", async () => {
    const api = `/api/dashboards/uid/${DELEGATOR_UID}/public-dashboards/`;
    const published = (await call(grafana, api, { headers: ADMIN })).status === 200 || (await call(grafana, api, post({ accessToken: TOKEN, isEnabled: true }, ADMIN))).status === 200;
    expect(published).toBe(true);
    await stopStandin(grafana, true);
    // Grafana applies admin_password only when it creates the admin user, at its first start.
    writeFileSync(join(grafana.dir, "admin-password"), "a-new-password");
    grafana = await startStandin({ dir: grafana.dir, env: Object.fromEntries(Object.entries(POOL_ENV).map(([k, v]) => [k, v.replaceAll("@DIR@", grafana.dir)])) });
    expect((await call(grafana, "/api/user", { headers: ADMIN })).status).toBe(200);
    expect((await call(grafana, "/api/user", { headers: basic("admin", "a-new-password") })).status).toBe(401);
    expect((await call(grafana, `/api/public/dashboards/${TOKEN}`)).status).toBe(200);
  });
});

/** Configurations Grafana would not start with, or that the stand-in cannot model (so it refuses rather than differ). */
const REFUSALS: [string, Parameters<typeof standinExit>[0], RegExp][] = [
  ["an admin password file that is missing", { env: { GF_SECURITY_ADMIN_PASSWORD: "$__file{/nonexistent/admin-password}" } }, /expander 'file'.*nonexistent\/admin-password/],
  ["anonymous access", { env: { GF_AUTH_ANONYMOUS_ENABLED: "true" } }, /does not model \[auth\.anonymous\] enabled = true \(GF_AUTH_ANONYMOUS_ENABLED\)/],
  ["sign-up", { env: { GF_USERS_ALLOW_SIGN_UP: "true" } }, /does not model \[users\] allow_sign_up = true/],
  ["HTTPS", { env: { GF_SERVER_PROTOCOL: "https" } }, /serves only protocol = http/],
  ["a dashboard provider file that is not YAML", { files: { "provisioning/dashboards/bad.yaml": "providers: [unclosed" } }, /could not parse .*bad\.yaml/],
  ["a provider of another type", { files: { "provisioning/dashboards/p.yaml": "apiVersion: 1\nproviders: [{name: p, type: git, options: {path: /tmp}}]\n" } }, /type 'git'; only 'file' exists/],
  ["two default data sources", { files: { "provisioning/datasources/d.yaml": "apiVersion: 1\ndatasources:\n  - {name: a, type: prometheus, isDefault: true}\n  - {name: b, type: prometheus, isDefault: true}\n" } }, /Only one datasource per organization can be marked as default/],
  ["a data directory it cannot create", { files: { "data": "a file where the data directory should be" } }, /failed to open the database/],
  ["an unknown flag", { args: ["--bogus=1"] }, /flag provided but not defined: -bogus/],
  ["a --config file that is missing", { configPath: "/nonexistent/grafana.ini" }, /failed to parse "\/nonexistent\/grafana.ini"/],
];

describe.skipIf(SKIP)(`the Grafana stand-in, configured otherwise${SKIP ? ` [skipped: ${SKIP}]` : ""}`, () => {
  it("has no public dashboards API or view while public dashboards are disabled (404)", async () => {
    const grafana = await hostServer({ ...POOL_ENV, GF_PUBLIC_DASHBOARDS_ENABLED: "false" });
    try {
      const api = `/api/dashboards/uid/${DELEGATOR_UID}/public-dashboards`;
      expect((await call(grafana, api, { headers: ADMIN })).status).toBe(404);
      expect((await call(grafana, `${api}/`, post({ accessToken: TOKEN, isEnabled: true }, ADMIN))).status).toBe(404);
      expect((await call(grafana, "/api/dashboards/public-dashboards", { headers: ADMIN })).status).toBe(404);
      expect((await call(grafana, `/api/public/dashboards/${TOKEN}`)).status).toBe(404);
      expect((await call(grafana, `/public-dashboards/${TOKEN}`)).status).toBe(404);
      // The rest of Grafana is there.
      expect((await call(grafana, `/api/dashboards/uid/${DELEGATOR_UID}`, { headers: ADMIN })).status).toBe(200);
    } finally {
      await stopStandin(grafana);
    }
  });

  it("does not read GF_SECURITY_ADMIN_PASSWORD__FILE (only Grafana's Docker image does): the admin password stays 'admin'", async () => {
    const grafana = await hostServer({ GF_SECURITY_ADMIN_PASSWORD__FILE: "@DIR@/admin-password", GF_PUBLIC_DASHBOARDS_ENABLED: "true" });
    try {
      expect((await call(grafana, "/api/user", { headers: ADMIN })).status).toBe(401);
      expect((await call(grafana, "/api/user", { headers: basic("admin", "admin") })).status).toBe(200);
      expect(grafana.output()).toContain("GF_SECURITY_ADMIN_PASSWORD__FILE is ignored");
    } finally {
      await stopStandin(grafana);
    }
  });

  it("blocks a user name after five failed logins within five minutes, even with the right password", async () => {
    const grafana = await hostServer(POOL_ENV);
    try {
      for (let i = 0; i < 5; i += 1) expect((await call(grafana, "/api/user", { headers: basic("admin", `guess-${i}`) })).status).toBe(401);
      expect((await call(grafana, "/api/user", { headers: ADMIN })).status).toBe(401);
      expect((await call(grafana, "/login", post({ user: "admin", password: PASSWORD }))).status).toBe(401);
    } finally {
      await stopStandin(grafana);
    }
  });

  it("reads grafana.ini as Grafana does: ';' starts a comment unless the value is quoted", async () => {
    const ini = (password: string) => `[security]\nadmin_password = ${password}\n`;
    const plain = await startStandin({ grafanaIni: ini("abc;def") });
    const quoted = await startStandin({ grafanaIni: ini('"""abc;def"""') });
    try {
      expect((await call(plain, "/api/user", { headers: basic("admin", "abc") })).status).toBe(200);
      expect((await call(quoted, "/api/user", { headers: basic("admin", "abc;def") })).status).toBe(200);
    } finally {
      await stopStandin(plain);
      await stopStandin(quoted);
    }
  });

  it("skips dashboard files Grafana would skip, logs why, and serves the rest", async () => {
    const dashboard = (uid: string, title = `Dashboard ${uid}`) => JSON.stringify({ uid, title, panels: [] });
    const grafana = await startStandinIn(
      (dir) => ({
        "provisioning/dashboards/a.yaml": `apiVersion: 1\nproviders:\n  - name: a\n    folder: Pool\n    options: {path: ${dir}/a}\n  - name: gone\n    options: {path: ${dir}/missing}\n`,
        "a/good.json": dashboard("good"),
        "a/nested/also-good.json": dashboard("also-good"),
        "a/broken.json": "{ not json",
        "a/untitled.json": JSON.stringify({ uid: "untitled", panels: [] }),
        "a/long.json": dashboard("x".repeat(41)),
        "a/twin-1.json": dashboard("twin"),
        "a/twin-2.json": dashboard("twin"),
      }),
      {},
    );
    try {
      const admin = basic("admin", "admin");
      const hits = (await call(grafana, "/api/search", { headers: admin })).json as { uid: string; type: string; folderTitle?: string }[];
      expect(hits.filter((h) => h.type === "dash-db").map((h) => h.uid).sort()).toEqual(["also-good", "good"]);
      expect(hits.find((h) => h.uid === "good")?.folderTitle).toBe("Pool");
      expect(hits.filter((h) => h.type === "dash-folder").map((h) => h.uid)).toHaveLength(1);
      for (const why of ["failed to load dashboard from file", "Dashboard title cannot be empty", "invalid uid", "the same UID is used more than once", "Cannot read directory"]) {
        expect(grafana.output()).toContain(why);
      }
      expect(readFileSync(join(grafana.dir, "log/grafana.log"), "utf8")).toContain("Cannot read directory");
    } finally {
      await stopStandin(grafana);
    }
  });

  it.each(REFUSALS)("refuses to start with %s, and says why", async (_what, options, why) => {
    const result = await standinExit(options);
    rmSync(result.dir, { recursive: true, force: true });
    expect(result.code, result.output).toBe(1);
    expect(result.output).toMatch(why);
  });

  it("refuses to start when its port is taken", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const address = holder.address();
    try {
      const result = await standinExit({ port: typeof address === "object" && address ? address.port : 0 });
      rmSync(result.dir, { recursive: true, force: true });
      expect(result.code).toBe(1);
      expect(result.output).toMatch(/failed to open listener/);
    } finally {
      holder.close();
    }
  });
});
