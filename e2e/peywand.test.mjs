// End-to-end: a real Peywand server on a synthetic registry, driven in Debian's Chromium.
// Run by scripts/test (PEYWAND_BIN names the binary). Screenshots go to e2e/artifacts/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BIN = process.env.PEYWAND_BIN ?? "target/debug/peywand";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ARTIFACTS = new URL("./artifacts/", import.meta.url).pathname;
// The README's pictures of the product, refreshed by every run.
const SCREENSHOTS = new URL("../docs/screenshots/", import.meta.url).pathname;
const PASSWORD = "a long enough passphrase for tests";
const MAX_PAGE_BYTES = 300 * 1024;

let dir, server, base, browser, records, sought;

function peywand(args, input) {
  const r = spawnSync(BIN, args, { input, encoding: "utf8", env: { ...process.env, PEYWAND_LOG: "error" } });
  assert.equal(r.status, 0, `peywand ${args.join(" ")}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** The synthetic registry as rows of named columns. */
function readCsv(path) {
  const rows = [];
  const text = readFileSync(path, "utf8");
  const lines = text.split("\n").filter((l) => l.length > 0);
  const split = (line) => {
    const out = [];
    let cur = "", quoted = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i];
      if (quoted) {
        if (ch === '"' && line[i + 1] === '"') { cur += '"'; i++; }
        else if (ch === '"') quoted = false;
        else cur += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === ",") { out.push(cur); cur = ""; }
      else cur += ch;
    }
    out.push(cur);
    return out;
  };
  const header = split(lines[0]);
  for (const line of lines.slice(1)) {
    const cells = split(line);
    rows.push(Object.fromEntries(header.map((h, i) => [h, cells[i] ?? ""])));
  }
  return rows;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "peywand-e2e-"));
  mkdirSync(ARTIFACTS, { recursive: true });
  mkdirSync(SCREENSHOTS, { recursive: true });
  // PEYWAND_E2E_DB names an empty PostgreSQL database for the same tests against a hub
  // (scripts/test runs them on both backends); otherwise an SQLite file.
  const db = process.env.PEYWAND_E2E_DB ?? join(dir, "e2e.db");
  peywand(["synth", "--people", "1500", "--seed", "11", "--out", join(dir, "synth")]);
  peywand(["import", "--db", db, join(dir, "synth", "registry.csv"),
    "--household-details", join(dir, "synth", "households.jsonl")]);
  peywand(["dedupe", "--db", db]);
  records = readCsv(join(dir, "synth", "registry.csv"));
  // A person with Latin-script names and a full set of names, to come back spelled differently.
  sought = records.find((r) => /^[A-Za-z]{5,}$/.test(r.given_name) && /^[A-Za-z ]{4,}$/.test(r.father_name)
    && /^[A-Za-z ]{4,}$/.test(r.grandfather_name) && r.sex !== "" && r.birth_date !== "");
  assert.ok(sought, "a person with Latin names in the synthetic registry");
  for (const [name, role, site] of [["rahima", "registrar", "torkham"], ["karima", "caseworker", "torkham"], ["farid", "information_manager", null], ["daud", "distribution_officer", "torkham"]]) {
    const args = ["user", "add", "--db", db, "--username", name, "--role", role];
    if (site) args.push("--site", site);
    peywand(args, PASSWORD + "\n");
  }
  server = spawn(BIN, ["serve", "--db", db, "--addr", "127.0.0.1:0"], { env: { ...process.env, PEYWAND_LOG: "error" } });
  base = await new Promise((resolve, reject) => {
    let seen = "";
    server.stdout.on("data", (d) => {
      seen += d;
      const m = seen.match(/open (http:\/\/[0-9.:]+)\//);
      if (m) resolve(m[1]);
    });
    server.on("exit", (code) => reject(new Error(`server exited ${code}: ${seen}`)));
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
});

after(async () => {
  await browser?.close();
  server?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A signed-in page that records what it loads. */
async function signedIn(username, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport, locale: "en-GB" });
  const page = await context.newPage();
  const loads = [];
  page.on("requestfinished", async (request) => {
    const response = await request.response();
    const body = response ? await response.body().catch(() => Buffer.alloc(0)) : Buffer.alloc(0);
    loads.push({ url: request.url(), bytes: body.length });
  });
  await page.goto(`${base}/login`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForLoadState("networkidle");
  return { page, context, loads };
}

/** What a page loads from its first request: within budget, and only from this server. */
async function firstLoad(session, path) {
  session.loads.length = 0;
  await session.page.goto(`${base}${path}`);
  await session.page.waitForLoadState("networkidle");
  const total = session.loads.reduce((n, l) => n + l.bytes, 0);
  assert.ok(total <= MAX_PAGE_BYTES, `${path}: ${total} bytes`);
  for (const l of session.loads) assert.ok(l.url.startsWith(base), `${path} loaded ${l.url}`);
  console.log(`first load of ${path}: ${total} bytes in ${session.loads.length} requests`);
  return total;
}

/** Every visible form control has a label; Tab moves through the form in order. */
async function accessible(page) {
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
      .filter((el) => el.labels.length === 0 && !el.getAttribute("aria-label"))
      .map((el) => el.name));
  assert.deepEqual(unlabelled, [], "inputs without labels");
}

let registeredMembers = 0;
let registeredHouseholds = 0;
let largeHousehold, reunifiedCase;

test("a registrar registers a household and is warned about a returning person spelled differently", async () => {
  const s = await signedIn("rahima");
  const { page } = s;
  await firstLoad(s, "/households/new");
  await accessible(page);
  // The desk is keyboard-first: the head's given name has focus, Tab goes to the father's name.
  assert.equal(await page.evaluate(() => document.activeElement?.name), "given_name_0");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.name), "father_name_0");

  // The same man comes back; the desk types his given name with one letter doubled.
  const variant = sought.given_name.slice(0, 2) + sought.given_name[1] + sought.given_name.slice(2);
  await page.fill("[name=given_name_0]", variant);
  await page.fill("[name=father_name_0]", sought.father_name);
  await page.fill("[name=grandfather_name_0]", sought.grandfather_name);
  await page.selectOption("[name=sex_0]", sought.sex.toUpperCase().startsWith("F") ? "F" : "M");
  await page.fill("[name=birth_date_0]", sought.birth_date);
  const warning = page.locator("#possible-duplicates .warning");
  await warning.waitFor({ timeout: 10000 });
  const text = await warning.innerText();
  assert.match(text, /Possibly already registered/);
  assert.ok(text.includes(sought.record_id), `the earlier record ${sought.record_id} is named: ${text}`);
  assert.match(text, /Father's name: same name/);
  await page.screenshot({ path: join(ARTIFACTS, "desk-duplicate-warning.png"), fullPage: true });

  await page.fill("[name=given_name_1]", "Zarghuna");
  await page.selectOption("[name=sex_1]", "F");
  await page.selectOption("[name=relationship_1]", "spouse");
  await page.getByRole("button", { name: "Save household" }).click();
  await page.waitForURL(/\/households\/[0-9a-f-]+\?saved=1/);
  registeredMembers += 2;
  registeredHouseholds += 1;
  assert.match(await page.locator(".notice").innerText(), /The household is saved/);
  assert.ok((await page.content()).includes("Zarghuna"));
  await page.getByRole("link", { name: "Print the household card" }).click();
  await page.locator(".qr svg").waitFor();
  await page.screenshot({ path: join(ARTIFACTS, "household-card.png") });
  await s.context.close();
});

test("a registrar registers a household of eleven with the keyboard alone", async () => {
  const s = await signedIn("rahima");
  const { page } = s;
  await page.goto(`${base}/households/new`);
  assert.equal(await page.locator("fieldset.member").count(), 2, "the desk starts with the head and one member");
  let keystrokes = 0;
  const type = async (text) => { await page.keyboard.type(text); keystrokes += [...text].length; };
  const press = async (key) => { await page.keyboard.press(key); keystrokes += 1; };
  const focused = () => page.evaluate(() => document.activeElement?.name || document.activeElement?.id);
  // A returning man, as the registry has him, comes as the fourth member: the panel follows him.
  const back = records.find((r) => r !== sought && /^[A-Za-z]{4,}$/.test(r.given_name)
    && /^[A-Za-z ]{4,}$/.test(r.father_name) && /^[0-9]{2}$/.test(r.age) && r.sex.toUpperCase().startsWith("M"));
  const family = [
    ["Abdul Wahid", "Gul Ahmad", "m", "46", null],
    ["Shakila", "Noor Mohammad", "f", "41", "sp"],
    ["Najibullah", "Abdul Wahid", "m", "19", "so"],
    [back.given_name, back.father_name, "m", back.age, "b"],
    ["Hamidullah", "Abdul Wahid", "m", "16", "so"],
    ["Marzia", "Abdul Wahid", "f", "14", "d"],
    ["Zarmina", "Abdul Wahid", "f", "12", "d"],
    ["Sayed Rahim", "Abdul Wahid", "m", "9", "so"],
    ["Fatima", "Abdul Wahid", "f", "7", "d"],
    ["Wahida", "Abdul Wahid", "f", "4", "d"],
    ["Bibi Gul", "Sher Khan", "f", "70", "grandp"],
  ];
  const panel = page.locator("#possible-duplicates");
  for (const [i, [given, father, sex, age, relationship]] of family.entries()) {
    assert.equal(await focused(), `given_name_${i}`, `the cursor waits in member ${i + 1}'s given name`);
    await type(given); await press("Tab");
    await type(father); await press("Tab");
    await type(sex); await press("Tab");
    await type(age); await press("Tab");
    // The head's relationship is already "head"; the select finds the others by their first
    // letters: "sp" spouse, "so" son, "d" daughter, "b" brother, "grandp" grandparent.
    if (relationship) await type(relationship);
    if (i === 3) {
      await panel.locator(".warning", { hasText: back.record_id }).waitFor({ timeout: 10000 });
      await page.screenshot({ path: join(SCREENSHOTS, "desk-en.png") });
    }
    if (i === 4) {
      await page.waitForFunction((id) => !document.querySelector("#possible-duplicates").innerText.includes(id), back.record_id);
    }
    if (i < family.length - 1) await press("Enter");
  }
  assert.equal(await page.locator("fieldset.member").count(), 11);
  const relationships = await page.locator("select[name^=relationship_]").evaluateAll((all) => all.map((s) => s.value));
  assert.deepEqual(relationships, ["head", "spouse", "son", "brother", "son", "daughter", "daughter", "son",
    "daughter", "daughter", "grandparent"]);
  assert.equal(await page.locator("[name=sex_5]").inputValue(), "F");
  // Past the last member's folded details and "add a member" to "save".
  await press("Tab"); await press("Tab"); await press("Tab");
  assert.equal(await focused(), "save-household");
  await press("Enter");
  await page.waitForURL(/\/households\/[0-9a-f-]+\?saved=1/);
  const members = await page.locator("table tbody tr").allInnerTexts();
  assert.equal(members.length, 11, members.join("\n"));
  for (const [given] of family) assert.ok(members.some((m) => m.includes(given)), `${given} saved`);
  largeHousehold = page.url().split("?")[0];
  registeredMembers += 11;
  registeredHouseholds += 1;
  console.log(`a household of eleven registered with ${keystrokes} keystrokes, no mouse`);
  await s.context.close();
});

test("a caseworker opens a tracing request, confirms the match and records the reunification", async () => {
  const s = await signedIn("karima");
  const { page } = s;
  await firstLoad(s, "/tracing/new");
  await accessible(page);
  await page.getByLabel("Requester's name").fill("Bibi Hawa");
  await page.getByLabel("Relationship to the person sought").fill("mother");
  await page.getByLabel("Given name", { exact: true }).fill(sought.given_name);
  await page.getByLabel("Father's name", { exact: true }).fill(sought.father_name);
  await page.getByLabel("Grandfather's name", { exact: true }).fill(sought.grandfather_name);
  await page.getByLabel("Last seen where").fill("Torkham");
  await page.getByRole("button", { name: "Open the request" }).click();
  await page.waitForURL(/\/tracing\/[0-9a-f-]{36}$/);
  const review = page.locator(".candidate-review", { hasText: sought.record_id });
  await review.waitFor();
  await page.getByRole("button", { name: "Take this case" }).click();
  await page.waitForLoadState("networkidle");
  assert.match(await page.locator("dl.facts").innerText(), /Assigned to\s+karima/);
  const caseUrl = page.url();
  await page.goto(`${base}/tracing?show=mine`);
  assert.equal(await page.locator("tbody tr").count(), 1, "her own queue holds the case she took");
  await page.goto(caseUrl);
  await review.waitFor();
  await page.screenshot({ path: join(ARTIFACTS, "tracing-side-by-side.png"), fullPage: true });
  await review.locator("select[name=status]").selectOption("confirmed");
  await review.locator("input[name=reason]").fill("the mother recognised him");
  await review.getByRole("button", { name: "Record the decision" }).click();
  await page.waitForLoadState("networkidle");
  assert.equal((await page.locator("dd.status").innerText()).trim(), "Match confirmed");
  for (const step of ["family_contacted", "reunified"]) {
    await page.locator("select[name=step]").selectOption(step);
    await page.locator("input[name=place]").fill("Jalalabad");
    await page.getByRole("button", { name: "Record the step" }).click();
    await page.waitForLoadState("networkidle");
  }
  assert.equal((await page.locator("dd.status").innerText()).trim(), "Reunified");
  assert.equal(await page.locator("ol.steps li").count(), 2);
  reunifiedCase = caseUrl;
  await page.screenshot({ path: join(SCREENSHOTS, "case-en.png"), fullPage: true });
  // The same case in Dari: its history in Dari, with no English sentence from the server.
  await page.getByRole("link", { name: "دری" }).click();
  await page.waitForLoadState("networkidle");
  await page.goto(caseUrl);
  const history = await page.locator("ol.history").innerText();
  assert.ok(history.includes("درخواست باز شد"), `the request's opening in Dari: ${history}`);
  for (const english of ["Request opened", "Possible match", "Status changed", "Assigned to",
                         "Reunified", "Match confirmed", "found (score", "status open"]) {
    assert.ok(!history.includes(english), `"${english}" in a Dari history: ${history}`);
  }
  await page.screenshot({ path: join(ARTIFACTS, "dari-case.png"), fullPage: true });
  await page.screenshot({ path: join(SCREENSHOTS, "case-fa.png"), fullPage: true });
  await s.context.close();
});

test("the dashboard draws arrivals and the pyramid, suppresses small cells, and exports HXL", async () => {
  const s = await signedIn("farid");
  const { page } = s;
  const bytes = await firstLoad(s, "/dashboard");
  assert.ok(bytes < 150 * 1024, `the dashboard weighs ${bytes} bytes`);
  await accessible(page);
  const people = records.length + registeredMembers;
  assert.equal(await page.locator("#headline-people .headline-value").innerText(), String(people));
  const households = new Set(records.map((r) => r.household_id)).size + registeredHouseholds;
  assert.equal(await page.locator("#headline-households .headline-value").innerText(), String(households));
  // Arrivals over time as stacked areas, one band per crossing point, named in a legend.
  const arrivals = page.locator("#figure-arrivals svg.chart[role=img]");
  assert.match(await arrivals.getAttribute("aria-label"), /Arrivals per (day|week) and crossing point/);
  assert.ok(await arrivals.locator("polygon.area").count() >= 2, "a band per crossing point");
  assert.ok((await page.locator("#figure-arrivals .legend").innerText()).includes("Torkham"));
  assert.ok(await arrivals.locator("text.tick").count() >= 4, "the axes are labelled");
  assert.equal(await page.locator("#figure-arrivals table").count(), 0, "the table behind it is a CSV");
  // A pyramid: women on the left, men on the right, every age band labelled.
  const pyramid = page.locator("#figure-pyramid svg.chart");
  const labels = await pyramid.locator("text.label").allTextContents();
  for (const l of ["Women", "Men", "0-4", "18-59", "60+"]) assert.ok(labels.includes(l), `${l} in ${labels}`);
  const women = await pyramid.locator("rect.women").first().boundingBox();
  const men = await pyramid.locator("rect.men").first().boundingBox();
  assert.ok(women.x < men.x, "women left, men right");
  // The synthetic families say where they go, how they came, what they need first.
  const destinations = await page.locator("#figure-destinations tbody tr").allInnerTexts();
  assert.ok(destinations.length > 5 && !destinations[0].includes("Not known"), destinations.join("\n"));
  for (const figure of ["vulnerabilities", "return_types", "needs"]) {
    assert.ok(await page.locator(`#figure-${figure} tbody tr`).count() >= 3, `${figure} shows something`);
  }
  assert.notEqual(await page.locator("#headline-disability .headline-value").innerText(), "0");
  const reunified = page.locator("#figure-tracing tr", { hasText: "Families reunified" });
  assert.equal((await reunified.locator("td").innerText()).trim(), "<5", "one reunified family is a small cell");
  await page.screenshot({ path: join(ARTIFACTS, "dashboard.png"), fullPage: true });
  await page.screenshot({ path: join(SCREENSHOTS, "dashboard-en.png") });
  const csv = await page.evaluate(async () => (await fetch("/dashboard/tracing.csv")).text());
  const lines = csv.trim().split("\n");
  assert.equal(lines[1], "#indicator+name,#indicator+num", "HXL hashtag row under the header");
  assert.ok(lines.includes("cases_reunified,<5"), csv);
  const perDay = await page.evaluate(async () => (await fetch("/dashboard/arrivals.csv")).text());
  assert.ok(perDay.split("\n").length > 100, "the CSV keeps a row per day and site");
  // At 360 px the page does not scroll sideways and the charts fit the screen.
  await page.setViewportSize({ width: 360, height: 740 });
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 360, `page is ${width} px wide at 360`);
  for (const chart of await page.locator("svg.chart").all()) {
    const box = await chart.boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= 360, `a chart at ${box.x}+${box.width}`);
  }
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  console.log(`dashboard at 360 px: ${height} px tall`);
  await page.screenshot({ path: join(ARTIFACTS, "dashboard-360.png"), fullPage: true });
  // In Dari: labelled in Dari, with Persian digits.
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.getByRole("link", { name: "دری" }).click();
  await page.waitForLoadState("networkidle");
  const dari = await page.locator("#figure-pyramid svg.chart").textContent();
  assert.ok(dari.includes("زنان") && dari.includes("۱۸-۵۹"), dari);
  await page.screenshot({ path: join(SCREENSHOTS, "dashboard-fa.png") });
  // The share of people sought who registered: refused out of bounds in Dari, then set, and
  // said with who set it; the cases that ended are counted beside it.
  const share = page.locator("#registered-share");
  // The browser would stop 100 itself; the server must refuse it too.
  await share.evaluate((form) => { form.noValidate = true; });
  await share.locator("input[name=percent]").fill("100");
  await share.getByRole("button").click();
  await page.waitForLoadState("networkidle");
  assert.ok((await page.locator("#registered-share [role=alert]").innerText()).includes("۱ تا ۹۹"));
  await page.locator("#registered-share input[name=percent]").fill("60");
  await page.locator("#registered-share").getByRole("button").click();
  await page.waitForLoadState("networkidle");
  const said = await page.locator("#registered-share").innerText();
  assert.ok(said.includes("۶۰%") && said.includes("farid"), said);
  assert.equal(await page.locator("#registered-share [role=alert]").count(), 0);
  await page.locator("#registered-share input[name=percent]").fill("50");
  await page.locator("#registered-share").getByRole("button").click();
  await page.waitForLoadState("networkidle");
  await s.context.close();
});

test("an information manager sees a person's records across sites and decides a doubtful pair", async () => {
  const s = await signedIn("farid");
  const { page } = s;
  await firstLoad(s, `/persons/${sought.record_id}`);
  await accessible(page);
  assert.match(await page.locator("h1").innerText(), new RegExp(sought.given_name));
  assert.equal(await page.locator("h2", { hasText: "Records of this person" }).count(), 1);
  await page.screenshot({ path: join(ARTIFACTS, "person-identity.png"), fullPage: true });

  await firstLoad(s, "/review");
  await accessible(page);
  const waiting = async () => Number((await page.locator(".count").innerText()).match(/\d+/)?.[0] ?? "0");
  const before = await waiting();
  assert.ok(before > 0, "the synthetic registry leaves doubtful pairs");
  const pair = page.locator("section.pair").first();
  const ids = await pair.locator("h2 a.ref").allInnerTexts();
  await page.screenshot({ path: join(ARTIFACTS, "review-queue.png"), fullPage: true });
  await pair.locator("select[name=decision]").selectOption("different");
  await pair.locator("input[name=reason]").fill("different fathers on their tazkiras");
  await pair.getByRole("button", { name: "Record the decision" }).click();
  await page.waitForURL(/\/review$/);
  assert.equal(await waiting(), before - 1, "the decided pair leaves the queue");
  const still = await page.locator("section.pair h2").allInnerTexts();
  assert.ok(!still.some((h) => h.includes(ids[0]) && h.includes(ids[1])), "and does not come back");
  await s.context.close();
});

test("a Dari page renders right to left with Solar Hijri dates", async () => {
  const s = await signedIn("rahima");
  const { page } = s;
  await page.goto(`${base}/`);
  await page.getByRole("link", { name: "دری" }).click();
  await page.waitForLoadState("networkidle");
  assert.equal(await page.getAttribute("html", "dir"), "rtl");
  assert.equal(await page.getAttribute("html", "lang"), "fa");
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).direction), "rtl");
  const nav = await page.locator("header nav").first().innerText();
  assert.ok(!/Register a household/.test(nav), `navigation is translated: ${nav}`);
  const firstDate = await page.locator("tbody tr td:nth-child(6)").first().innerText();
  assert.match(firstDate, /^[۰-۹]{4}\/[۰-۹]{2}\/[۰-۹]{2}$/, "Solar Hijri, Persian digits");
  await page.screenshot({ path: join(ARTIFACTS, "dari-rtl.png"), fullPage: true });
  await page.goto(`${base}/households/new`);
  await accessible(page);
  await page.screenshot({ path: join(ARTIFACTS, "dari-desk.png"), fullPage: true });
  await page.fill("[name=given_name_0]", "عبدالواحد");
  await page.fill("[name=father_name_0]", "گل احمد");
  await page.selectOption("[name=sex_0]", "M");
  await page.fill("[name=age_0]", "۴۶");
  await page.fill("[name=given_name_1]", "شکیلا");
  await page.fill("[name=father_name_1]", "نور محمد");
  await page.selectOption("[name=sex_1]", "F");
  await page.selectOption("[name=relationship_1]", "spouse");
  await page.screenshot({ path: join(SCREENSHOTS, "desk-fa.png") });
  await s.context.close();
});

/** The CSRF token a signed-in page carries, for a change made through the API from the page. */
async function csrfOf(page) {
  return page.locator("input[name=csrf]").first().inputValue();
}

test("the ranked list follows changed weights and is printed with them, in English and Dari", async () => {
  const s = await signedIn("farid");
  const { page } = s;
  await page.goto(`${base}/dashboard`);
  const created = await page.request.post(`${base}/api/v1/assistance/programmes`, {
    headers: { "x-csrf-token": await csrfOf(page) },
    data: { name: "Winter kits", kind: "winter_kit", entitlement: "once_per_household",
      season_from: "2025-11-01", season_to: "2099-02-28" },
  });
  assert.equal(created.status(), 201, await created.text());
  await firstLoad(s, "/assistance/ranking?site=torkham");
  await accessible(page);
  const rows = page.locator("#ranked tbody tr");
  assert.ok(await rows.count() > 5, "the households waiting at Torkham are listed");
  // Each score is explained next to it.
  assert.ok((await rows.first().locator(".reasons li").count()) > 0);
  await page.screenshot({ path: join(SCREENSHOTS, "ranking-en.png") });

  // Size alone counts: the largest household comes first, at once.
  const members = async () => (await page.locator("#ranked tbody tr td:nth-child(4)").allInnerTexts()).map(Number);
  const form = page.locator("#weights-form");
  for (const input of await form.locator("input[type=number]").all()) await input.fill("0");
  await form.locator("input[name=household_size]").fill("10");
  await form.getByRole("button", { name: "Save the weights and re-rank" }).click();
  await page.waitForURL(/\/assistance\/ranking\?/);
  const sizes = await members();
  assert.equal(sizes[0], Math.max(...sizes), `largest first: ${sizes.slice(0, 5)}`);
  assert.deepEqual(sizes, [...sizes].sort((a, b) => b - a), "by size alone, in order of size");
  assert.match(await page.locator("#weights-by").innerText(), /farid/);
  const largest = await page.locator("#ranked tbody tr a").first().getAttribute("href");

  // Printed: the weights in force are on the list.
  await page.getByRole("button", { name: "Print this list" }).click();
  await page.waitForURL(/\/assistance\/lists\/[0-9a-f-]+$/);
  const weights = await page.locator("#list-weights").innerText();
  assert.match(weights, /Household members\s+10/);
  assert.match(weights, /Older person alone\s+0/);
  assert.match(await page.locator("#printed").innerText(), /Printed by farid/);
  const printed = page.url();
  await page.emulateMedia({ media: "print" });
  assert.equal(await page.locator("header.top").isVisible(), false, "no menus on paper");
  await page.emulateMedia({ media: "screen" });

  // Back to the starting weights; the list printed keeps its own.
  await page.goto(`${base}/assistance/ranking?site=torkham`);
  const defaults = { female_headed_household: 30, unaccompanied_or_separated_child: 40, older_person_alone: 30,
    disability: 20, serious_medical_condition: 20, pregnant_or_lactating: 15, household_size: 2, weeks_waiting: 3, no_shelter: 20 };
  for (const [name, value] of Object.entries(defaults)) await form.locator(`input[name=${name}]`).fill(String(value));
  await form.getByRole("button", { name: "Save the weights and re-rank" }).click();
  await page.waitForURL(/\/assistance\/ranking\?/);
  assert.notEqual(await page.locator("#ranked tbody tr a").first().getAttribute("href"), largest,
    "re-ranked by the weights now in force");
  await page.goto(printed);
  assert.match(await page.locator("#list-weights").innerText(), /Household members\s+10/);

  // In Dari: right to left, Persian digits, the factors in Dari.
  await page.goto(`${base}/language?to=fa&back=/assistance/ranking%3Fsite%3Dtorkham`);
  await page.waitForLoadState("networkidle");
  assert.equal(await page.getAttribute("html", "dir"), "rtl");
  const score = await page.locator("#ranked tbody tr td.score").first().innerText();
  assert.match(score, /^[۰-۹]+$/, `a score in Persian digits: ${score}`);
  assert.match(await page.locator("#ranked").innerText(), /اعضای خانواده/);
  await page.screenshot({ path: join(SCREENSHOTS, "ranking-fa.png") });
  await page.goto(printed);
  assert.match(await page.locator("#list-weights").innerText(), /اعضای خانواده\s+۱۰/);
  await page.screenshot({ path: join(ARTIFACTS, "list-fa.png"), fullPage: true });
  await s.context.close();
});

test("a distribution officer scans a card, hands over a kit once, and a second is refused in Dari", async () => {
  const farid = await signedIn("farid");
  await farid.page.goto(`${base}/assistance/ranking?site=torkham`);
  const href = await farid.page.locator("#ranked tbody tr a").first().getAttribute("href");
  const household = href.split("/").pop();
  await farid.context.close();

  const s = await signedIn("daud");
  const { page } = s;
  await firstLoad(s, "/assistance");
  await accessible(page);
  // The field has the focus: a USB scanner types the card's id and presses Enter.
  assert.equal(await page.evaluate(() => document.activeElement?.name), "q");
  await page.keyboard.type(household);
  await page.keyboard.press("Enter");
  await page.waitForURL(new RegExp(`/assistance/households/${household}$`));
  await accessible(page);
  assert.match(await page.locator("#entitlements").innerText(), /Winter kits[\s\S]*Entitled/);
  assert.equal(await page.locator("#override-form").count(), 0, "an officer has no override");
  const recipients = await page.locator("#give-form select[name=received_by] option").allInnerTexts();
  assert.ok(recipients.length >= 1 && recipients[0] === "Head of household", `${recipients}`);
  await page.locator("#give-form select[name=kind]").selectOption("winter_kit");
  await page.getByRole("button", { name: "Record the hand-over" }).click();
  await page.waitForURL(/\?given=1$/);
  assert.match(await page.locator("#given").innerText(), /handed over/);
  assert.match(await page.locator("#received").innerText(), /Winter kit[\s\S]*daud/);
  await page.screenshot({ path: join(SCREENSHOTS, "distribution-en.png"), fullPage: true });

  // The same family again, now in Dari: refused, saying where, when and by whom.
  await page.goto(`${base}/language?to=fa&back=/assistance/households/${household}`);
  await page.waitForLoadState("networkidle");
  assert.equal(await page.getAttribute("html", "dir"), "rtl");
  await page.locator("#give-form select[name=kind]").selectOption("winter_kit");
  await page.locator("#give-form button[type=submit]").click();
  await page.locator("#refused").waitFor();
  const refused = await page.locator("#refused").innerText();
  assert.ok(refused.includes("قبلاً") && refused.includes("daud"), refused);
  assert.match(refused, /[۰-۹]{4}\/[۰-۹]{2}\/[۰-۹]{2}/, `the day in Solar Hijri: ${refused}`);
  assert.equal(await page.locator("#received tbody tr").count(), 1, "nothing more was written");
  await page.screenshot({ path: join(SCREENSHOTS, "distribution-fa.png"), fullPage: true });

  // A name typed instead of a card finds the family among this site's registrations.
  await page.goto(`${base}/language?to=en&back=/assistance`);
  await page.waitForLoadState("networkidle");
  const torkham = records.find((r) => /torkham/i.test(r.site) && /^[A-Za-z]{5,}$/.test(r.given_name));
  if (torkham) {
    await page.fill("[name=q]", torkham.given_name);
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/assistance\?q=/);
    assert.ok(await page.locator("table a[href^='/assistance/households/']").count() > 0, "found by name");
  }
  await s.context.close();
});

/** What the server wrote in English: its message keys, and its sentences (from en.ftl). */
const ENGLISH = (() => {
  const source = (lang) => readFileSync(new URL(`../crates/web/locales/${lang}.ftl`, import.meta.url), "utf8");
  const translated = source("fa") + source("ps");
  const keys = [], texts = [];
  for (const line of source("en").split("\n")) {
    const m = line.match(/^([a-z][a-z0-9-]*) = (.*)$/);
    if (!m) continue;
    if (m[1].includes("-")) keys.push(m[1]);
    for (const piece of m[2].split(/\{[^}]*\}/).map((p) => p.trim().replace(/^[^A-Za-z]+|[^A-Za-z.]+$/g, ""))) {
      // Words both languages keep as they are (CSV, HXL, PoR) are not English left behind.
      if (/[A-Za-z]{3,}/.test(piece) && !translated.includes(piece)) texts.push(piece);
    }
  }
  return { keys, texts };
})();

/** Every text the server wrote for the reader: text (of charts and options too) and labels,
 * leaving out values shown as a clerk typed them (marked translate="no"). */
async function pageText(page) {
  return page.evaluate(() => {
    const body = document.body.cloneNode(true);
    for (const e of body.querySelectorAll("[translate=no], script")) e.remove();
    const texts = [document.title];
    const walk = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
    while (walk.nextNode()) texts.push(walk.currentNode.nodeValue);
    for (const e of body.querySelectorAll("[aria-label], [placeholder], [title]")) {
      texts.push(e.getAttribute("aria-label"), e.getAttribute("placeholder"), e.getAttribute("title"));
    }
    return texts.filter(Boolean).join("\n");
  });
}

/** The English message keys and sentences found in a text. */
function englishIn(text) {
  const found = ENGLISH.keys.filter((k) => new RegExp(`(^|[^a-z0-9-])${k}($|[^a-z0-9-])`).test(text));
  for (const t of ENGLISH.texts) {
    if (new RegExp(`(^|[^A-Za-z])${t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[^A-Za-z])`).test(text)) found.push(t);
  }
  return found;
}

test("a thin request's case names the detail to ask the family for, in English and Dari", async () => {
  // Three girls named Nasima, of one age and province, registered with three fathers.
  const desk = await signedIn("rahima");
  await desk.page.goto(`${base}/households/new`);
  for (const father of ["Karim", "Jawad", "Sharifullah"]) {
    const saved = await desk.page.request.post(`${base}/api/v1/households`, {
      headers: { "x-csrf-token": await csrfOf(desk.page) },
      data: { members: [{ raw: { site: "torkham", registered_on: "2025-01-10",
        given_name: "Nasima", father_name: father, sex: "F", birth_date: "2015",
        province_of_origin: "Nangarhar" } }] },
    });
    assert.equal(saved.status(), 201, await saved.text());
  }
  await desk.context.close();
  // A mother who can say only her daughter's name, that she is a girl, and where they are from.
  const s = await signedIn("karima");
  const { page } = s;
  await page.goto(`${base}/tracing/new`);
  await page.fill("input[name=requester_name]", "Bibi Gul");
  await page.fill("input[name=given_name]", "Nasima");
  await page.selectOption("select[name=sex]", "F");
  await page.fill("input[name=province_of_origin]", "Nangarhar");
  await page.getByRole("button", { name: "Open the request" }).click();
  await page.waitForURL(/\/tracing\/[0-9a-f-]{36}$/);
  const settle = page.locator("p.settle");
  const english = await settle.innerText();
  assert.match(english, /registrations fit this request about equally/, english);
  assert.match(english, /Father's name/, english);
  assert.ok(!/[A-Z]{3}-\d/.test(english), `no registration is named: ${english}`);
  await page.screenshot({ path: join(ARTIFACTS, "settle-en.png"), fullPage: true });
  const caseUrl = page.url();
  await page.getByRole("link", { name: "دری" }).click();
  await page.waitForLoadState("networkidle");
  await page.goto(caseUrl);
  const dari = await page.locator("p.settle").innerText();
  assert.ok(dari.includes("از خانواده بپرسید") && dari.includes("نام پدر"), dari);
  assert.ok(!/[A-Za-z]/.test(dari), `no English in the Dari sentence: ${dari}`);
  await page.screenshot({ path: join(ARTIFACTS, "settle-fa.png"), fullPage: true });
  await s.context.close();
});

test("Dari and Pashto pages carry no English message key or sentence from the server", async () => {
  assert.ok(ENGLISH.keys.length > 100 && ENGLISH.texts.length > 100, "en.ftl read");
  assert.deepEqual(englishIn("Arrivals and tracing · dashboard-title"), ["dashboard-title", "Arrivals and tracing"],
    "the check finds what it looks for");
  const pages = {
    rahima: ["/", "/households/new", largeHousehold, `${largeHousehold}/card`],
    karima: ["/tracing", "/tracing/new", reunifiedCase],
    farid: ["/dashboard", "/review", `/persons/${sought.record_id}`, "/assistance/ranking?site=torkham"],
    daud: ["/assistance"],
  };
  for (const [user, paths] of Object.entries(pages)) {
    const s = await signedIn(user);
    for (const lang of ["fa", "ps"]) {
      await s.page.goto(`${base}/language?to=${lang}&back=/`);
      for (const path of paths) {
        await s.page.goto(path.startsWith("http") ? path : `${base}${path}`);
        await s.page.waitForLoadState("networkidle");
        assert.equal(await s.page.getAttribute("html", "lang"), lang);
        const found = englishIn(await pageText(s.page));
        assert.deepEqual(found, [], `English on ${path} in ${lang}`);
      }
    }
    if (user === "karima") {
      // The case's history in Pashto.
      const history = await s.page.locator("ol.history").innerText();
      assert.ok(history.includes("غوښتنه پرانیستل شوه"), `the request's opening in Pashto: ${history}`);
      await s.page.screenshot({ path: join(ARTIFACTS, "pashto-case.png"), fullPage: true });
    }
    await s.context.close();
  }
});
