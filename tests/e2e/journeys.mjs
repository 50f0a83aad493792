// Browser journeys of assetport's five personas, in real headless Chromium driven by Playwright,
// against a running server (started by tests/e2e.rs, or by hand: see README.md here).
//
//   1. admin   — signs in, builds folders, groups, memberships and grants through the pages,
//                uploads images, titles and publishes them, creates a password link with a
//                recipient (its QR code decoded), and finds the recipient's mail in the outbox;
//                checks the menu at 1024, 1280, 1440 and 390 px ("More"), brands the sign-in
//                page with a background and the header with a dark SVG logo (refused on the
//                dark header, shown on the light one: pixels of a screenshot) and a tagline,
//                and makes a link that needs a one-time code through the API; approves two
//                throwaway drafts with the review queue's "Select all" and "Approve selected";
//                makes a collection on /collections, fills it with "Add selected to" from two
//                folders and features it; its search results' bar offers the admin's actions.
//   2. partner — signs in; the home page's strips (the area with its count, the featured
//                collection counting what the partner may see, "New this week"), each item a
//                link to its page; searches, selects all the results and downloads them as one
//                ZIP of Small JPEGs named after the search; opens an asset and its zoomed
//                preview, selects several assets and downloads them as one ZIP; key pages
//                again on a phone.
//   3. agency  — signs in, drops a folder tree on the upload zone (and picks another folder),
//                watches the progress bars, and finds its submissions waiting for review.
//   4. visitor — opens the link on a phone, is refused a wrong password, unlocks it, looks
//                through the previews in the lightbox (keyboard, swipe, zoom, #asset-ID
//                addresses), downloads one file, "Download all" and the Small and Web JPEGs
//                from a card's "Sizes" menu (pixel size as promised); the gates on the branded
//                background, a code link's screen naming the masked address; the admin's
//                reports on a phone.
//   5. sender  — without an account, fills the delivery slots of an upload link the admin made:
//                wrong files refused with the reason, right ones sent with a title each (the big
//                one through tus), what they delivered still listed after a reload; checked
//                through the admin's API. The link's QR code (created page, list) is decoded.
//   6. sso     — the admin adds an OpenID provider on /admin/sso (a real oidc-provider started by
//                tests/e2e.rs, OIDC_ISSUER); a partner signs in on a phone with "Sign in with …"
//                through the provider's login and consent, lands in the library, signs out of
//                both; an unknown provider's page is a friendly one. Skipped without OIDC_ISSUER.
//
// Every visited page is checked (no sideways scrolling, named form controls, no broken images or
// script errors; on the main pages Tab from the top reaches the main action with a visible focus)
// and screenshotted to SHOTS_DIR as <journey>-<step>-<width>.png. Exit 0 only if all pass.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import {
  IN_PAGE, Journey, StepFailed, contrastingPixels, decodeQr, expect, jpegSize, listEml, makeImages, parseCssColour, poll, readEml,
  readPng, readZip, rel, sleep, width,
} from './lib.mjs';

const env = (k, d) => (process.env[k] !== undefined && process.env[k] !== '' ? process.env[k] : d);
const missing = ['BASE_URL', 'ADMIN_EMAIL', 'PARTNER_EMAIL', 'AGENCY_EMAIL', 'PASSWORD', 'OUTBOX_DIR'].filter((k) => !env(k));
if (missing.length) {
  console.error(`journeys.mjs: missing environment variable(s): ${missing.join(', ')} (see tests/e2e/README.md)`);
  process.exit(2);
}
const BASE = env('BASE_URL').replace(/\/+$/, '');
const ADMIN = env('ADMIN_EMAIL');
const PARTNER = env('PARTNER_EMAIL');
const AGENCY = env('AGENCY_EMAIL');
const PASSWORD = env('PASSWORD');
const OUTBOX = env('OUTBOX_DIR');
const SHOTS = path.resolve(env('SHOTS_DIR', path.join(path.dirname(new URL(import.meta.url).pathname), 'shots')));
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const TIME_LIMIT_S = Number(env('E2E_TIME_LIMIT_S', '170'));
// Serves /static/* from this directory instead of the server (files it lacks still come from
// the server): static/ changes tried against a server built before them. tests/e2e.rs never
// sets it.
const STATIC_DIR = env('E2E_STATIC_DIR', '');

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
const started = Date.now();
fs.mkdirSync(SHOTS, { recursive: true });
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'assetport-e2e-'));

// What the journeys hand on to each other.
const S = {
  retailId: '',
  inboxId: '',
  assets: [], // { id, name, title, buffer }
  searchAsset: null,
  keywordAssets: [], // the assets the keyword finds
  collection: null, // { id, name, description, visible: assets a partner may see, hidden: assets only admins see }
  link: null, // { path, password, recipient, title, names }
  codeLink: null, // { path, recipient, asset }: a per-recipient link that needs a one-time code
  signinBackground: '', // the sign-in page's computed background-image once branded
  portalName: '', // the portal's name (the logo's alt text, the footer's start)
};

const LINK_PASSWORD = 'visitor pass 2031';
const RECIPIENT = 'buyer@acme-retail.example';
const CODE_RECIPIENT = 'ann.lee@northwind.example';
const KEYWORD = 'lookbook';
const TAGLINE = 'Visuals for our retail partners';
// An admin's main menu, in its order: each entry is in the bar or, where the bar has no room
// for it, under "More".
const ADMIN_MENU = ['Library', 'Review', 'Users', 'Groups', 'Links', 'Requests', 'Reports', 'Webhooks', 'Collections', 'Search'];

let browser;
const journeys = [];

// The journey running now and its current step, for the watchdog's message.
let running = null;
const watchdog = setTimeout(() => {
  const where = running ? `${running.name}, step "${running.current}"` : 'before the first journey';
  console.error(`\nFAIL: the journeys took longer than ${TIME_LIMIT_S} s; stuck in ${where}`);
  process.exit(1);
}, TIME_LIMIT_S * 1000);
watchdog.unref();

async function newContext(viewport) {
  const context = await browser.newContext({ viewport, acceptDownloads: true, locale: 'en-GB', timezoneId: 'UTC' });
  await context.addInitScript(IN_PAGE);
  if (STATIC_DIR) {
    const types = { '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png' };
    await context.route(`${BASE}/static/**`, (route) => {
      const file = path.join(STATIC_DIR, path.basename(new URL(route.request().url()).pathname));
      if (!fs.existsSync(file)) return route.continue();
      return route.fulfill({ status: 200, contentType: types[path.extname(file)] || 'application/octet-stream', body: fs.readFileSync(file) });
    });
  }
  context.setDefaultTimeout(15000);
  context.setDefaultNavigationTimeout(30000);
  return context;
}

/** Opens `p` (a path) and expects a page (status below 400 unless `status` says otherwise). */
async function open(page, p, status = null) {
  const res = await page.goto(BASE + p, { waitUntil: 'load' });
  const got = res ? res.status() : 0;
  if (status === null) expect(got < 400, `GET ${p} answered ${got}, expected a page`);
  else expect(got === status, `GET ${p} answered ${got}, expected ${status}`);
  return res;
}

/** Clicks something that submits a form or follows a link, and waits for the next page. */
async function clickAndLoad(page, locator) {
  const nav = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame() });
  nav.catch(() => {}); // a click that fails is the error to report, not this wait's timeout
  await locator.click();
  await nav;
  await page.waitForLoadState('load');
}

async function textOf(page, selector) {
  return ((await page.locator(selector).first().textContent()) || '').replace(/\s+/g, ' ').trim();
}

async function noErrorBox(page) {
  const err = page.locator('main .error');
  if (await err.count()) throw new Error(`the page shows an error: "${(await err.first().innerText()).trim()}"`);
}

/** Follows the main menu's entry `name`, wherever the width put it: in the bar or under "More". */
async function navTo(page, name) {
  const nav = page.getByRole('navigation', { name: 'Main' });
  const link = nav.getByRole('link', { name, exact: true });
  if (await link.count() === 0) {
    const more = nav.locator('details.nav-more > summary');
    expect(await more.isVisible(), `the menu shows no "${name}" and no "More"`);
    await more.click();
  }
  expect(await link.count() === 1, `the menu has no "${name}" entry, in the bar or under "More"`);
  await clickAndLoad(page, link);
}

/**
 * The main menu at the page's width: one row; every entry of `expected` exactly once, in the
 * bar (on screen, in order) or under "More"; the account's name and badge whole. Then "More"
 * opens with its entries on screen (screenshot `shot`), and its entry `follow` leads to its
 * page, where it is the current one.
 */
async function checkMenu(J, page, expected, shot, follow) {
  const w = width(page);
  const where = `${rel(page.url(), BASE)} @${w}px`;
  const m = await page.evaluate(() => {
    const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
    const nav = document.querySelector('nav.mainnav');
    const kids = Array.from(nav.children).filter(shown);
    const more = nav.querySelector('details.nav-more');
    const name = document.querySelector('.who-name');
    const badge = document.querySelector('.who .badge');
    return {
      navHeight: nav.getBoundingClientRect().height,
      rowHeight: Math.max(...kids.map((k) => k.getBoundingClientRect().height)),
      tops: kids.map((k) => Math.round(k.getBoundingClientRect().top)),
      bar: Array.from(nav.querySelectorAll(':scope > a')).filter(shown).map((a) => {
        const r = a.getBoundingClientRect();
        return { name: a.textContent.trim(), left: r.left, right: r.right };
      }),
      moreShown: !!more && shown(more),
      // What CSS puts under "More" at this width (decided before it is opened).
      folded: more ? Array.from(more.querySelectorAll('.more-menu > li')).filter((li) => getComputedStyle(li).display !== 'none').map((li) => li.textContent.trim()) : [],
      nameCut: name ? name.scrollWidth > name.clientWidth + 1 : true,
      badgeRight: badge ? badge.getBoundingClientRect().right : 0,
      viewport: document.documentElement.clientWidth,
    };
  });
  if (new Set(m.tops).size > 1 || m.navHeight > m.rowHeight + 4) {
    J.fail(where, `the menu takes more than one row (${Math.round(m.navHeight)} px tall, entries at ${[...new Set(m.tops)].join(', ')} px)`);
  }
  const names = m.bar.map((b) => b.name);
  const all = [...names, ...m.folded];
  for (const e of expected) {
    const n = all.filter((x) => x === e).length;
    if (n !== 1) J.fail(where, `the menu entry "${e}" is there ${n} times (bar: ${names.join(', ')}; More: ${m.folded.join(', ')})`);
  }
  for (const x of all) if (!expected.includes(x)) J.fail(where, `unexpected menu entry "${x}"`);
  if (JSON.stringify(names) !== JSON.stringify(expected.filter((e) => names.includes(e)))) J.fail(where, `the bar's entries are out of order: ${names.join(', ')}`);
  for (const b of m.bar) if (b.left < 0 || b.right > m.viewport + 1) J.fail(where, `the menu entry "${b.name}" is off-screen (${Math.round(b.left)} to ${Math.round(b.right)} px)`);
  if (m.folded.length && !m.moreShown) J.fail(where, `"More" is hidden although ${m.folded.join(', ')} fold into it`);
  if (!m.folded.length && m.moreShown) J.fail(where, '"More" is shown with nothing in it');
  if (m.nameCut) J.fail(where, 'the account\'s name is cut short');
  if (m.badgeRight > m.viewport + 1) J.fail(where, 'the account\'s badge is off-screen');
  J.log(`     ${w} px: bar ${names.join(', ')}${m.folded.length ? `; More: ${m.folded.join(', ')}` : ''}`);
  if (!m.folded.length) {
    await J.checkPage(page, shot);
    return;
  }
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.locator('details.nav-more > summary').click();
  for (const name of m.folded) {
    const link = nav.locator('.more-menu').getByRole('link', { name, exact: true });
    expect(await link.isVisible(), `"More" opened without its entry "${name}" visible`);
    const box = await link.boundingBox();
    if (!box || box.x < 0 || box.x + box.width > m.viewport + 1 || box.y + box.height > page.viewportSize().height) {
      J.fail(where, `"More"'s entry "${name}" is off-screen (${box ? `${Math.round(box.x)}, ${Math.round(box.y)}` : 'no box'})`);
    }
  }
  await J.checkPage(page, shot);
  expect(m.folded.includes(follow), `"${follow}" is not under "More" at ${w} px (More: ${m.folded.join(', ')})`);
  const link = nav.locator('.more-menu').getByRole('link', { name: follow, exact: true });
  const href = await link.getAttribute('href');
  await clickAndLoad(page, link);
  expect(new URL(page.url()).pathname === href, `"${follow}" under "More" led to ${rel(page.url(), BASE)}, not ${href}`);
  await noErrorBox(page);
  const current = await nav.locator('.more-menu a[aria-current="page"]').allTextContents();
  expect(current.length === 1 && current[0].trim() === follow, `on ${href} "More" does not mark "${follow}" as the current page (marked: ${current.join(', ') || 'none'})`);
  expect(!(await nav.locator('details.nav-more').evaluate((d) => d.open)), '"More" is still open on the next page');
}

/** Tables marked .cards on a phone: every row one card, on screen, each value under its label. */
async function checkCards(J, page, what, { rows: atLeast = 1 } = {}) {
  const where = `${rel(page.url(), BASE)} @${width(page)}px`;
  const tables = await page.evaluate(() => {
    const vw = document.documentElement.clientWidth;
    return Array.from(document.querySelectorAll('main table.cards')).filter((t) => t.getClientRects().length).map((t) => {
      const rows = Array.from(t.tBodies).flatMap((b) => Array.from(b.rows));
      const unlabelled = [];
      for (const td of t.querySelectorAll('td[data-label]')) {
        if (!td.getClientRects().length) continue; // an empty cell is left out
        if (!getComputedStyle(td, '::before').content.includes(td.dataset.label)) unlabelled.push(td.dataset.label);
      }
      return {
        table: window.__e2e.describe(t).slice(0, 50),
        rows: rows.length,
        notCards: rows.filter((tr) => getComputedStyle(tr).display !== 'block').length,
        offScreen: rows.filter((tr) => { const b = tr.getBoundingClientRect(); return b.left < -1 || b.right > vw + 1; }).length,
        head: t.tHead ? t.tHead.getBoundingClientRect().height : 0,
        unlabelled,
      };
    });
  });
  expect(tables.length > 0, `${what}: no table of cards on the page`);
  const rows = tables.reduce((n, t) => n + t.rows, 0);
  expect(rows >= atLeast, `${what}: ${rows} rows, expected at least ${atLeast}`);
  for (const t of tables) {
    if (t.notCards) J.fail(where, `${what}: ${t.notCards} of ${t.rows} rows of ${t.table} are not cards`);
    if (t.offScreen) J.fail(where, `${what}: ${t.offScreen} rows of ${t.table} reach off-screen`);
    if (t.head > 1) J.fail(where, `${what}: the header row of ${t.table} shows (${t.head} px) above the cards`);
    if (t.unlabelled.length) J.fail(where, `${what}: values without their label in ${t.table}: ${t.unlabelled.join(', ')}`);
  }
  return rows;
}

/** The page stands on the sign-in page's branded look: its body class and background image. */
async function checkBranded(page, what) {
  const look = await page.evaluate(() => ({ cls: document.body.className, bg: getComputedStyle(document.body).backgroundImage }));
  expect(/\bsignin\b/.test(look.cls), `${what} is not laid out like the sign-in page (body class "${look.cls}", expected "signin")`);
  if (S.signinBackground) expect(look.bg === S.signinBackground, `${what} has the background ${look.bg.slice(0, 80)}, the sign-in page ${S.signinBackground.slice(0, 80)}`);
}

async function signIn(J, page, email, shot) {
  await J.step(`sign in as ${email}`, async () => {
    await open(page, '/login');
    expect((await textOf(page, 'h1')) === 'Sign in', `expected the sign-in page, got h1 "${await textOf(page, 'h1')}"`);
    await J.checkPage(page, shot, { keyboard: { target: '.auth-card button[type=submit]', what: 'the Sign in button' } });
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await clickAndLoad(page, page.getByRole('button', { name: 'Sign in' }));
    await noErrorBox(page);
    expect(new URL(page.url()).pathname === '/', `expected the library home after signing in, got ${rel(page.url(), BASE)}`);
    expect(await page.getByRole('button', { name: 'Sign out' }).count() === 1, 'no "Sign out" button after signing in');
  }, page);
}

async function download(page, trigger, into) {
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 30000 }), trigger()]);
  const failure = await dl.failure();
  expect(!failure, `the download failed: ${failure}`);
  const name = dl.suggestedFilename();
  const file = path.join(into, name);
  await dl.saveAs(file);
  return { name, file, bytes: fs.readFileSync(file), url: dl.url() };
}

function checkZip(zip, expected) {
  const entries = readZip(zip.bytes);
  const got = entries.map((e) => path.posix.basename(e.name)).sort();
  const want = expected.map((a) => a.name).sort();
  expect(entries.length === expected.length, `expected ${expected.length} entries in ${zip.name}, got ${entries.length}: ${got.join(', ')}`);
  expect(JSON.stringify(got) === JSON.stringify(want), `ZIP entries ${got.join(', ')}; expected ${want.join(', ')}`);
  for (const a of expected) {
    const e = entries.find((x) => path.posix.basename(x.name) === a.name);
    expect(e.data.equals(a.buffer), `ZIP entry ${e.name} differs from the uploaded file (${e.data.length} vs ${a.buffer.length} bytes)`);
  }
  return entries;
}

// QR codes: a picture of the code (the page's <img>, or a downloaded SVG file) is drawn 4× as
// large on a white canvas with a wide quiet zone, as a camera would see a print, and the
// canvas's pixels are decoded in Node with jsQR. `el` is the <img>, or null with `svg` the file.
async function drawForQr(el, svg) {
  let img = el;
  if (!img) {
    img = new Image();
    img.src = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  }
  if (!img.complete || !img.naturalWidth) {
    await new Promise((ok) => { img.addEventListener('load', ok, { once: true }); img.addEventListener('error', ok, { once: true }); setTimeout(ok, 5000); });
  }
  if (!img.naturalWidth) return { error: `the QR code's picture did not load (${img.currentSrc || img.src})` };
  const shown = el ? el.getBoundingClientRect() : { width: img.naturalWidth, height: img.naturalHeight };
  const w = Math.round((shown.width || img.naturalWidth) * 4);
  const h = Math.round((shown.height || img.naturalHeight) * 4);
  const pad = 64;
  const c = document.createElement('canvas');
  c.width = w + 2 * pad;
  c.height = h + 2 * pad;
  const g = c.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, c.width, c.height);
  g.drawImage(img, pad, pad, w, h);
  return { png: c.toDataURL('image/png').split(',')[1], natural: [img.naturalWidth, img.naturalHeight], src: el ? el.getAttribute('src') : 'file' };
}

function qrText(drawn, what) {
  expect(!drawn.error, `${what}: ${drawn.error}`);
  const img = readPng(Buffer.from(drawn.png, 'base64'));
  const text = decodeQr(img.data, img.width, img.height);
  expect(text, `${what}: no QR code could be read from the picture (${drawn.natural.join(' × ')} px, drawn at ${img.width} × ${img.height})`);
  return text;
}

/** The text of the QR code the page's <img> (a locator) shows. */
async function qrOfImage(img, what) {
  return qrText(await img.evaluate(drawForQr), what);
}

/** The text of the QR code in an SVG file, drawn in a blank page of `context`. */
async function qrOfSvgFile(context, svg, what) {
  const p = await context.newPage();
  try {
    await p.setContent('<!doctype html><title>qr</title>');
    return qrText(await p.evaluate(`(${drawForQr.toString()})(null, ${JSON.stringify(svg)})`), what);
  } finally {
    await p.close();
  }
}

/**
 * A QR code on an admin's page: the <img> at `qrPath` decodes to `address`, and its "Download
 * QR code" link saves an SVG file that decodes to it too.
 */
async function checkQr(page, qrPath, address, into, what) {
  const img = page.locator(`figure.qr img[src="${qrPath}"]`);
  expect(await img.count() === 1, `${what}: no QR code (figure.qr img src="${qrPath}") on ${rel(page.url(), BASE)}; images: ${(await page.locator('main img').evaluateAll((is) => is.map((i) => i.getAttribute('src')))).join(', ')}`);
  expect(await img.isVisible(), `${what}: the QR code is not visible`);
  const shown = await qrOfImage(img, `${what} (as shown)`);
  expect(shown === address, `${what}: the QR code shown reads "${shown}", expected ${address}`);
  const link = page.locator('figure.qr').getByRole('link', { name: 'Download QR code' });
  expect(await link.count() === 1 && (await link.getAttribute('href')) === qrPath, `${what}: no "Download QR code" link to ${qrPath}`);
  const file = await download(page, () => link.click(), into);
  const svg = file.bytes.toString('utf8');
  expect(/^\s*(<\?xml[^>]*>\s*)?<svg[\s>]/.test(svg), `${what}: "Download QR code" saved ${file.name}, which is no SVG file ("${svg.slice(0, 40)}")`);
  const saved = await qrOfSvgFile(page.context(), svg, `${what} (downloaded ${file.name})`);
  expect(saved === address, `${what}: the downloaded QR code ${file.name} reads "${saved}", expected ${address}`);
  return file.name;
}

// A transparent logo: a dark wordmark (a rounded bar) with nothing around it.
const DARK_LOGO_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="60"><rect x="0" y="10" width="240" height="40" rx="8" fill="#161616"/></svg>';

/**
 * The header at the page's width is the light one, and the logo in it shows: loaded (a PNG, the
 * portal's name as its alt text), and in a screenshot of the header many of the pixels within
 * the logo's box contrast at least 3:1 with the header's background. Saves the header's
 * screenshot as <journey>-<shot>-<width>.png.
 */
async function checkLogoOnHeader(J, page, portalName, shot) {
  const w = width(page);
  const header = page.locator('header.topbar');
  await page.waitForFunction(() => { const i = document.querySelector('header.topbar img.brand-logo'); return !i || i.complete; }, null, { timeout: 5000 }).catch(() => {});
  const info = await header.evaluate((h) => {
    const img = h.querySelector('img.brand-logo');
    const r = h.getBoundingClientRect();
    const b = img && img.getBoundingClientRect();
    return {
      cls: h.className, bg: getComputedStyle(h).backgroundColor, width: r.width, name: !!h.querySelector('.brand-name'),
      img: img && { src: img.currentSrc, alt: img.getAttribute('alt'), natural: [img.naturalWidth, img.naturalHeight], box: { x: b.left - r.left, y: b.top - r.top, width: b.width, height: b.height } },
    };
  });
  expect(/\bheader-light\b/.test(info.cls), `at ${w} px the header is "${info.cls}", expected the light one (header-light)`);
  expect(info.img, `at ${w} px the header shows no logo (img.brand-logo)${info.name ? ' but the portal\'s name' : ''}`);
  expect(info.img.natural[0] > 0, `at ${w} px the header's logo ${info.img.src} did not load`);
  expect(info.img.alt === portalName, `the logo's alt text is "${info.img.alt}", expected the portal's name "${portalName}"`);
  expect(info.img.box.width >= 8 && info.img.box.height >= 8, `at ${w} px the logo is ${Math.round(info.img.box.width)} × ${Math.round(info.img.box.height)} px`);
  const res = await page.request.get(info.img.src);
  const body = await res.body();
  expect(res.status() === 200 && /^image\/png\b/.test(res.headers()['content-type'] || '') && body.subarray(1, 4).toString() === 'PNG',
    `the SVG logo is not served as a PNG (${res.status()}, ${res.headers()['content-type']}, starts ${body.subarray(0, 4).toString('hex')})`);
  const bg = parseCssColour(info.bg);
  expect(bg.a === 1, `the header's background colour is ${info.bg}, not an opaque colour to judge the logo against`);
  const png = await header.screenshot({ animations: 'disabled' });
  fs.writeFileSync(path.join(SHOTS, `${J.name}-${shot}-${w}.png`), png);
  const shotImg = readPng(png);
  const k = shotImg.width / info.width; // device pixels per CSS pixel
  const box = { x: info.img.box.x * k, y: info.img.box.y * k, width: info.img.box.width * k, height: info.img.box.height * k };
  const px = contrastingPixels(shotImg, box, bg, 3);
  J.log(`     ${w} px: logo ${Math.round(info.img.box.width)} × ${Math.round(info.img.box.height)} px on ${info.bg}; ${px.strong} of ${px.total} pixels contrast ≥ 3:1 (best ${px.best.toFixed(1)}:1)`);
  expect(px.total > 0 && px.strong >= 0.25 * px.total, `at ${w} px the logo hardly shows on the header (${info.bg}): ${px.strong} of ${px.total} pixels in its box contrast 3:1 or more (best ${px.best.toFixed(1)}:1)`);
}

// =============================================================================================
async function adminJourney() {
  const J = new Journey('admin', { shotsDir: SHOTS, base: BASE });
  running = J;
  journeys.push(J);
  const context = await newContext(DESKTOP);
  const page = await context.newPage();
  J.watch(page);

  // Real images, made on a canvas in the browser.
  const images = await J.step('make images to upload (canvas JPEG and PNG)', async () => {
    await page.setContent('<!doctype html><title>canvas</title>');
    return makeImages(page, [
      // Over 1600 px wide, so its Large, Web and Small presets are three sizes (visitor journey).
      { name: 'summer-lookbook.jpg', type: 'image/jpeg', w: 2000, h: 1250, hue: 20, label: 'Summer lookbook', noise: true },
      { name: 'storefront-banner.png', type: 'image/png', w: 1200, h: 400, hue: 200, label: 'Storefront banner' },
      { name: 'shelf-talker.jpg', type: 'image/jpeg', w: 600, h: 800, hue: 120, label: 'Shelf talker' },
      { name: 'logo-lockup.png', type: 'image/png', w: 512, h: 512, hue: 280, label: 'Logo' },
    ]);
  }, page);

  await signIn(J, page, ADMIN, '01-login');

  await J.step('create the folders "Retail" and "Agency inbox" from the library home', async () => {
    expect((await textOf(page, 'h1')) === 'Library', 'the admin home is not titled "Library"');
    await J.checkPage(page, '02-home-empty');
    for (const name of ['Retail', 'Agency inbox']) {
      await open(page, '/');
      const form = page.locator('form[action="/folders"]');
      await form.getByLabel('Name').fill(name);
      await clickAndLoad(page, form.getByRole('button', { name: 'Create folder' }));
      await noErrorBox(page);
      const m = /\/folders\/([^/?#]+)/.exec(page.url());
      expect(m, `creating "${name}" did not open the new folder's page`);
      expect((await textOf(page, 'h1')) === name, `the new folder's page is titled "${await textOf(page, 'h1')}"`);
      if (name === 'Retail') S.retailId = m[1]; else S.inboxId = m[1];
    }
    await open(page, '/');
    for (const name of ['Retail', 'Agency inbox']) {
      expect(await page.locator('.folder-card', { hasText: name }).count() === 1, `the home page does not list the folder "${name}"`);
    }
    await J.checkPage(page, '03-home-folders');
  }, page);

  await J.step('create the groups "Retail partners" and "Agencies" and add the partner and the agency', async () => {
    for (const [group, email] of [['Retail partners', PARTNER], ['Agencies', AGENCY]]) {
      await navTo(page, 'Groups');
      await page.waitForURL(`${BASE}/admin/groups`);
      const form = page.locator('form[action="/admin/groups"]');
      await form.getByLabel('Name').fill(group);
      await clickAndLoad(page, form.getByRole('button', { name: 'Create group' }));
      await noErrorBox(page);
      expect((await textOf(page, 'h1')) === group, `creating the group "${group}" did not open its page`);
      if (group === 'Retail partners') await J.checkPage(page, '04-group-new');
      const select = page.getByLabel('Account');
      const value = await select.evaluate((s, e) => (Array.from(s.options).find((o) => o.textContent.includes(e)) || {}).value, email);
      expect(value, `the "Add a member" list has no account ${email}`);
      await select.selectOption(value);
      await clickAndLoad(page, page.getByRole('button', { name: 'Add to group' }));
      await noErrorBox(page);
      const members = await page.locator('section.panel', { has: page.locator('h2', { hasText: 'Members' }) }).innerText();
      expect(members.includes(email), `${email} is not listed among the members of "${group}" after adding`);
    }
    await J.checkPage(page, '05-group-member');
    await open(page, '/admin/groups');
    await J.checkPage(page, '06-groups');
  }, page);

  await J.step('grant "Retail partners" view+download on Retail and "Agencies" contribute on Agency inbox', async () => {
    const grants = [
      [S.retailId, 'Retail partners', { view: true, download: true, contribute: false }],
      [S.inboxId, 'Agencies', { view: false, download: false, contribute: true }],
    ];
    for (const [id, group, rights] of grants) {
      await open(page, `/folders/${id}`);
      const form = page.locator(`form[action="/folders/${id}/grants"]`);
      await form.getByLabel('Group').selectOption({ label: group });
      await form.getByLabel('View').setChecked(rights.view);
      await form.getByLabel('Download').setChecked(rights.download);
      await form.getByLabel('Contribute').setChecked(rights.contribute);
      await clickAndLoad(page, form.getByRole('button', { name: 'Grant access' }));
      await noErrorBox(page);
      const row = page.locator('#access table tr', { hasText: group });
      expect(await row.count() === 1, `the Access table of the folder does not list "${group}" after granting`);
      const chips = (await row.locator('.chip').allTextContents()).map((t) => t.trim());
      const want = Object.keys(rights).filter((k) => rights[k]);
      expect(JSON.stringify(chips) === JSON.stringify(want), `"${group}" shows rights [${chips}], expected [${want}]`);
    }
    await J.checkPage(page, '07-folder-access');
  }, page);

  await J.step('upload four images into Retail with the folder page\'s upload form', async () => {
    await open(page, `/folders/${S.retailId}`);
    await J.checkPage(page, '08-folder-empty', { keyboard: { target: '#file-input', what: 'the "Choose files" upload button' } });
    await page.locator('#file-input').setInputFiles(images.map((i) => ({ name: i.name, mimeType: i.mimeType, buffer: i.buffer })));
    await page.waitForFunction((n) => document.querySelectorAll('.upload-list .state.ok, .upload-list .state.failed').length >= n, images.length, { timeout: 30000 });
    const states = await page.locator('.upload-list li').evaluateAll((lis) => lis.map((li) => `${li.querySelector('.name').textContent}: ${li.querySelector('.state').textContent}`));
    expect(states.length === images.length, `the upload list shows ${states.length} files, expected ${images.length}`);
    expect(states.every((s) => s.endsWith(': done')), `not every upload is done: ${states.join('; ')}`);
    expect(await page.locator('.upload-done').isVisible(), 'the "Show the uploaded files" button did not appear');
    await J.checkPage(page, '09-uploaded');
    await clickAndLoad(page, page.getByRole('link', { name: 'Show the uploaded files' }));
    const cards = await page.locator('.asset-card a[href^="/assets/"]').evaluateAll((as) => as.map((a) => ({
      id: a.getAttribute('href').split('/')[2], label: a.querySelector('.asset-label').textContent.trim(),
    })));
    for (const img of images) {
      const c = cards.find((x) => x.label === img.name);
      expect(c, `the folder does not show the uploaded ${img.name} (cards: ${cards.map((x) => x.label).join(', ')})`);
      S.assets.push({ id: c.id, name: img.name, title: '', buffer: img.buffer });
    }
    expect(await page.locator('.asset-card .status-draft').count() === images.length, 'the new uploads are not marked as drafts');
    await J.checkPage(page, '10-folder-drafts');
  }, page);

  await J.step('the review page lists the four drafts', async () => {
    await navTo(page, 'Review');
    await page.waitForURL(`${BASE}/admin/review`);
    const rows = await page.locator('main table tbody tr').allInnerTexts();
    for (const img of images) {
      const row = rows.find((r) => r.includes(img.name));
      expect(row, `the review page does not list the draft ${img.name}`);
      expect(/draft/i.test(row), `${img.name} is not marked as a draft on the review page: "${row.replace(/\s+/g, ' ')}"`);
    }
    await J.checkPage(page, '10b-review-drafts', { keyboard: { target: 'input[name="asset_ids"]', what: 'the first draft\'s selection box' } });
  }, page);

  await J.step('the review queue on a phone (390 px): one card per draft', async () => {
    await page.setViewportSize(PHONE);
    const rows = await checkCards(J, page, 'the review queue', { rows: images.length });
    expect(rows === images.length, `the review queue shows ${rows} cards, expected ${images.length}`);
    await J.checkPage(page, '10c-review-phone');
    await page.setViewportSize(DESKTOP);
  }, page);

  await J.step('give one asset a title, description and keywords, another the keyword, and approve all four on their pages', async () => {
    S.searchAsset = S.assets[0];
    S.searchAsset.title = 'Summer lookbook hero';
    // The keyword finds two assets: search results to select and download together.
    S.keywordAssets = [S.assets[0], S.assets[1]];
    for (const a of S.assets) {
      await open(page, `/assets/${a.id}`);
      if (a === S.assets[1]) {
        const form = page.locator(`form[action="/assets/${a.id}/edit"]`);
        await form.getByLabel(/^Keywords/).fill(`${KEYWORD}, storefront`);
        await clickAndLoad(page, form.getByRole('button', { name: 'Save' }));
        await noErrorBox(page);
      }
      if (a === S.searchAsset) {
        const form = page.locator(`form[action="/assets/${a.id}/edit"]`);
        await form.getByLabel('Title').fill(a.title);
        await form.getByLabel('Description').fill('Hero image of the summer lookbook, for shop windows and social posts.');
        await form.getByLabel(/^Keywords/).fill(`${KEYWORD}, summer, hero`);
        await form.getByLabel('Credit / copyright').fill('© Example Brand');
        await clickAndLoad(page, form.getByRole('button', { name: 'Save' }));
        await noErrorBox(page);
        expect((await textOf(page, 'h1')) === a.title, `the asset page is titled "${await textOf(page, 'h1')}" after saving the title`);
        await J.checkPage(page, '11-asset-edited');
      }
      await clickAndLoad(page, page.getByRole('button', { name: 'Approve and publish' }));
      await noErrorBox(page);
      const status = await textOf(page, '.asset-info .status');
      expect(status.toLowerCase() === 'approved', `${a.name} shows the status "${status}" after approving`);
    }
  }, page);

  await J.step('wait for the previews, then look at the published folder', async () => {
    for (const a of S.assets) {
      const ok = await poll(async () => {
        // While the renderer works the address answers a placeholder tile (x-rendition:
        // placeholder, image/svg+xml): only the real thumbnail counts.
        const r = await page.request.get(`${BASE}/assets/${a.id}/renditions/thumb`);
        return r.status() === 200 && /^image\//.test(r.headers()['content-type'] || '') && r.headers()['x-rendition'] !== 'placeholder';
      }, { ms: 30000, every: 300 });
      expect(ok, `no thumbnail for ${a.name} 30 s after upload`);
    }
    await open(page, `/assets/${S.searchAsset.id}`);
    expect(await page.locator('.preview-frame img').count() === 1, 'the asset page shows no preview although the thumbnail exists');
    await J.checkPage(page, '12-asset-published');
    await open(page, `/folders/${S.retailId}`);
    expect(await page.locator('.asset-card .tile-thumb img').count() === S.assets.length, 'not every card of the folder shows its thumbnail');
    await J.checkPage(page, '13-folder-published');
  }, page);

  await J.step('share two assets with a password and a recipient', async () => {
    const shared = [S.assets[0], S.assets[1]];
    for (const a of shared) await page.locator(`input[name="asset_ids"][value="${a.id}"]`).check();
    await clickAndLoad(page, page.getByRole('button', { name: 'Share selected…' }));
    await noErrorBox(page);
    expect((await textOf(page, 'h1')) === 'New share link', `"Share selected…" opened "${await textOf(page, 'h1')}"`);
    const listed = await page.locator('section.panel .rows li').count();
    if (listed !== shared.length) {
      // A product defect, reported (the run fails); the journeys go on with the same selection
      // through the form's address, so the later steps still run.
      const what = (await textOf(page, 'section.panel')).slice(0, 160);
      J.fail(`${rel(page.url(), BASE)} @1280px`, `"Share selected…" with ${shared.length} assets selected offers a link to ${listed} listed assets ("${what}")`);
      await open(page, `/admin/links/new?${shared.map((a) => `asset_ids=${a.id}`).join('&')}`);
      const again = await page.locator('section.panel .rows li').count();
      expect(again === shared.length, `the new link lists ${again} assets, expected ${shared.length}`);
    }
    const title = 'Summer lookbook for Acme Retail';
    const form = page.locator('form[action="/admin/links"]');
    await form.getByLabel(/^Title/).fill(title);
    await form.getByLabel(/^Password/).fill(LINK_PASSWORD);
    await form.getByLabel(/^Recipients/).fill(RECIPIENT);
    await form.getByLabel('Message').fill('Hello! Here are the summer visuals.\nThe password comes by phone.');
    await J.checkPage(page, '14-link-new');
    await clickAndLoad(page, form.getByRole('button', { name: 'Create link' }));
    await noErrorBox(page);
    const url = await page.locator('.copy-field').first().inputValue();
    const m = /\/s\/[A-Za-z0-9_-]+$/.exec(url);
    expect(m, `the created page shows no link address (got "${url}")`);
    expect(url.startsWith('http'), `the link address "${url}" is not absolute`);
    const status = await textOf(page, 'main [role=status]');
    expect(/Emailed to 1 recipient/.test(status), `the created page does not say the recipient was emailed (status: "${status}")`);
    // The address is built from the server's public URL; the visitor uses the server we test.
    if (!url.startsWith(`${BASE}/s/`)) J.log(`     note: the link address ${url} is not on ${BASE} (ASSETPORT_PUBLIC_URL); the visitor opens ${BASE}${m[0]}`);
    S.link = { url, path: m[0], password: LINK_PASSWORD, recipient: RECIPIENT, title, assets: shared };
    await J.checkPage(page, '15-link-created');
    // "Copy" puts the address on the clipboard (issue 21).
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
    await page.getByRole('button', { name: /^Copy/ }).first().click();
    await poll(async () => (await textOf(page, 'button[data-copy-button]')) === 'Copied' || null, { ms: 5000 });
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied === url, `Copy put "${copied}" on the clipboard, expected ${url}`);
  }, page);

  await J.step('the link\'s page shows its address again, with Copy', async () => {
    await clickAndLoad(page, page.getByRole('link', { name: 'Details' }).first());
    const again = await page.locator('#link-address').inputValue();
    expect(again === S.link.url, `the link's page shows "${again}", expected ${S.link.url}`);
    expect(await page.getByRole('button', { name: 'Copy' }).count() === 1, 'no Copy button on the link\'s page');
    await J.checkPage(page, '15b-link-detail');
  }, page);

  await J.step('the link\'s page shows a QR code that reads its address (and so does the downloaded one)', async () => {
    const id = /^\/admin\/links\/([^/?#]+)$/.exec(new URL(page.url()).pathname);
    expect(id, `the link's page is at ${rel(page.url(), BASE)}, not /admin/links/{id}`);
    const address = S.link.url;
    expect(/^https?:\/\/[^/]+\/s\/[A-Za-z0-9_-]+$/.test(address) && address.endsWith(S.link.path), `the link's address "${address}" is not an absolute /s/ address`);
    const file = await checkQr(page, `/admin/links/${id[1]}/qr.svg`, address, fs.mkdtempSync(path.join(WORK, 'admin-qr-')), 'the share link\'s QR code');
    J.log(`     QR code (shown and ${file}) reads ${address}`);
  }, page);

  await J.step('the recipient\'s mail is in the outbox with the link', async () => {
    const found = await poll(() => {
      for (const f of listEml(OUTBOX)) {
        const { headers, body } = readEml(fs.readFileSync(f, 'utf8'));
        if (/^to:.*$/im.test(headers) && headers.match(/^to:.*$/im)[0].includes(RECIPIENT) && body.includes(S.link.path)) return f;
      }
      return null;
    }, { ms: 15000 });
    const names = listEml(OUTBOX).map((f) => path.basename(f));
    expect(found, `no .eml in ${OUTBOX} addressed to ${RECIPIENT} containing ${S.link.path} (files: ${names.join(', ') || 'none'})`);
    J.log(`     mail: ${found}`);
  }, page);

  await J.step('the link is listed on the Links page', async () => {
    await navTo(page, 'Links');
    await page.waitForURL(`${BASE}/admin/links`);
    expect(await page.locator('main table', { hasText: RECIPIENT }).count() > 0 || (await textOf(page, 'main')).includes(S.link.title),
      'the Links page does not show the new link');
    await J.checkPage(page, '16-links');
  }, page);

  // The review queue's bulk approval (issue 21): two throwaway drafts in a folder only admins
  // see (the agency's submissions must stay in review for its journey), "Select all" ticks
  // every row, "Approve selected" publishes them. Before the webhook exists, so no
  // asset.approved delivery is attempted.
  await J.step('the review queue: "Select all" ticks every draft and "Approve selected" publishes them', async () => {
    const drafts = await makeImages(page, [
      { name: 'internal-mockup-a.jpg', type: 'image/jpeg', w: 640, h: 480, hue: 60, label: 'Mockup A' },
      { name: 'internal-mockup-b.png', type: 'image/png', w: 480, h: 640, hue: 310, label: 'Mockup B' },
    ]);
    await open(page, '/');
    const folderForm = page.locator('form[action="/folders"]');
    await folderForm.getByLabel('Name').fill('Internal');
    await clickAndLoad(page, folderForm.getByRole('button', { name: 'Create folder' }));
    await noErrorBox(page);
    const fm = /\/folders\/([^/?#]+)/.exec(page.url());
    expect(fm && (await textOf(page, 'h1')) === 'Internal', `creating "Internal" opened ${rel(page.url(), BASE)}`);
    S.internalId = fm[1];
    await page.locator('#file-input').setInputFiles(drafts.map((i) => ({ name: i.name, mimeType: i.mimeType, buffer: i.buffer })));
    await page.waitForFunction((n) => document.querySelectorAll('.upload-list .state.ok, .upload-list .state.failed').length >= n, drafts.length, { timeout: 30000 });
    const states = await page.locator('.upload-list .state').allTextContents();
    expect(states.length === drafts.length && states.every((t) => t.trim() === 'done'), `the drafts' uploads ended: ${states.join(', ')}`);
    await clickAndLoad(page, page.getByRole('link', { name: 'Show the uploaded files' }));
    const cards = await page.locator('.asset-card a[href^="/assets/"]').evaluateAll((as) => as.map((a) => ({
      id: a.getAttribute('href').split('/')[2], label: a.querySelector('.asset-label').textContent.trim(),
    })));
    S.internal = drafts.map((d) => {
      const c = cards.find((x) => x.label === d.name);
      expect(c, `the Internal folder does not show the uploaded ${d.name}`);
      return { id: c.id, name: d.name, title: '', buffer: d.buffer };
    });
    const mine = new Set(S.internal.map((a) => a.id));

    await navTo(page, 'Review');
    await page.waitForURL(`${BASE}/admin/review`);
    const boxes = page.locator('main table input[type=checkbox][name="asset_ids"]');
    const approve = page.getByRole('button', { name: 'Approve selected' });
    const toggle = page.locator('.bulk-actions button[data-select-all]');
    const rows = await page.locator('main table tbody tr').count();
    expect(rows >= S.internal.length && (await boxes.count()) === rows, `the review queue shows ${rows} rows and ${await boxes.count()} selection boxes`);
    for (const a of S.internal) {
      const row = page.locator('main table tbody tr', { has: page.locator(`input[name="asset_ids"][value="${a.id}"]`) });
      expect(await row.count() === 1, `the review queue does not list the draft ${a.name}`);
      const text = (await row.innerText()).replace(/\s+/g, ' ');
      expect(text.includes(a.name) && text.includes('Internal'), `the review queue's row of ${a.name} reads "${text}"`);
    }
    expect(await approve.isDisabled(), '"Approve selected" is enabled before anything is ticked');
    expect(await page.getByRole('button', { name: 'Request changes' }).isDisabled(), '"Request changes" is enabled before anything is ticked');
    expect(await toggle.count() === 1, 'the review queue has no "Select all" button (data-select-all) with its actions');
    const label = (await toggle.innerText()).trim();
    expect(label === `Select all (${rows})`, `the toggle reads "${label}", expected "Select all (${rows})"`);
    await J.checkPage(page, '16a1-review-queue', { keyboard: { target: '.bulk-actions button[data-select-all]', what: 'the "Select all" button' } });
    await toggle.click();
    const ticked = await boxes.evaluateAll((bs) => bs.map((b) => b.checked));
    expect(ticked.every(Boolean), `after "Select all" ${ticked.filter(Boolean).length} of ${ticked.length} rows are ticked`);
    expect(await approve.isEnabled(), '"Approve selected" stays disabled with every row ticked');
    expect((await toggle.innerText()).trim() === 'Select none', `with every row ticked the toggle reads "${(await toggle.innerText()).trim()}", expected "Select none"`);
    await J.checkPage(page, '16a2-review-all-selected');
    await page.setViewportSize(PHONE);
    await checkCards(J, page, 'the review queue', { rows });
    await J.checkPage(page, '16a3-review-all-selected');
    await page.setViewportSize(DESKTOP);
    // Only the throwaway drafts are approved: anything else waiting is unticked again.
    const others = await boxes.evaluateAll((bs, ids) => bs.filter((b) => !ids.includes(b.value)).map((b) => b.value), [...mine]);
    for (const id of others) await page.locator(`main table input[name="asset_ids"][value="${id}"]`).uncheck();
    if (others.length) J.log(`     unticked ${others.length} other row(s) waiting for review`);
    await clickAndLoad(page, approve);
    await noErrorBox(page);
    expect(new URL(page.url()).pathname === '/admin/review', `"Approve selected" led to ${rel(page.url(), BASE)}, not back to the review queue`);
    const flash = await textOf(page, '.flash');
    expect(flash === `Approved: ${mine.size} of ${mine.size}.`, `after "Approve selected" the page says "${flash}", expected "Approved: ${mine.size} of ${mine.size}."`);
    const left = await page.locator('main table input[name="asset_ids"]').evaluateAll((bs) => bs.map((b) => b.value));
    const still = S.internal.filter((a) => left.includes(a.id)).map((a) => a.name);
    expect(still.length === 0, `after approving, the review queue still lists ${still.join(', ')}`);
    expect(left.length === others.length, `after approving, the review queue lists ${left.length} rows, expected the ${others.length} left unticked`);
    if (!left.length) expect((await textOf(page, 'main .empty')) === 'Nothing waits for review.', 'the emptied review queue does not say "Nothing waits for review."');
    await J.checkPage(page, '16a4-review-approved');
    for (const a of S.internal) {
      await open(page, `/assets/${a.id}`);
      const status = await textOf(page, '.asset-info .status');
      expect(status.toLowerCase() === 'approved', `${a.name} shows the status "${status}" after "Approve selected"`);
    }
  }, page);

  await J.step('register a webhook endpoint on the Webhooks page; its secret is shown once', async () => {
    // At 1280 px "Webhooks" is under "More".
    await navTo(page, 'Webhooks');
    await page.waitForURL(`${BASE}/admin/webhooks`);
    const form = page.locator('form[action="/admin/webhooks"]');
    await form.getByLabel(/^URL/).fill('https://hooks.example.com/assetport');
    await form.getByLabel(/^Description/).fill('Team chat');
    await form.getByLabel(/asset\.approved/).check();
    await J.checkPage(page, '16b-webhooks');
    await clickAndLoad(page, form.getByRole('button', { name: 'Add endpoint' }));
    await noErrorBox(page);
    const secret = await page.locator('.copy-field').first().inputValue();
    expect(/^whsec_[A-Za-z0-9+/=]{32,}$/.test(secret), `the created page shows no whsec_ secret (got "${secret}")`);
    await J.checkPage(page, '16c-webhook-created');
    await clickAndLoad(page, page.getByRole('link', { name: 'Its delivery log' }));
    await noErrorBox(page);
    expect((await textOf(page, 'h1')) === 'Team chat', `the endpoint's page is titled "${await textOf(page, 'h1')}"`);
    expect(!(await textOf(page, 'main')).includes(secret), 'the endpoint\'s page shows the secret again');
    S.webhookPath = new URL(page.url()).pathname;
    await J.checkPage(page, '16d-webhook');
  }, page);

  await J.step('the menu is one row at 1024, 1280 and 1440 px (and on a phone); the rest is under "More"', async () => {
    const widths = [[1024, 'Groups'], [1280, 'Reports'], [1440, 'Webhooks'], [PHONE.width, 'Users']];
    for (const [w, follow] of widths) {
      await page.setViewportSize({ width: w, height: w === PHONE.width ? PHONE.height : DESKTOP.height });
      await open(page, '/admin/links');
      await checkMenu(J, page, ADMIN_MENU, '16e-menu-more', follow);
      // Escape closes "More" and gives the focus back to it.
      await open(page, '/admin/links');
      const summary = page.locator('details.nav-more > summary');
      await summary.click();
      await page.keyboard.press('Escape');
      const after = await page.evaluate(() => ({ open: document.querySelector('details.nav-more').open, focus: document.activeElement.textContent.trim() }));
      expect(!after.open && after.focus === 'More', `Escape left "More" ${after.open ? 'open' : 'closed'} with the focus on "${after.focus}"`);
    }
    await page.setViewportSize(DESKTOP);
  }, page);

  await J.step('brand the sign-in page with a background image on the Branding page', async () => {
    const [bg] = await makeImages(page, [{ name: 'signin-background.jpg', type: 'image/jpeg', w: 1600, h: 1000, hue: 215, label: 'Acme Retail' }]);
    await open(page, '/admin/branding');
    const form = page.locator('form[action^="/admin/branding"]');
    await form.getByLabel(/^New background image/).setInputFiles({ name: bg.name, mimeType: bg.mimeType, buffer: bg.buffer });
    await clickAndLoad(page, form.getByRole('button', { name: 'Save branding' }));
    await noErrorBox(page);
    const flash = await textOf(page, '.flash');
    expect(/Branding saved/.test(flash), `after saving the branding the page says "${flash}"`);
    // What a visitor meets first: the sign-in page on that background.
    const anon = await newContext(DESKTOP);
    const visitor = await anon.newPage();
    J.watch(visitor);
    await open(visitor, '/login');
    S.signinBackground = await visitor.evaluate(() => getComputedStyle(document.body).backgroundImage);
    expect(/\/brand\/background\?v=/.test(S.signinBackground), `the sign-in page's background is "${S.signinBackground}", not the uploaded image`);
    await J.checkPage(visitor, '16f-login-branded');
    await anon.close();
  }, page);

  // Theming (issue 21): a dark transparent logo is refused on the dark header (it would vanish)
  // and taken with the light one; in the browser it shows on that header, at 1280 and 390 px.
  await J.step('a dark SVG logo is refused with the dark header and saved with the light one and a tagline', async () => {
    const logo = { name: 'acme-wordmark.svg', mimeType: 'image/svg+xml', buffer: Buffer.from(DARK_LOGO_SVG) };
    await open(page, '/admin/branding');
    const form = page.locator('form[action^="/admin/branding"]');
    const portalName = (await form.getByLabel('Portal name', { exact: true }).inputValue()).trim();
    expect(portalName, 'the Branding page shows no portal name');
    const radio = (name) => form.getByRole('radio', { name, exact: true });
    for (const name of ['Dark', 'Light', 'Accent colour']) expect(await radio(name).count() === 1, `the header style "${name}" is not offered`);
    const logoInput = form.getByLabel(/^New logo \(PNG, JPEG, WebP or SVG/);
    const save = form.getByRole('button', { name: 'Save branding' });
    const posted = () => page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/admin/branding');

    // On the dark header the dark logo would hardly show: refused, nothing changed.
    await logoInput.setInputFiles(logo);
    await radio('Dark').check();
    let answer = posted();
    await clickAndLoad(page, save);
    expect((await answer).status() === 422, `saving a dark logo on the dark header answered ${(await answer).status()}, expected 422`);
    const refusal = page.locator('main .error[role=alert]');
    expect(await refusal.count() === 1, 'saving a dark logo on the dark header shows no error');
    const why = (await refusal.innerText()).replace(/\s+/g, ' ').trim();
    expect(why.includes('would hardly show on the dark header') && why.includes('Nothing was changed'), `the refusal says "${why}"`);
    expect(await page.locator('header.topbar img.brand-logo').count() === 0, 'after the refusal the header shows a logo anyway');
    expect(!(await page.locator('header.topbar').evaluate((h) => h.classList.contains('header-light'))), 'after the refusal the header is light anyway');
    await J.checkPage(page, '16g-branding-logo-refused');

    // The light header takes it.
    await logoInput.setInputFiles(logo);
    await radio('Light').check();
    await form.getByLabel('Tagline', { exact: true }).fill(TAGLINE);
    answer = posted();
    await clickAndLoad(page, save);
    expect((await answer).status() < 400, `saving the logo with the light header answered ${(await answer).status()}`);
    await noErrorBox(page);
    const flash = await textOf(page, '.flash');
    expect(/Branding saved/.test(flash), `after saving the logo the page says "${flash}"`);
    expect(await radio('Light').isChecked(), 'after saving, the Branding page does not have "Light" chosen');
    expect((await form.getByLabel('Tagline', { exact: true }).inputValue()) === TAGLINE, 'after saving, the Branding page does not show the tagline');
    await J.checkPage(page, '16h-branding-logo-saved');
    S.portalName = portalName;
  }, page);

  await J.step('the logo shows on the light header at 1280 and 390 px; the footer reads "<name> · <tagline>"', async () => {
    for (const viewport of [DESKTOP, PHONE]) {
      await page.setViewportSize(viewport);
      await open(page, '/');
      await checkLogoOnHeader(J, page, S.portalName, '16i-header-logo');
      const footer = await textOf(page, 'footer.footer');
      expect(footer === `${S.portalName} · ${TAGLINE}`, `the footer reads "${footer}", expected "${S.portalName} · ${TAGLINE}"`);
      await J.checkPage(page, '16j-home-logo');
    }
    await page.setViewportSize(DESKTOP);
  }, page);

  await J.step('the admin\'s pages on a phone (390 px)', async () => {
    await page.setViewportSize(PHONE);
    const pages = [
      ['/', '17-home'],
      [`/folders/${S.retailId}`, '18-folder'],
      [`/assets/${S.searchAsset.id}`, '19-asset'],
      ['/admin/review', '20-review'],
      ['/admin/users', '21-users'],
      ['/admin/groups', '22-groups'],
      ['/admin/links', '23-links'],
      ['/admin/reports', '24-reports'],
      ['/admin/jobs', '25-jobs'],
      ['/admin/webhooks', '25b-webhooks'],
      [S.webhookPath || '/admin/webhooks', '25c-webhook'],
      ['/admin/branding', '26-branding'],
      ['/admin/branding/emails', '27-emails'],
      ['/account', '28-account'],
    ];
    for (const [p, shot] of pages) {
      await open(page, p, 200);
      await noErrorBox(page);
      await J.checkPage(page, shot);
    }
    await open(page, `/assets/${S.searchAsset.id}`);
    expect(await page.locator('table.cards', { hasText: S.searchAsset.name }).count() === 1, 'the asset page shows no version history');
    // An API token, so the tokens table (with its Revoke button) is on the account page.
    await open(page, '/account');
    const form = page.locator('form[action="/account/tokens"]');
    await form.getByLabel('Name of a new token').fill('laptop upload script with a long name');
    await clickAndLoad(page, form.getByRole('button'));
    await noErrorBox(page);
    await open(page, '/account');
    const revoke = page.locator('table.cards').getByRole('button', { name: /^Revoke/ });
    expect(await revoke.count() === 1, 'the account page lists no token to revoke');
    const box = await revoke.boundingBox();
    expect(box && box.x >= 0 && box.x + box.width <= PHONE.width, `the token's Revoke button is off-screen (x ${box && Math.round(box.x)})`);
    await J.checkPage(page, '29-account-token');
    await page.setViewportSize(DESKTOP);
  }, page);

  await J.step('the users page on a phone: one card per account', async () => {
    await page.setViewportSize(PHONE);
    await open(page, '/admin/users');
    await checkCards(J, page, 'the users page', { rows: 3 });
    await J.checkPage(page, '21b-users-cards');
    await page.setViewportSize(DESKTOP);
  }, page);

  await J.step('a link that needs a one-time code, made through the API (per recipient, require_code)', async () => {
    await open(page, '/account');
    const tokenForm = page.locator('form[action="/account/tokens"]');
    await tokenForm.getByLabel('Name of a new token').fill('e2e code link');
    await clickAndLoad(page, tokenForm.getByRole('button'));
    const token = await textOf(page, 'code.token');
    expect(token, 'the account page shows no new API token');
    const asset = S.assets[2];
    const r = await page.request.post(`${BASE}/api/v1/links`, {
      headers: { Authorization: `Bearer ${token}` },
      data: { asset_ids: [asset.id], recipients: [CODE_RECIPIENT], per_recipient: true, require_code: true, title: 'Shelf talker for Northwind' },
    });
    expect(r.status() === 201, `POST /api/v1/links answered ${r.status()}: ${(await r.text()).slice(0, 200)}`);
    const m = /\/s\/[A-Za-z0-9_-]+$/.exec((await r.json()).url || '');
    expect(m, 'the new link has no /s/ address');
    S.codeLink = { path: m[0], recipient: CODE_RECIPIENT, asset };
  }, page);

  // Featured collections (issue 21): made on /collections, filled from the folders' selection
  // bars ("Add selected to", new in this build), featured on its page. Three of its assets are
  // in Retail, one in Internal (admins only): a partner's home counts the three they may see.
  await J.step('create a collection on /collections, fill it with "Add selected to" from two folders, feature it', async () => {
    const name = 'Summer window kit';
    const description = 'Hero, banner and shelf talker for shop windows';
    await navTo(page, 'Collections');
    await page.waitForURL(`${BASE}/collections`);
    const form = page.locator('form[action="/collections"]');
    await form.getByLabel('Name').fill(name);
    await form.getByLabel(/^Description/).fill(description);
    await clickAndLoad(page, form.getByRole('button', { name: 'Create collection' }));
    await noErrorBox(page);
    const m = /^\/collections\/([^/?#]+)$/.exec(new URL(page.url()).pathname);
    expect(m, `"Create collection" led to ${rel(page.url(), BASE)}, not the new collection's page`);
    expect((await textOf(page, 'h1')) === name, `the new collection's page is titled "${await textOf(page, 'h1')}"`);
    expect(await page.locator('main .asset-card').count() === 0, 'the new collection is not empty');
    const id = m[1];
    const visible = [S.assets[0], S.assets[1], S.assets[2]];
    const hidden = [S.internal[0]];
    for (const [folderId, picked, shot] of [[S.retailId, visible, '30-folder-add-to-collection'], [S.internalId, hidden, '']]) {
      await open(page, `/folders/${folderId}`);
      const bar = page.locator('.selection-bar');
      const select = bar.getByLabel('Add selected to');
      const add = bar.getByRole('button', { name: 'Add', exact: true });
      expect(await select.count() === 1 && await add.count() === 1, 'the folder\'s selection bar offers no "Add selected to" with an "Add" button');
      const options = (await select.locator('option').allTextContents()).map((t) => t.trim());
      expect(options.includes(name), `"Add selected to" offers [${options.join(', ')}], not "${name}"`);
      expect(await add.isDisabled(), '"Add" is enabled before anything is selected');
      for (const a of picked) await page.locator(`.select-box:has(input[value="${a.id}"])`).click();
      expect(await add.isEnabled(), `"Add" stays disabled with ${picked.length} assets selected`);
      await select.selectOption({ label: name });
      if (shot) await J.checkPage(page, shot);
      await clickAndLoad(page, add);
      await noErrorBox(page);
      expect(new URL(page.url()).pathname === `/folders/${folderId}`, `"Add" led to ${rel(page.url(), BASE)}, not back to the folder`);
      const flash = await textOf(page, '.flash');
      const said = `${picked.length} asset${picked.length === 1 ? '' : 's'} added to the collection.`;
      expect(flash === said, `after "Add" the folder says "${flash}", expected "${said}"`);
    }
    await open(page, `/collections/${id}`);
    const labels = (await page.locator('main .asset-card .asset-label').allTextContents()).map((t) => t.trim()).sort();
    const want = [...visible, ...hidden].map((a) => a.title || a.name).sort();
    expect(JSON.stringify(labels) === JSON.stringify(want), `the collection holds [${labels.join(', ')}], expected [${want.join(', ')}]`);
    const feature = page.getByRole('button', { name: 'Feature on partners\' home' });
    expect(await feature.count() === 1, 'the collection\'s page offers no "Feature on partners\' home"');
    await clickAndLoad(page, feature);
    await noErrorBox(page);
    expect(new URL(page.url()).pathname === `/collections/${id}`, `featuring led to ${rel(page.url(), BASE)}`);
    const flash = await textOf(page, '.flash');
    expect(flash.startsWith('Featured on partners\' home'), `after featuring the page says "${flash}"`);
    expect(await page.getByRole('button', { name: 'Stop featuring' }).count() === 1, 'after featuring the page offers no "Stop featuring"');
    await J.checkPage(page, '31-collection-featured');
    S.collection = { id, name, description, visible, hidden };
  }, page);

  // Search results are a selection too (issue 21): for an admin the bar also shares, edits and
  // adds to a collection; "Share selected…" takes the selected results to a new link's form.
  await J.step(`the admin's search results for "${KEYWORD}" also offer "Share selected…", "Edit selected…" and "Add selected to"`, async () => {
    await open(page, `/search?q=${encodeURIComponent(KEYWORD)}`);
    const results = page.locator('.search-results .asset-card');
    const n = await results.count();
    const want = S.keywordAssets.map((a) => a.title || a.name).sort();
    const labels = (await results.locator('.asset-label').allTextContents()).map((t) => t.trim()).sort();
    expect(JSON.stringify(labels) === JSON.stringify(want), `the admin's search found [${labels.join(', ')}], expected [${want.join(', ')}]`);
    const bar = page.locator('.search-results .selection-bar');
    const buttons = {
      'Download selected (ZIP)': bar.getByRole('button', { name: 'Download selected (ZIP)' }),
      'Share selected…': bar.getByRole('button', { name: 'Share selected…' }),
      'Edit selected…': bar.getByRole('button', { name: 'Edit selected…' }),
      'Add (selected to a collection)': bar.getByRole('button', { name: 'Add', exact: true }),
    };
    for (const [what, b] of Object.entries(buttons)) {
      expect(await b.count() === 1 && await b.isVisible(), `the admin's search result bar offers no "${what}"`);
      expect(await b.isDisabled(), `"${what}" is enabled before anything is selected`);
    }
    const options = (await bar.getByLabel('Add selected to').locator('option').allTextContents()).map((t) => t.trim());
    expect(options.includes(S.collection.name), `the search's "Add selected to" offers [${options.join(', ')}], not "${S.collection.name}"`);
    await bar.locator('button[data-select-all]').click();
    const ticked = await results.locator('input[name="asset_ids"]').evaluateAll((bs) => bs.filter((b) => b.checked).length);
    expect(ticked === n, `after "Select all" ${ticked} of ${n} results are ticked`);
    for (const [what, b] of Object.entries(buttons)) expect(await b.isEnabled(), `"${what}" stays disabled with every result selected`);
    await J.checkPage(page, '32-search-admin-selected');
    await page.setViewportSize(PHONE);
    await J.checkPage(page, '32-search-admin-selected');
    await page.setViewportSize(DESKTOP);
    await clickAndLoad(page, buttons['Share selected…']);
    await noErrorBox(page);
    expect((await textOf(page, 'h1')) === 'New share link', `"Share selected…" from the search opened "${await textOf(page, 'h1')}"`);
    const listed = (await page.locator('section.panel .rows li > span:first-child').allTextContents()).map((t) => t.trim()).sort();
    expect(JSON.stringify(listed) === JSON.stringify(want), `"Share selected…" from the search offers a link to [${listed.join(', ')}], expected [${want.join(', ')}]`);
  }, page);

  await context.close();
  return J;
}

/**
 * What a member's home page shows: its area cards, the featured collections and the "New this
 * week" strip, each item with the text it shows and where its link leads (null: not a link).
 */
async function homeStrips(page) {
  return page.evaluate(() => {
    const text = (el) => (el ? el.textContent.replace(/\s+/g, ' ').trim() : '');
    const after = (title) => {
      const h = Array.from(document.querySelectorAll('main h2.section-title')).find((x) => text(x) === title);
      const list = h && h.nextElementSibling;
      return list && list.tagName === 'UL' ? Array.from(list.children) : null;
    };
    const item = (li, name, sub) => {
      const a = li.querySelector('a[href]');
      const r = a && a.getBoundingClientRect();
      return { name: text(li.querySelector(name)), sub: sub ? text(li.querySelector(sub)) : '', href: a ? a.getAttribute('href') : null, shown: !!(r && r.width > 0 && r.height > 0) };
    };
    const areas = Array.from(document.querySelectorAll('main ul.area-grid > li')).map((li) => item(li, '.folder-name', '.folder-path'));
    const featured = after('Featured collections');
    const fresh = after('New this week');
    return {
      areas,
      featured: featured && featured.map((li) => item(li, '.folder-name', '.folder-path')),
      fresh: fresh && fresh.map((li) => item(li, '.asset-label', '')),
      freshIsStrip: !!document.querySelector('main ul.asset-grid.strip'),
    };
  });
}

// =============================================================================================
async function partnerJourney() {
  const J = new Journey('partner', { shotsDir: SHOTS, base: BASE });
  running = J;
  journeys.push(J);
  const context = await newContext(DESKTOP);
  const page = await context.newPage();
  J.watch(page);
  const retail = S.assets;
  const target = S.searchAsset;

  await signIn(J, page, PARTNER, '01-login');

  await J.step('the home page shows the Retail area, and not the agency\'s', async () => {
    expect((await textOf(page, 'h1')) === 'Your areas', `the partner's home is titled "${await textOf(page, 'h1')}"`);
    expect(await page.locator('.folder-card', { hasText: 'Retail' }).count() === 1, 'the partner\'s home does not list Retail');
    expect(await page.locator('.folder-card', { hasText: 'Agency inbox' }).count() === 0, 'the partner sees the Agency inbox');
    await J.checkPage(page, '02-home');
    const nav = page.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link', { name: 'My submissions' }).count() === 0, 'the partner, who may not contribute, is offered "My submissions"');
    await open(page, '/folders/no-such-folder', 404);
    expect(await nav.getByRole('link', { name: 'Library' }).count() === 1, 'the 404 page has no menu for a signed-in partner');
    await J.checkPage(page, '02b-not-found');
    await open(page, '/');
  }, page);

  // The partner's home (issue 21): each granted area as a card with its count, the assets the
  // admin published this week, the collection the admin featured with the count of its assets
  // the partner may see (three of its four); every item leads to its page.
  await J.step('the home page\'s strips: the area with its count, "New this week", the featured collection', async () => {
    const c = S.collection;
    const wantNew = retail.map((a) => a.title || a.name).sort();
    const hiddenNames = S.internal.map((a) => a.name);
    const check = async () => {
      const h = await homeStrips(page);
      const areas = h.areas.map((x) => `${x.name} (${x.sub})`);
      expect(h.areas.length === 1, `the partner's home shows the areas [${areas.join('; ')}], expected Retail only`);
      const [area] = h.areas;
      expect(area.name === 'Retail' && area.sub === `${retail.length} assets`, `the area card reads "${area.name}" / "${area.sub}", expected "Retail" / "${retail.length} assets"`);
      expect(area.href === `/folders/${S.retailId}` && area.shown, `the Retail card links to ${area.href}${area.shown ? '' : ' (not shown)'}, expected /folders/${S.retailId}`);
      expect(h.fresh, 'the partner\'s home has no "New this week" strip');
      expect(h.freshIsStrip, '"New this week" is not laid out as a strip (ul.asset-grid.strip)');
      const fresh = h.fresh.map((x) => x.name).sort();
      expect(JSON.stringify(fresh) === JSON.stringify(wantNew), `"New this week" lists [${fresh.join(', ')}], expected what the admin published in Retail: [${wantNew.join(', ')}]`);
      for (const n of hiddenNames) expect(!fresh.includes(n), `"New this week" shows ${n}, from a folder the partner may not see`);
      for (const x of h.fresh) {
        const a = retail.find((r) => (r.title || r.name) === x.name);
        expect(x.href === `/assets/${a.id}` && x.shown, `"${x.name}" in "New this week" links to ${x.href}, expected /assets/${a.id}`);
      }
      expect(h.featured, 'the partner\'s home has no "Featured collections"');
      const featured = h.featured.map((x) => `${x.name} (${x.sub})`);
      expect(h.featured.length === 1, `"Featured collections" lists [${featured.join('; ')}], expected "${c.name}" only`);
      const [f] = h.featured;
      const sub = `${c.visible.length} assets · ${c.description}`;
      expect(f.name === c.name && f.sub === sub, `the featured collection reads "${f.name}" / "${f.sub}", expected "${c.name}" / "${sub}" (the ${c.visible.length} of its ${c.visible.length + c.hidden.length} assets the partner may see)`);
      expect(f.href === `/collections/${c.id}` && f.shown, `the featured collection links to ${f.href}, expected /collections/${c.id}`);
      return h;
    };
    const h = await check();
    await J.checkPage(page, '02c-home-strips');
    // Every item leads to its page.
    await clickAndLoad(page, page.locator('main ul.area-grid a.area-card').first());
    expect(new URL(page.url()).pathname === `/folders/${S.retailId}` && (await textOf(page, 'h1')) === 'Retail', `the Retail card led to ${rel(page.url(), BASE)} ("${await textOf(page, 'h1')}")`);
    expect(await page.locator('.asset-card').count() === retail.length, `the Retail card led to a folder of ${await page.locator('.asset-card').count()} assets, the card said ${retail.length}`);
    for (let i = 0; i < h.fresh.length; i++) {
      await open(page, '/');
      const x = h.fresh[i];
      await clickAndLoad(page, page.locator('main ul.strip > li').nth(i).locator('a[href^="/assets/"]'));
      expect(new URL(page.url()).pathname === x.href && (await textOf(page, 'h1')) === x.name, `"${x.name}" in "New this week" led to ${rel(page.url(), BASE)} ("${await textOf(page, 'h1')}")`);
    }
    await open(page, '/');
    await clickAndLoad(page, page.locator('main h2.section-title', { hasText: 'Featured collections' }).locator('xpath=following-sibling::ul[1]').locator('a').first());
    expect(new URL(page.url()).pathname === `/collections/${c.id}` && (await textOf(page, 'h1')) === c.name, `the featured collection led to ${rel(page.url(), BASE)} ("${await textOf(page, 'h1')}")`);
    const inside = (await page.locator('main .asset-card .asset-label').allTextContents()).map((t) => t.trim()).sort();
    const want = c.visible.map((a) => a.title || a.name).sort();
    expect(JSON.stringify(inside) === JSON.stringify(want), `the featured collection shows the partner [${inside.join(', ')}], expected the ${want.length} they may see: [${want.join(', ')}]`);
    await J.checkPage(page, '02d-featured-collection');
    await page.setViewportSize(PHONE);
    await open(page, '/');
    await check();
    await J.checkPage(page, '02c-home-strips');
    await page.setViewportSize(DESKTOP);
    await open(page, '/');
  }, page);

  await J.step(`search for "${KEYWORD}"`, async () => {
    await navTo(page, 'Search');
    await page.waitForURL(`${BASE}/search`);
    const box = page.locator('#search-q');
    await box.fill(KEYWORD);
    await box.press('Enter');
    await page.waitForURL((u) => u.searchParams.get('q') === KEYWORD);
    const found = S.keywordAssets;
    const count = await textOf(page, '.search-results [role=status]');
    expect(count.startsWith(`${found.length} assets`), `the search says "${count}", expected ${found.length} assets`);
    const labels = (await page.locator('.search-results .asset-label').allTextContents()).map((t) => t.trim()).sort();
    const want = found.map((a) => a.title || a.name).sort();
    expect(JSON.stringify(labels) === JSON.stringify(want), `the search found [${labels.join(', ')}], expected [${want.join(', ')}]`);
    await J.checkPage(page, '03-search');
  }, page);

  // Search results are selectable and zippable (issue 21): a box on every card, "Select all",
  // the size and "Download selected (ZIP)" give one ZIP named after the search; a partner's bar
  // has no admin actions.
  await J.step(`select all the results for "${KEYWORD}" and download them as one ZIP of Small JPEGs`, async () => {
    const found = S.keywordAssets;
    const cards = page.locator('.search-results .asset-card');
    const n = await cards.count();
    expect(n === found.length, `the search shows ${n} cards, expected ${found.length}`);
    const boxes = await cards.evaluateAll((cs) => cs.map((c) => {
      const box = c.querySelector('input[type=checkbox][name="asset_ids"]');
      const link = c.querySelector('a[href^="/assets/"]');
      return {
        label: c.querySelector('.asset-label').textContent.trim(), id: link && link.getAttribute('href').split('/')[2],
        box: box && { value: box.value, checked: box.checked, name: window.__e2e.accessibleName(box), form: box.form && box.form.id },
      };
    }));
    for (const b of boxes) {
      expect(b.box, `the result "${b.label}" has no selection box`);
      expect(b.box.value === b.id && b.box.form === 'selection' && !b.box.checked, `the box of "${b.label}" is ${JSON.stringify(b.box)}, expected an unticked box for ${b.id} in the results' form`);
      expect(b.box.name === `Select ${b.label}`, `the box of "${b.label}" is named "${b.box.name}"`);
    }
    const bar = page.locator('.search-results .selection-bar');
    const zipButton = bar.getByRole('button', { name: 'Download selected (ZIP)' });
    expect(await zipButton.count() === 1 && await zipButton.isDisabled(), '"Download selected (ZIP)" is missing or enabled before anything is selected');
    for (const what of ['Share selected…', 'Edit selected…', 'Add']) {
      expect(await bar.getByRole('button', { name: what, exact: true }).count() === 0, `the partner's search result bar offers "${what}"`);
    }
    expect(await bar.getByLabel('Add selected to').count() === 0, 'the partner\'s search result bar offers "Add selected to"');
    const toggle = bar.locator('button[data-select-all]');
    expect(await toggle.count() === 1, 'the search result bar has no "Select all" button');
    expect((await toggle.innerText()).trim() === `Select all (${n})`, `the toggle reads "${(await toggle.innerText()).trim()}", expected "Select all (${n})"`);
    await toggle.click();
    const ticked = await cards.locator('input[name="asset_ids"]').evaluateAll((bs) => bs.filter((b) => b.checked).length);
    expect(ticked === n, `after "Select all" ${ticked} of ${n} results are ticked`);
    expect((await toggle.innerText()).trim() === 'Select none', `with every result ticked the toggle reads "${(await toggle.innerText()).trim()}"`);
    expect(await zipButton.isEnabled(), '"Download selected (ZIP)" stays disabled with every result selected');
    await bar.getByLabel('Size').selectOption({ label: 'Small JPEG (800 px)' });
    await J.checkPage(page, '03b-search-selected', { keyboard: { target: '.search-results button[formaction="/zip"]', what: 'the "Download selected (ZIP)" button' } });
    const dir = fs.mkdtempSync(path.join(WORK, 'partner-search-'));
    const zip = await download(page, () => zipButton.click(), dir);
    J.log(`     ${zip.name}: ${zip.bytes.length} bytes`);
    expect(zip.name.startsWith(`search ${KEYWORD}-`) && zip.name.endsWith('.zip'), `the search's ZIP is called "${zip.name}", expected "search ${KEYWORD}-….zip"`);
    const entries = readZip(zip.bytes);
    // Each selected result once, as its Small JPEG: <file name without extension>-small.jpg.
    const small = (a) => `${a.name.replace(/\.[^.]+$/, '')}-small.jpg`;
    const got = entries.map((e) => e.name).sort();
    const wantEntries = found.map(small).sort();
    expect(JSON.stringify(got) === JSON.stringify(wantEntries), `the ZIP holds [${got.join(', ')}], expected the ${n} selected results as Small JPEGs: [${wantEntries.join(', ')}]`);
    for (const a of found) {
      const e = entries.find((x) => x.name === small(a));
      const px = jpegSize(e.data);
      const orig = a.name.endsWith('.png') ? { width: a.buffer.readUInt32BE(16), height: a.buffer.readUInt32BE(20) } : jpegSize(a.buffer);
      const k = Math.min(1, 800 / Math.max(orig.width, orig.height));
      expect(Math.abs(px.width - orig.width * k) <= 1 && Math.abs(px.height - orig.height * k) <= 1,
        `${e.name} is ${px.width} × ${px.height} px; the Small JPEG of a ${orig.width} × ${orig.height} original is ${Math.round(orig.width * k)} × ${Math.round(orig.height * k)}`);
    }
    J.log(`     entries ${got.join(', ')}`);
    await page.setViewportSize(PHONE);
    await J.checkPage(page, '03c-search-selected');
    await page.setViewportSize(DESKTOP);
  }, page);

  await J.step('open the asset, then its preview in the zoom dialog', async () => {
    const card = page.locator('.search-results .asset-card', { has: page.locator('.asset-label', { hasText: target.title }) });
    await clickAndLoad(page, card.locator('a[href^="/assets/"]'));
    expect((await textOf(page, 'h1')) === target.title, `the asset page is titled "${await textOf(page, 'h1')}"`);
    expect(await page.getByRole('link', { name: /Download original/ }).count() === 1, 'the partner sees no "Download original" button');
    expect(await page.locator('.keywords .chip', { hasText: KEYWORD }).count() === 1, 'the keyword is not shown on the asset page');
    await J.checkPage(page, '04-asset');
    const trigger = page.locator('.preview-frame');
    await trigger.click();
    const dialog = page.locator('dialog.zoom[open]');
    await dialog.waitFor();
    const label = await dialog.getAttribute('aria-label');
    expect(label && label.includes(target.title), `the zoom dialog has no accessible name with the title (aria-label "${label}")`);
    await page.waitForFunction(() => { const i = document.querySelector('dialog.zoom img'); return i && i.complete && i.naturalWidth > 0; });
    await J.checkPage(page, '05-zoom');
    await dialog.locator('img').click();
    expect(await page.locator('dialog.zoom.zoom-full').count() === 1, 'a click on the zoomed image does not switch to full size');
    await J.checkPage(page, '06-zoom-full');
    await page.keyboard.press('Escape');
    await page.locator('dialog.zoom').waitFor({ state: 'detached' });
    const back = await page.evaluate(() => document.activeElement && document.activeElement.classList.contains('preview-frame'));
    expect(back, 'after closing the zoom dialog the focus is not back on the preview');
  }, page);

  let zipDir;
  await J.step('go back to the folder, select three assets and download them as one ZIP', async () => {
    await clickAndLoad(page, page.locator('nav.crumbs a', { hasText: 'Retail' }));
    expect((await textOf(page, 'h1')) === 'Retail', 'the breadcrumb did not lead to Retail');
    const cards = await page.locator('.asset-card').count();
    expect(cards === retail.length, `the partner sees ${cards} assets in Retail, expected ${retail.length}`);
    const zipButton = page.getByRole('button', { name: 'Download selected (ZIP)' });
    expect(await zipButton.isDisabled(), '"Download selected (ZIP)" is enabled before anything is selected');
    await J.checkPage(page, '07-folder', { keyboard: { target: 'input[name="asset_ids"]', what: 'the first asset\'s selection box' } });
    const chosen = retail.slice(0, 3);
    for (const a of chosen) await page.locator(`.select-box:has(input[value="${a.id}"])`).click();
    for (const a of chosen) expect(await page.locator(`input[value="${a.id}"]`).isChecked(), `the box of ${a.name} is not ticked after a click`);
    expect(await zipButton.isEnabled(), '"Download selected (ZIP)" stays disabled with three assets selected');
    await J.checkPage(page, '08-folder-selected', { keyboard: { target: 'button[formaction="/zip"][data-needs-selection]', what: 'the "Download selected (ZIP)" button' } });
    zipDir = fs.mkdtempSync(path.join(WORK, 'partner-'));
    const zip = await download(page, () => zipButton.click(), zipDir);
    expect(zip.name.endsWith('.zip'), `the download is called "${zip.name}", expected a .zip`);
    const entries = checkZip(zip, chosen);
    J.log(`     ${zip.name}: ${zip.bytes.length} bytes, entries ${entries.map((e) => e.name).join(', ')}`);
  }, page);

  await J.step('download one original from its asset page', async () => {
    const a = retail[1];
    await open(page, `/assets/${a.id}`);
    const file = await download(page, () => page.getByRole('link', { name: /Download original/ }).click(), zipDir);
    expect(file.name === a.name, `the original downloads as "${file.name}", expected "${a.name}"`);
    expect(file.bytes.equals(a.buffer), `the downloaded original differs from the upload (${file.bytes.length} vs ${a.buffer.length} bytes)`);
  }, page);

  await J.step('the same pages on a phone (390 px)', async () => {
    await page.setViewportSize(PHONE);
    await open(page, '/');
    await J.checkPage(page, '09-home');
    await open(page, `/search?q=${KEYWORD}`);
    await J.checkPage(page, '10-search');
    await open(page, `/assets/${target.id}`);
    await J.checkPage(page, '11-asset');
    await page.locator('.preview-frame').click();
    await page.locator('dialog.zoom[open]').waitFor();
    await page.waitForFunction(() => { const i = document.querySelector('dialog.zoom img'); return i && i.complete && i.naturalWidth > 0; });
    const fits = await page.evaluate(() => {
      const r = document.querySelector('dialog.zoom').getBoundingClientRect();
      return r.left >= 0 && r.right <= innerWidth + 1;
    });
    expect(fits, 'the zoom dialog is wider than the phone screen');
    await J.checkPage(page, '12-zoom');
    await page.getByRole('button', { name: 'Close' }).click();
    await open(page, `/folders/${S.retailId}`);
    await page.locator(`.select-box:has(input[value="${retail[0].id}"])`).click();
    await J.checkPage(page, '13-folder', { keyboard: { target: 'button[formaction="/zip"][data-needs-selection]', what: 'the "Download selected (ZIP)" button' } });
  }, page);

  await context.close();
  return J;
}

// =============================================================================================
// The dropped tree: the folder upload code walks FileSystemEntry objects (webkitGetAsEntry).
// Playwright cannot drag OS folders, so the drop event carries entries built in the page over
// real File objects, with the same interface (isFile/isDirectory, file(), createReader() whose
// readEntries() answers in batches and then with an empty list).
async function dropTree(page, tree) {
  await page.evaluate((tree) => {
    const fromB64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
    const entry = (node, parent) => {
      const fullPath = `${parent}/${node.name}`;
      if (node.children) {
        const kids = node.children.map((c) => entry(c, fullPath));
        return {
          isFile: false, isDirectory: true, name: node.name, fullPath,
          createReader() {
            let pos = 0;
            return {
              readEntries(ok) {
                const batch = kids.slice(pos, pos + 2); // two per batch, like big folders in Chromium
                pos += batch.length;
                setTimeout(() => ok(batch), 5);
              },
            };
          },
        };
      }
      const file = new File([fromB64(node.b64)], node.name, { type: node.type, lastModified: Date.now() });
      return { isFile: true, isDirectory: false, name: node.name, fullPath, file(ok) { setTimeout(() => ok(file), 5); } };
    };
    const root = entry(tree, '');
    const item = { kind: 'file', type: '', webkitGetAsEntry: () => root, getAsFile: () => null };
    const dataTransfer = { items: [item], files: [], types: ['Files'], dropEffect: 'copy', effectAllowed: 'all' };
    const zone = document.querySelector('.dropzone');
    const fire = (type) => {
      const ev = new DragEvent(type, { bubbles: true, cancelable: true });
      Object.defineProperty(ev, 'dataTransfer', { value: dataTransfer });
      zone.dispatchEvent(ev);
      return ev;
    };
    fire('dragenter');
    fire('dragover');
    window.__dropIt = () => fire('drop').defaultPrevented;
  }, tree);
}

function treeFiles(node, prefix = '') {
  if (!node.children) return [{ rel: prefix + node.name, node }];
  return node.children.flatMap((c) => treeFiles(c, `${prefix}${node.name}/`));
}

// Samples the progress bars while uploads run, to show they move and finish.
async function startProgressSampler(page) {
  await page.evaluate(() => {
    window.__progress = [];
    window.__sampler = setInterval(() => {
      const overall = document.querySelector('#overall-progress');
      const bars = Array.from(document.querySelectorAll('.upload-list progress')).map((p) => p.value);
      window.__progress.push({ overall: overall ? overall.value : null, shown: !!(overall && !overall.closest('[hidden]')), bars });
    }, 40);
  });
}

async function stopProgressSampler(page) {
  return page.evaluate(() => { clearInterval(window.__sampler); return window.__progress; });
}

async function agencyJourney() {
  const J = new Journey('agency', { shotsDir: SHOTS, base: BASE });
  running = J;
  journeys.push(J);
  const context = await newContext(DESKTOP);
  const page = await context.newPage();
  J.watch(page);

  const imgs = await J.step('make the campaign files (canvas JPEG and PNG)', async () => {
    await page.setContent('<!doctype html><title>canvas</title>');
    return makeImages(page, [
      { name: 'hero-wide.jpg', type: 'image/jpeg', w: 1800, h: 900, hue: 40, label: 'Hero wide', noise: true },
      { name: 'hero-square.png', type: 'image/png', w: 700, h: 700, hue: 330, label: 'Hero square', noise: true },
      { name: 'story-1.jpg', type: 'image/jpeg', w: 540, h: 960, hue: 170, label: 'Story 1' },
      { name: 'story-2.jpg', type: 'image/jpeg', w: 540, h: 960, hue: 190, label: 'Story 2' },
      { name: 'post.png', type: 'image/png', w: 600, h: 600, hue: 90, label: 'Post' },
      { name: 'teaser-poster.jpg', type: 'image/jpeg', w: 800, h: 1100, hue: 250, label: 'Teaser poster' },
      { name: 'teaser-banner.png', type: 'image/png', w: 900, h: 300, hue: 10, label: 'Teaser banner' },
    ]);
  }, page);
  const b64 = (i) => ({ name: imgs[i].name, type: imgs[i].mimeType, b64: imgs[i].buffer.toString('base64') });
  // Dropped: a campaign folder with nested subfolders.
  const dropped = {
    name: 'Autumn campaign',
    children: [
      { name: 'Hero', children: [b64(0), b64(1)] },
      { name: 'Social', children: [{ name: 'Stories', children: [b64(2), b64(3)] }, b64(4)] },
    ],
  };
  const droppedFiles = treeFiles(dropped);
  // Picked with "Choose a folder": written to disk, given to the webkitdirectory input.
  const pickedRoot = path.join(WORK, 'picked');
  const pickedFiles = [
    { rel: 'Winter teaser/teaser-poster.jpg', img: imgs[5] },
    { rel: 'Winter teaser/Banners/teaser-banner.png', img: imgs[6] },
  ];
  for (const f of pickedFiles) {
    fs.mkdirSync(path.dirname(path.join(pickedRoot, f.rel)), { recursive: true });
    fs.writeFileSync(path.join(pickedRoot, f.rel), f.img.buffer);
  }

  await signIn(J, page, AGENCY, '01-login');

  await J.step('the home page shows the Agency inbox only', async () => {
    expect(await page.locator('.folder-card', { hasText: 'Agency inbox' }).count() === 1, 'the agency\'s home does not list the Agency inbox');
    expect(await page.locator('.folder-card', { hasText: 'Retail' }).count() === 0, 'the agency sees Retail');
    await J.checkPage(page, '02-home');
    await clickAndLoad(page, page.locator('.folder-card', { hasText: 'Agency inbox' }));
    expect((await textOf(page, 'h1')) === 'Agency inbox', 'the folder card did not open the Agency inbox');
    expect(await page.locator('.dropzone').count() === 1, 'the Agency inbox has no drop zone for the agency');
    await J.checkPage(page, '03-inbox', { keyboard: { target: '#dir-input', what: 'the "Choose a folder" upload button' } });
  }, page);

  const cdp = await context.newCDPSession(page);
  await J.step(`drag the folder tree "${dropped.name}" (${droppedFiles.length} files in subfolders) onto the drop zone`, async () => {
    // A slower uplink (local uploads finish in a blink), so the bars can be seen moving.
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 600 * 1024 });
    await dropTree(page, dropped);
    expect(await page.locator('.dropzone.over').count() === 1, 'dragging over the drop zone does not highlight it');
    await J.checkPage(page, '04-dragging-over');
    await startProgressSampler(page);
    const prevented = await page.evaluate(() => window.__dropIt());
    expect(prevented, 'the drop zone did not handle the drop (the browser would open the file)');
    await page.waitForFunction((n) => document.querySelectorAll('.upload-list li').length >= n, droppedFiles.length, { timeout: 10000 });
    const mid = await poll(() => page.evaluate(() => {
      const o = document.querySelector('#overall-progress');
      return o && o.value > 0 && o.value < 100;
    }), { ms: 8000, every: 30 });
    if (mid) await J.checkPage(page, '05-uploading');
    await page.waitForFunction((n) => document.querySelectorAll('.upload-list .state.ok, .upload-list .state.failed').length >= n, droppedFiles.length, { timeout: 60000 });
    const samples = await stopProgressSampler(page);
    const rows = await page.locator('.upload-list li').evaluateAll((lis) => lis.map((li) => ({
      name: li.querySelector('.name').textContent, state: li.querySelector('.state').textContent,
      bar: li.querySelector('progress') ? li.querySelector('progress').value : null,
      barName: li.querySelector('progress') ? li.querySelector('progress').getAttribute('aria-label') : null,
    })));
    for (const f of droppedFiles) {
      const r = rows.find((x) => x.name === f.rel);
      expect(r, `the upload list has no row "${f.rel}" (rows: ${rows.map((x) => x.name).join(', ')})`);
      expect(r.state === 'done', `${f.rel}: "${r.state}", expected done`);
      expect(r.bar === 100, `${f.rel}: progress bar at ${r.bar}, expected 100`);
      expect(r.barName && r.barName.includes(f.rel), `${f.rel}: its progress bar has no name with the file (aria-label "${r.barName}")`);
    }
    const overall = await page.locator('#overall-progress').evaluate((p) => p.value);
    expect(overall === 100, `the overall progress bar ends at ${overall}, expected 100`);
    const text = await textOf(page, '.overall-text');
    expect(text.startsWith(`${droppedFiles.length} of ${droppedFiles.length} files`), `the overall text says "${text}"`);
    const seen = samples.map((s) => s.overall).filter((v) => v !== null);
    const moving = seen.filter((v) => v > 0 && v < 100);
    const monotonic = seen.every((v, i) => i === 0 || v >= seen[i - 1]);
    expect(monotonic, `the overall progress went backwards: ${seen.join(',')}`);
    expect(moving.length > 0, `the overall bar was never seen between 0 and 100 % (samples: ${[...new Set(seen)].join(',')})`);
    J.log(`     overall progress seen: ${[...new Set(seen)].join(' → ')} %`);
    await J.checkPage(page, '06-uploaded');
  }, page);

  await J.step(`pick the folder "Winter teaser" with "Choose a folder" (${pickedFiles.length} files)`, async () => {
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    const before = await page.locator('.upload-list li').count();
    await page.locator('#dir-input').setInputFiles(path.join(pickedRoot, 'Winter teaser'));
    const total = before + pickedFiles.length;
    await page.waitForFunction((n) => document.querySelectorAll('.upload-list .state.ok, .upload-list .state.failed').length >= n, total, { timeout: 30000 });
    const rows = await page.locator('.upload-list li').evaluateAll((lis) => lis.map((li) => `${li.querySelector('.name').textContent}: ${li.querySelector('.state').textContent}`));
    for (const f of pickedFiles) {
      expect(rows.includes(`${f.rel}: done`), `no finished row "${f.rel}" (rows: ${rows.join('; ')})`);
    }
    await J.checkPage(page, '07-picked');
  }, page);

  await J.step('"My submissions" lists every file, in review, in its subfolder', async () => {
    await navTo(page, 'My submissions');
    await page.waitForURL(`${BASE}/submissions`);
    const rows = await page.locator('main table tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.cells).map((c) => c.innerText.replace(/\s+/g, ' ').trim())));
    const all = [...droppedFiles.map((f) => f.rel), ...pickedFiles.map((f) => f.rel)];
    expect(rows.length === all.length, `My submissions lists ${rows.length} rows, expected ${all.length}`);
    for (const rp of all) {
      const name = path.posix.basename(rp);
      const dir = path.posix.dirname(rp);
      const row = rows.find((r) => r[0].includes(name));
      expect(row, `My submissions does not list ${name}`);
      const [, folder, , , state] = row;
      expect(folder.replace(/^\/+/, '').endsWith(`Agency inbox/${dir}`), `${name} is in the folder "${folder}", expected ".../Agency inbox/${dir}"`);
      expect(/in review/i.test(state), `${name} shows the state "${state}", expected "in review"`);
    }
    await J.checkPage(page, '08-submissions');
    await page.setViewportSize(PHONE);
    await checkCards(J, page, 'My submissions', { rows: all.length });
    await J.checkPage(page, '09-submissions');
    await open(page, `/folders/${S.inboxId}`);
    await J.checkPage(page, '10-inbox', { keyboard: { target: '#dir-input', what: 'the "Choose a folder" upload button' } });
    await page.setViewportSize(DESKTOP);
  }, page);

  await context.close();
  return J;
}

// =============================================================================================
async function visitorJourney() {
  const J = new Journey('visitor', { shotsDir: SHOTS, base: BASE });
  running = J;
  journeys.push(J);
  const context = await newContext(PHONE);
  const page = await context.newPage();
  J.watch(page);
  const link = S.link;
  const dir = fs.mkdtempSync(path.join(WORK, 'visitor-'));

  await J.step('open the link: a password form', async () => {
    await open(page, link.path);
    expect(await page.getByLabel('Password').count() === 1, 'the link page asks for no password');
    expect(await page.locator('.asset-card').count() === 0, 'the link page shows files before the password is given');
    await J.checkPage(page, '01-password', { keyboard: { target: 'input[name="password"]', what: 'the password field' } });
  }, page);

  await J.step('the password form stands on the sign-in page\'s branded background', async () => {
    await checkBranded(page, 'the link\'s password form');
  }, page);

  await J.step('a wrong password is refused with a message', async () => {
    await page.getByLabel('Password').fill('not the password');
    await clickAndLoad(page, page.getByRole('button', { name: 'Open' }));
    const alert = page.locator('[role=alert]');
    expect(await alert.count() === 1, 'no error message after a wrong password');
    const msg = (await alert.innerText()).trim();
    expect(/password/i.test(msg), `the error says "${msg}"`);
    expect(await page.locator('.asset-card').count() === 0, 'files are shown after a wrong password');
    expect(new URL(page.url()).pathname === link.path, `after a wrong password the address is ${rel(page.url(), BASE)}, so a reload posts the form again`);
    expect(await page.getByLabel('Password').getAttribute('aria-invalid') === 'true', 'the refused password field is not marked aria-invalid');
    await J.checkPage(page, '02-wrong-password', { keyboard: { target: 'input[name="password"]', what: 'the password field' } });
  }, page);

  await J.step('the right password opens the gallery', async () => {
    await page.getByLabel('Password').fill(link.password);
    await clickAndLoad(page, page.getByRole('button', { name: 'Open' }));
    await noErrorBox(page);
    expect((await textOf(page, 'h1')) === link.title, `the gallery is titled "${await textOf(page, 'h1')}", expected "${link.title}"`);
    const labels = (await page.locator('.asset-card .asset-label').allTextContents()).map((t) => t.trim()).sort();
    const want = link.assets.map((a) => a.title || a.name).sort();
    expect(JSON.stringify(labels) === JSON.stringify(want), `the gallery shows [${labels.join(', ')}], expected [${want.join(', ')}]`);
    expect((await textOf(page, '.message')).startsWith('Hello!'), 'the sender\'s message is not shown');
    await J.checkPage(page, '03-gallery', { keyboard: { target: 'a[href$="/zip"]', what: 'the "Download all" button' } });
    await page.setViewportSize(DESKTOP);
    await J.checkPage(page, '03-gallery', { keyboard: { target: 'a[href$="/zip"]', what: 'the "Download all" button' } });
    await page.setViewportSize(PHONE);
  }, page);

  // The gallery's lightbox, by keyboard, at 1280 and at 390 px: Tab to a tile and Enter; the
  // title (also the dialog's name), size and pixels, Download and the loaded preview; the next
  // preview loaded ahead; ArrowRight/ArrowLeft (the address names the asset shown), a swipe on
  // the phone; the zoom; Escape gives the focus back to the tile of the asset shown last; the
  // address with #asset-ID opens the lightbox on that asset.
  const tiles = await J.step('the gallery\'s tiles open a lightbox', async () => {
    const t = await page.locator('button[data-lightbox]').evaluateAll((bs) => bs.map((b) => ({
      id: b.dataset.id, title: b.dataset.title, meta: b.dataset.meta, download: b.dataset.download, preview: b.dataset.zoom,
    })));
    const want = link.assets.map((a) => a.title || a.name).sort();
    expect(JSON.stringify(t.map((x) => x.title).sort()) === JSON.stringify(want), `the lightbox tiles are [${t.map((x) => x.title).join(', ')}], expected [${want.join(', ')}]`);
    expect(t.every((x) => x.id && x.meta && /\d × \d/.test(x.meta) && x.download && x.preview), `a tile lacks its id, size and pixels, download or preview: ${JSON.stringify(t)}`);
    return t;
  }, page);
  const previews = new Map(); // path -> requests, to see the next preview loaded ahead (once)
  page.on('request', (r) => {
    const p = new URL(r.url()).pathname;
    if (p.endsWith('/preview')) previews.set(p, (previews.get(p) || 0) + 1);
  });
  const lightbox = () => page.evaluate(() => {
    const d = document.querySelector('dialog.lightbox');
    const active = document.activeElement;
    const out = { open: !!(d && d.open), hash: location.hash, focus: window.__e2e.describe(active), focusId: active && active.getAttribute('data-id') };
    if (!out.open) return out;
    const text = (sel) => ((d.querySelector(sel) || {}).textContent || '').replace(/\s+/g, ' ').trim();
    const img = d.querySelector('.lb-stage img');
    const stage = d.querySelector('.lb-stage');
    const dl = d.querySelector('a.lb-download');
    const zoom = d.querySelector('.lb-zoom');
    const r = d.getBoundingClientRect();
    return Object.assign(out, {
      name: window.__e2e.accessibleName(d), title: text('h2'), meta: text('.lb-size'), count: text('.lb-count'),
      download: dl && dl.getClientRects().length ? { href: dl.getAttribute('href'), attr: dl.hasAttribute('download') } : null,
      loaded: !!(img && img.complete && img.naturalWidth > 0), src: img && img.getAttribute('src'),
      natural: img ? [img.naturalWidth, img.naturalHeight] : [], box: img ? [img.offsetWidth, img.offsetHeight] : [],
      zoomed: d.classList.contains('lb-zoomed'), zoomLabel: zoom.getClientRects().length ? zoom.textContent.trim() : '',
      scrolls: stage.scrollWidth > stage.clientWidth + 1 || stage.scrollHeight > stage.clientHeight + 1,
      prev: d.querySelector('.lb-prev').getAttribute('aria-label'), next: d.querySelector('.lb-next').getAttribute('aria-label'),
      fits: r.left >= 0 && r.top >= 0 && r.right <= innerWidth + 1 && r.bottom <= innerHeight + 1,
      inside: d.contains(active),
    });
  });
  // Waits until the lightbox shows what `ok` wants; fails with what it showed instead.
  const until = async (ok, what) => {
    let last = null;
    const got = await poll(async () => { last = await lightbox(); return ok(last) ? last : null; }, { ms: 10000, every: 100 });
    expect(got, `${what}; the lightbox shows ${JSON.stringify(last)}`);
    return got;
  };
  const showing = (t) => (s) => s.open && s.title === t.title && s.loaded && s.src === t.preview;
  // A real touch swipe (Chromium's input pipeline: touch-action, pointer events) across the stage.
  const swipe = async (fromX, toX, y) => {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x: fromX, y }] });
    for (let k = 1; k <= 6; k++) await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x: fromX + ((toX - fromX) * k) / 6, y }] });
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    await cdp.detach();
  };

  for (const viewport of [DESKTOP, PHONE]) {
    const w = viewport.width;
    const [first, second] = tiles;
    await J.step(`lightbox at ${w} px: Tab to the first tile, Enter opens it with title, size, Download and the preview`, async () => {
      await page.setViewportSize(viewport);
      await open(page, link.path);
      previews.clear();
      await page.evaluate(() => window.__e2e.resetFocus());
      let reached = null;
      for (let i = 0; i < 30 && !reached; i++) {
        await page.keyboard.press('Tab');
        reached = await page.evaluate(() => document.activeElement.matches('button[data-lightbox]') && document.activeElement.getAttribute('data-id'));
      }
      expect(reached, 'Tab from the top does not reach a gallery tile');
      expect(reached === first.id, 'the first tile Tab reaches is not the first asset\'s');
      await page.keyboard.press('Enter');
      const s = await until(showing(first), `Enter on the tile of "${first.title}" does not show its preview in the lightbox`);
      expect(s.name === first.title, `the lightbox is named "${s.name}", expected the title "${first.title}"`);
      expect(s.meta === first.meta, `the lightbox says "${s.meta}", expected the size and pixels "${first.meta}"`);
      expect(s.count === `1 of ${tiles.length}`, `the counter reads "${s.count}", expected "1 of ${tiles.length}"`);
      expect(s.download && s.download.href === first.download && s.download.attr, `no Download link to ${first.download} with a download attribute (${JSON.stringify(s.download)})`);
      expect(s.hash === `#asset-${first.id}`, `the address ends in "${s.hash}", expected #asset-${first.id}`);
      expect(s.inside, `the focus is not in the lightbox but on ${s.focus}`);
      expect(s.fits, 'the lightbox is larger than the window');
      expect(s.prev === `Previous: ${second.title}` && s.next === `Next: ${second.title}`, `the previous/next buttons are named "${s.prev}" / "${s.next}"`);
      const ahead = await poll(() => previews.get(second.preview), { ms: 5000, every: 100 });
      expect(ahead, `the next preview (${second.preview}) is not loaded ahead`);
      await J.checkPage(page, '04-lightbox');
    }, page);

    await J.step(`lightbox at ${w} px: ArrowRight and ArrowLeft move, the address follows${w < 800 ? ', and so does a swipe' : ''}`, async () => {
      await page.keyboard.press('ArrowRight');
      let s = await until(showing(second), `ArrowRight does not show "${second.title}"`);
      expect(s.hash === `#asset-${second.id}`, `after ArrowRight the address ends in "${s.hash}", expected #asset-${second.id}`);
      expect(s.count === `2 of ${tiles.length}` && s.meta === second.meta, `after ArrowRight the counter and size read "${s.count}", "${s.meta}"`);
      expect(previews.get(second.preview) === 1, `the preview loaded ahead was fetched again (${previews.get(second.preview)} requests)`);
      await J.checkPage(page, '04b-lightbox-next');
      await page.keyboard.press('ArrowLeft');
      s = await until(showing(first), `ArrowLeft does not go back to "${first.title}"`);
      expect(s.hash === `#asset-${first.id}`, `after ArrowLeft the address ends in "${s.hash}", expected #asset-${first.id}`);
      if (w < 800) {
        const box = await page.locator('dialog.lightbox .lb-stage').boundingBox();
        const y = box.y + box.height / 2;
        await swipe(box.x + box.width * 0.8, box.x + box.width * 0.2, y);
        await until(showing(second), `a swipe to the left does not show the next asset "${second.title}"`);
        await swipe(box.x + box.width * 0.2, box.x + box.width * 0.8, y);
        await until(showing(first), `a swipe to the right does not go back to "${first.title}"`);
      }
      await page.keyboard.press('ArrowRight');
      await until(showing(second), `ArrowRight does not show "${second.title}" again`);
    }, page);

    await J.step(`lightbox at ${w} px: the zoom shows the natural size and back, by keyboard`, async () => {
      // The Zoom button is before Close (which has the focus): Shift+Tab, each stop visibly focused.
      let onZoom = false;
      for (let i = 0; i < 6 && !onZoom; i++) {
        await page.keyboard.press('Shift+Tab');
        onZoom = (await page.evaluate(() => window.__e2e.afterTab('dialog.lightbox .lb-zoom'))).atTarget;
      }
      const { invisible, path: walked } = await page.evaluate(() => window.__e2e.finishTab());
      expect(onZoom, `Shift+Tab in the lightbox does not reach the zoom button (${walked.join(' → ')})`);
      for (const el of invisible) J.fail(`${rel(page.url(), BASE)} @${w}px`, `keyboard focus is not visible on ${el} in the lightbox`);
      await page.evaluate(() => document.querySelector('dialog.lightbox .lb-zoom').focus());
      let s = await lightbox();
      expect(s.zoomLabel === 'Actual size' && s.box[0] < s.natural[0], `expected a fitted preview smaller than its ${s.natural.join(' × ')} px and "Actual size"; got ${s.box.join(' × ')} and "${s.zoomLabel}"`);
      await page.keyboard.press('Enter');
      s = await until((x) => x.zoomed, 'Enter on "Actual size" does not zoom');
      expect(s.box[0] === s.natural[0] && s.box[1] === s.natural[1], `zoomed, the preview is ${s.box.join(' × ')} px, not its natural ${s.natural.join(' × ')}`);
      expect(s.scrolls, 'zoomed, the preview cannot be scrolled');
      expect(s.zoomLabel === 'Fit to screen', `zoomed, the button reads "${s.zoomLabel}", expected "Fit to screen"`);
      await J.checkPage(page, '04c-lightbox-zoomed');
      await page.keyboard.press('Enter');
      s = await until((x) => !x.zoomed, 'Enter on "Fit to screen" does not fit the preview again');
      expect(s.box[0] <= s.natural[0] && !s.scrolls, 'fitted again, the preview still scrolls');
      await page.keyboard.press('z');
      await until((x) => x.zoomed, 'the z key does not zoom');
      await page.keyboard.press('z');
      await until((x) => !x.zoomed, 'the z key does not fit the preview again');
    }, page);

    await J.step(`lightbox at ${w} px: Escape closes it, the focus is on the tile of the asset shown last`, async () => {
      await page.keyboard.press('Escape');
      const s = await poll(async () => { const x = await lightbox(); return x.open ? null : x; }, { ms: 5000, every: 100 });
      expect(s, 'Escape does not close the lightbox');
      expect(s.focusId === second.id, `after Escape the focus is on ${s.focus}, expected the tile of "${second.title}" (shown last)`);
      expect(s.hash === '', `after closing the address still ends in "${s.hash}"`);
    }, page);

    await J.step(`lightbox at ${w} px: the address with #asset-ID opens it on that asset`, async () => {
      await page.evaluate((h) => history.replaceState(null, '', h), `#asset-${second.id}`);
      await page.reload({ waitUntil: 'load' });
      const s = await until(showing(second), `loading ${link.path}#asset-${second.id} does not open the lightbox on "${second.title}"`);
      expect(s.count === `2 of ${tiles.length}`, `the counter reads "${s.count}"`);
      await J.checkPage(page, '04d-lightbox-from-address');
      await page.keyboard.press('Escape');
      await poll(async () => !(await lightbox()).open, { ms: 5000, every: 100 });
      expect(await page.evaluate((id) => document.activeElement.getAttribute('data-id') === id, second.id), 'after Escape the focus is not on the tile of the asset opened from the address');
    }, page);
  }

  await J.step('someone given the address with #asset-ID unlocks the link and sees that asset', async () => {
    const other = await newContext(PHONE);
    const p = await other.newPage();
    J.watch(p);
    const t = tiles[1];
    await open(p, `${link.path}#asset-${t.id}`);
    await p.getByLabel('Password').fill(link.password);
    await clickAndLoad(p, p.getByRole('button', { name: 'Open' }));
    const got = await poll(() => p.evaluate(() => {
      const d = document.querySelector('dialog.lightbox[open]');
      return d && { title: d.querySelector('h2').textContent, path: location.pathname, hash: location.hash };
    }), { ms: 10000, every: 100 });
    expect(got, `after the password the page ${rel(p.url(), BASE)} shows no lightbox`);
    expect(got.title === t.title && got.hash === `#asset-${t.id}` && got.path === link.path, `after the password: ${JSON.stringify(got)}; expected "${t.title}" at ${link.path}#asset-${t.id}`);
    await J.checkPage(p, '04e-lightbox-after-password');
    await other.close();
  }, page);

  await J.step('download one file', async () => {
    const card = page.locator('.asset-card').first();
    const label = (await card.locator('.asset-label').innerText()).trim();
    const a = link.assets.find((x) => (x.title || x.name) === label);
    const file = await download(page, () => card.getByRole('link', { name: /^Download/ }).click(), dir);
    expect(file.bytes.length > 0, 'the downloaded file is empty');
    expect(file.name === a.name, `the file downloads as "${file.name}", expected "${a.name}"`);
    expect(file.bytes.equals(a.buffer), `the downloaded file differs from the upload (${file.bytes.length} vs ${a.buffer.length} bytes)`);
    J.log(`     ${file.name}: ${file.bytes.length} bytes`);
  }, page);

  await J.step('"Download all" gives one ZIP of the shared files', async () => {
    const zip = await download(page, () => page.getByRole('link', { name: /Download all/ }).click(), dir);
    expect(zip.name.endsWith('.zip'), `"Download all" downloads "${zip.name}", expected a .zip`);
    const entries = checkZip(zip, link.assets);
    J.log(`     ${zip.name}: ${zip.bytes.length} bytes, entries ${entries.map((e) => e.name).join(', ')}`);
    await J.checkPage(page, '05-after-downloads');
  }, page);

  // Download presets (issue 21): a card's "Sizes" menu names each size in pixels; the JPEG it
  // downloads has those pixels and fits the preset's longest side. The link has no download
  // limit, so these come after "Download all" without taking anything from it.
  for (const [viewport, preset, max] of [[PHONE, 'small', 800], [DESKTOP, 'web', 1600]]) {
    const label = { small: 'Small JPEG', web: 'Web JPEG' }[preset];
    await J.step(`at ${viewport.width} px the card's "Sizes" menu downloads the ${label} at the size it names (longest side ≤ ${max})`, async () => {
      await page.setViewportSize(viewport);
      await open(page, link.path);
      const a = link.assets.find((x) => x.name.endsWith('.jpg'));
      const original = jpegSize(a.buffer);
      const title = a.title || a.name;
      const labels = (await page.locator('.asset-card .asset-label').allTextContents()).map((t) => t.trim());
      expect(labels.filter((t) => t === title).length === 1, `the gallery shows [${labels.join(', ')}], expected one card of "${title}"`);
      const card = page.locator('.asset-card').nth(labels.indexOf(title));
      const sizes = card.locator('details.sizes');
      expect(await sizes.count() === 1, `the card of "${title}" offers no "Sizes" menu`);
      await sizes.locator('summary').click();
      const item = sizes.locator('.sizes-menu a', { hasText: label });
      expect(await item.count() === 1 && await item.isVisible(), `the opened "Sizes" menu of "${title}" shows no "${label}" (it offers: ${(await sizes.locator('.sizes-menu a').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ')).join('; ')})`);
      const box = await item.boundingBox();
      expect(box && box.x >= 0 && box.x + box.width <= viewport.width + 1, `"${label}" in the menu is off-screen (${box && Math.round(box.x)} to ${box && Math.round(box.x + box.width)} px)`);
      // The JPEG sizes the menu lists: each preset's fit, one left out when it is the same size
      // as the larger one before it (a 1200 px picture offers no Web JPEG of 1200 px).
      const fit = (m) => {
        if (original.width <= m && original.height <= m) return [original.width, original.height];
        const s = m / Math.max(original.width, original.height);
        return [Math.min(m, Math.round(original.width * s)), Math.min(m, Math.round(original.height * s))];
      };
      const want = [];
      for (const [name, m] of [['Large JPEG', 3000], ['Web JPEG', 1600], ['Small JPEG', 800]]) {
        const [fw, fh] = fit(m);
        const dims = `${fw} × ${fh} px`;
        if (!want.length || want[want.length - 1].dims !== dims) want.push({ name, dims });
      }
      const menu = (await sizes.locator('.sizes-menu a').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
      const wantText = want.map((x) => `${x.name} ${x.dims}`);
      expect(JSON.stringify(menu) === JSON.stringify(wantText), `for a ${original.width} × ${original.height} JPEG the "Sizes" menu offers [${menu.join('; ')}], expected [${wantText.join('; ')}]`);
      const href = await item.getAttribute('href');
      expect(href === `${link.path}/assets/${a.id}/${preset}`, `"${label}" leads to ${href}, expected ${link.path}/assets/${a.id}/${preset}`);
      const named = ((await item.locator('.muted').innerText()) || '').trim();
      const m = /^(\d+) × (\d+) px$/.exec(named);
      expect(m, `the menu names the ${label}'s size as "${named}", expected "W × H px"`);
      const promised = { width: Number(m[1]), height: Number(m[2]) };
      // What the preset should be: the original fitted into max × max, never enlarged.
      const k = Math.min(1, max / Math.max(original.width, original.height));
      const fits = Math.abs(promised.width - original.width * k) <= 1 && Math.abs(promised.height - original.height * k) <= 1;
      expect(fits, `the menu promises ${named} for a ${original.width} × ${original.height} original, not its fit into ${max} px`);
      await J.checkPage(page, `05b-sizes-${preset}`);
      const file = await download(page, () => item.click(), dir);
      const got = jpegSize(file.bytes);
      J.log(`     ${label} of ${a.name} (${original.width} × ${original.height}): ${file.name}, ${file.bytes.length} bytes, ${got.width} × ${got.height} px (${got.marker}); the menu said ${named}`);
      expect(/\.jpe?g$/i.test(file.name), `the ${label} downloads as "${file.name}", not a .jpg`);
      expect(got.width === promised.width && got.height === promised.height, `the ${label} is ${got.width} × ${got.height} px, the menu promised ${named}`);
      expect(Math.max(got.width, got.height) <= max, `the ${label} is ${got.width} × ${got.height} px, over ${max} px`);
      if (k < 1) expect(!file.bytes.equals(a.buffer), `the ${label} is the original file`);
    }, page);
  }

  // A per-recipient link that needs a one-time code (made by the admin through the API): the
  // code screen, on the branded background, says where the code goes, masked; the code from
  // the mail opens the link.
  const cl = S.codeLink;
  const masked = `${cl.recipient[0]}•••@${cl.recipient.split('@')[1]}`;
  const codeContext = await newContext(PHONE);
  const cp = await codeContext.newPage();
  J.watch(cp);
  await J.step(`a link that needs a code says it goes to ${masked}`, async () => {
    await open(cp, cl.path);
    await checkBranded(cp, 'the code form');
    const text = await textOf(cp, 'main');
    expect(text.includes(`We will email it to ${masked}`), `the code form does not say where the code goes (${masked}): "${text.slice(0, 200)}"`);
    expect(!text.includes(cl.recipient), 'the code form shows the whole address');
    await J.checkPage(cp, '06-code', { keyboard: { target: 'form[action$="/code"] button', what: 'the "Email me a code" button' } });
  }, cp);

  await J.step(`"Email me a code": "We sent a code to ${masked}", and the code opens the link`, async () => {
    const before = new Set(listEml(OUTBOX));
    await clickAndLoad(cp, cp.getByRole('button', { name: 'Email me a code' }));
    await noErrorBox(cp);
    const status = await textOf(cp, 'main [role=status]');
    expect(status.startsWith(`We sent a code to ${masked}.`), `after "Email me a code" the page says "${status}"`);
    expect(!(await textOf(cp, 'main')).includes(cl.recipient), 'the code screen shows the whole address');
    await checkBranded(cp, 'the code screen');
    await J.checkPage(cp, '07-code-sent', { keyboard: { target: 'input[name="code"]', what: 'the code field' } });
    await cp.setViewportSize(DESKTOP);
    await J.checkPage(cp, '07-code-sent');
    const code = await poll(() => {
      for (const f of listEml(OUTBOX)) {
        if (before.has(f)) continue;
        const { headers, body } = readEml(fs.readFileSync(f, 'utf8'));
        const to = (headers.match(/^to:.*$/im) || [''])[0];
        const m = /shared files is:\s+(\d{6})/.exec(body);
        if (to.includes(cl.recipient) && m) return m[1];
      }
      return null;
    }, { ms: 15000 });
    expect(code, `no mail with a code to ${cl.recipient} in ${OUTBOX}`);
    await cp.getByLabel('Code').fill(code);
    await clickAndLoad(cp, cp.getByRole('button', { name: 'Open' }));
    await noErrorBox(cp);
    const labels = (await cp.locator('.asset-card .asset-label').allTextContents()).map((t) => t.trim());
    expect(labels.length === 1 && labels[0] === (cl.asset.title || cl.asset.name), `the code opened a gallery of [${labels.join(', ')}], expected ${cl.asset.name}`);
    expect(!(await cp.evaluate(() => document.body.classList.contains('signin'))), 'the open gallery still stands on the sign-in background');
    await J.checkPage(cp, '08-code-gallery');
  }, cp);
  await codeContext.close();

  // The admin's reports afterwards, on a phone: these downloads (and the agency's submissions)
  // as cards, the chart scrolled to the latest day.
  const adminContext = await newContext(PHONE);
  const ap = await adminContext.newPage();
  J.watch(ap);
  await signIn(J, ap, ADMIN, '09-admin-login');
  await J.step('the admin\'s reports on a phone: every table a card, the chart at the latest day', async () => {
    await open(ap, '/admin/reports');
    await checkCards(J, ap, 'the reports', { rows: 3 });
    const chart = await ap.evaluate(() => {
      const f = document.querySelector('.chart-figure');
      return f && { scrolls: f.scrollWidth > f.clientWidth + 1, atEnd: f.scrollLeft + f.clientWidth >= f.scrollWidth - 2, left: f.scrollLeft };
    });
    expect(chart, 'the reports page has no chart');
    expect(chart.scrolls, 'the chart does not scroll sideways on a phone (nothing to check)');
    if (!chart.atEnd) J.fail(`/admin/reports @${PHONE.width}px`, `the chart is not scrolled to the latest day (scrollLeft ${chart.left})`);
    await J.checkPage(ap, '10-reports-phone');
  }, ap);
  await adminContext.close();

  await context.close();
  return J;
}

// =============================================================================================
// The sender of an upload link with delivery slots (issue 19 parts 4-5): no account. The admin
// asks for files with the "Request files" form (two slots); the sender gives name and email,
// chooses a slot per file, is refused a file that breaks a slot's rule with the reason, sends
// the right files with a title each (the big one resumable, through tus) and after a reload
// still sees what they delivered. The admin's API confirms what arrived, titles and bytes.
async function senderJourney() {
  const J = new Journey('sender', { shotsDir: SHOTS, base: BASE });
  running = J;
  journeys.push(J);
  const admin = await newContext(DESKTOP);
  const apage = await admin.newPage();
  J.watch(apage);
  const LINK_TITLE = 'Spring campaign deliveries';
  const SLOTS = { hero: 'Hero banner', logo: 'Logo' };
  const SENDER = { name: 'Nora Studio', email: 'nora@studio.example' };

  const [small, wrongType, hero, logo] = await J.step('make the files (canvas JPEG and PNG; the hero over 8 MB)', async () => {
    await apage.setContent('<!doctype html><title>canvas</title>');
    return makeImages(apage, [
      { name: 'hero-draft.jpg', type: 'image/jpeg', w: 800, h: 600, hue: 15, label: 'Draft' },
      { name: 'logo-flat.jpg', type: 'image/jpeg', w: 400, h: 400, hue: 300, label: 'Logo' },
      { name: 'hero-spring.png', type: 'image/png', w: 2800, h: 1500, hue: 35, label: 'Spring hero', noise: true },
      { name: 'logo.png', type: 'image/png', w: 512, h: 512, hue: 260, label: 'Logo' },
    ]);
  }, apage);
  const titles = { [hero.name]: 'Spring hero, wide crop', [logo.name]: 'Logo on white' };

  await signIn(J, apage, ADMIN, '01-login');

  let linkPath = '';
  let linkUrl = '';
  await J.step('create a folder and an upload link with two slots on the "Request files" form', async () => {
    const folderForm = apage.locator('form[action="/folders"]');
    await folderForm.getByLabel('Name').fill('Supplier deliveries');
    await clickAndLoad(apage, folderForm.getByRole('button', { name: 'Create folder' }));
    await noErrorBox(apage);
    const folderId = /\/folders\/([^/?#]+)/.exec(apage.url());
    expect(folderId, 'creating the folder did not open its page');
    // The folder page offers "Request files…" only once it holds assets (the button sits in
    // the selection bar), so the empty inbox is asked for by the form's address.
    await open(apage, `/admin/upload-links/new?folder_id=${folderId[1]}`);
    expect((await textOf(apage, 'h1')) === 'Request files', `the upload link form is titled "${await textOf(apage, 'h1')}"`);
    const form = apage.locator('form[action="/admin/upload-links"]');
    await form.getByLabel(/^Title \(/).fill(LINK_TITLE);
    await form.getByLabel(/^Brief/).fill('One hero banner (or two crops) and the logo as PNG, by Friday.');
    const rows = form.locator('.slot-row');
    const fill = async (i, v) => {
      const row = rows.nth(i);
      await row.getByLabel('Name', { exact: true }).fill(v.name);
      await row.getByLabel(/^Types/).fill(v.types);
      if (v.minWidth) await row.getByLabel('Min width px').fill(String(v.minWidth));
      if (v.maxMb) await row.getByLabel('Max MB per file').fill(String(v.maxMb));
      await row.getByLabel('Files, at least').fill(String(v.min));
      await row.getByLabel('Files, at most').fill(String(v.max));
      await row.locator('select[name="slot_title"]').selectOption(v.title ? 'required' : 'optional');
    };
    await fill(0, { name: SLOTS.hero, types: 'image/jpeg, image/png', minWidth: 1200, maxMb: 40, min: 1, max: 2, title: true });
    await fill(1, { name: SLOTS.logo, types: 'image/png', min: 1, max: 1, title: false });
    await J.checkPage(apage, '02-request-files');
    await apage.setViewportSize(PHONE);
    await J.checkPage(apage, '02-request-files');
    await apage.setViewportSize(DESKTOP);
    await clickAndLoad(apage, form.getByRole('button', { name: 'Create upload link' }));
    await noErrorBox(apage);
    const url = await apage.locator('.copy-field').first().inputValue();
    const m = /\/u\/[A-Za-z0-9_-]+$/.exec(url);
    expect(m, `the created page shows no upload link address (got "${url}")`);
    linkPath = m[0];
    linkUrl = url;
    await J.checkPage(apage, '03-link-created');
  }, apage);

  await J.step('the upload link\'s QR code reads its /u/ address, on the created page and from the list\'s "QR code"', async () => {
    expect(/^https?:\/\/[^/]+\/u\/[A-Za-z0-9_-]+$/.test(linkUrl), `the upload link's address "${linkUrl}" is not an absolute /u/ address`);
    const qr = await apage.locator('figure.qr img').getAttribute('src');
    const id = /^\/admin\/upload-links\/([^/?#]+)\/qr\.svg$/.exec(qr || '');
    expect(id, `the created page's QR code comes from "${qr}", not /admin/upload-links/{id}/qr.svg`);
    const into = fs.mkdtempSync(path.join(WORK, 'sender-qr-'));
    await checkQr(apage, qr, linkUrl, into, 'the upload link\'s QR code');
    // The list of upload links offers the same code for each active link.
    await open(apage, '/admin/upload-links');
    const row = apage.locator('main table tr', { hasText: LINK_TITLE });
    expect(await row.count() === 1, `the upload links' list shows ${await row.count()} rows titled "${LINK_TITLE}"`);
    const button = row.getByRole('link', { name: `QR code of ${LINK_TITLE}` });
    expect(await button.count() === 1 && (await button.getAttribute('href')) === qr, `the list's row has no "QR code" link to ${qr}`);
    const file = await download(apage, () => button.click(), into);
    const text = await qrOfSvgFile(admin, file.bytes.toString('utf8'), `the list's QR code ${file.name}`);
    expect(text === linkUrl, `the list's QR code ${file.name} reads "${text}", expected ${linkUrl}`);
    await J.checkPage(apage, '03b-upload-links');
    J.log(`     QR code (created page, its download and the list's ${file.name}) reads ${linkUrl}`);
  }, apage);

  // The sender: another browser, no account.
  const sender = await newContext(DESKTOP);
  const page = await sender.newPage();
  const refused = [];
  const tus = [];
  J.watch(page, {
    expected: (res) => {
      const p = new URL(res.url()).pathname;
      if (res.status() === 422 && (p === `${linkPath}/files` || p.startsWith(`${linkPath}/tus`))) { refused.push(p); return true; }
      return false;
    },
  });
  page.on('request', (req) => { if (new URL(req.url()).pathname.startsWith(`${linkPath}/tus`)) tus.push(req.method()); });
  const slotLine = async (name) => ((await page.locator('ul.slots li', { hasText: name }).first().innerText()) || '').replace(/\s+/g, ' ').trim();
  const rowState = (name) => page.locator('.upload-list li', { has: page.locator('.name', { hasText: name }) }).locator('.state');
  const settled = (n) => page.waitForFunction((n) => document.querySelectorAll('.upload-list .state.ok, .upload-list .state.failed').length >= n, n, { timeout: 30000 });
  const pick = async (slot, file) => {
    await page.locator('select[name="slot"]').selectOption({ label: slot });
    await page.locator('#file-input').setInputFiles({ name: file.name, mimeType: file.mimeType, buffer: file.buffer });
    await page.getByLabel(`Title of ${file.name}`).waitFor();
  };
  const send = page.locator('.send-staged').getByRole('button', { name: 'Send' });

  await J.step('the sender opens the link: the brief, both slots at "0 of N delivered"', async () => {
    await open(page, linkPath);
    expect((await textOf(page, 'h1')) === LINK_TITLE, `the upload page is titled "${await textOf(page, 'h1')}"`);
    const heroLine = await slotLine(SLOTS.hero);
    expect(heroLine.includes('0 of 2 delivered') && heroLine.includes('at least 1200 px wide'), `the hero slot reads "${heroLine}"`);
    expect((await slotLine(SLOTS.logo)).includes('0 of 1 delivered'), `the logo slot reads "${await slotLine(SLOTS.logo)}"`);
    expect(await page.locator('h2', { hasText: 'You delivered' }).count() === 0, 'a new sender is shown deliveries');
    await J.checkPage(page, '04-sender-open', { keyboard: { target: '#file-input', what: 'the "Choose files" button' } });
  }, page);

  await J.step('a file too small for its slot and one of the wrong type are refused with the reason', async () => {
    await page.getByLabel('Your name').fill(SENDER.name);
    await page.getByLabel('Your email').fill(SENDER.email);
    await pick(SLOTS.hero, small);
    await pick(SLOTS.logo, wrongType);
    expect(await page.getByLabel(`Title of ${small.name}`).evaluate((i) => i.required), 'the hero slot\'s file has no required title field');
    expect(!(await page.getByLabel(`Title of ${wrongType.name}`).evaluate((i) => i.required)), 'the logo slot\'s file has a required title field');
    await J.checkPage(page, '05-staged');
    // The hero slot wants a title for each file: "Send" without one sends nothing.
    await send.click();
    await sleep(300);
    expect(await page.getByLabel(`Title of ${small.name}`).evaluate((i) => i.validity.valueMissing), 'the missing title is not flagged');
    expect(await page.locator('.upload-list .state.ok, .upload-list .state.failed').count() === 0, '"Send" sent files although a required title is missing');
    await page.getByLabel(`Title of ${small.name}`).fill('Draft hero');
    await send.click();
    await settled(2);
    const smallWhy = (await rowState(small.name).innerText()).trim();
    expect(smallWhy.includes('800×600') && smallWhy.includes('at least 1200 px wide'), `the small hero's row says "${smallWhy}", expected the pixel size and the slot's rule`);
    const typeWhy = (await rowState(wrongType.name).innerText()).trim();
    expect(typeWhy.includes('image/jpeg') && typeWhy.includes(SLOTS.logo), `the wrong type's row says "${typeWhy}", expected the type and the slot`);
    expect(refused.length === 2, `expected two refusals (422), saw ${refused.length}`);
    expect(!(await page.locator('.upload-done').isVisible()), 'the page says everything arrived although every file was refused');
    await J.checkPage(page, '06-refused');
    await page.setViewportSize(PHONE);
    await J.checkPage(page, '06-refused');
    await page.setViewportSize(DESKTOP);
  }, page);

  await J.step('the right files, each with its own title, arrive (the big one through tus)', async () => {
    await pick(SLOTS.hero, hero);
    await pick(SLOTS.logo, logo);
    for (const f of [hero, logo]) await page.getByLabel(`Title of ${f.name}`).fill(titles[f.name]);
    await send.click();
    await settled(4);
    for (const f of [hero, logo]) {
      const st = (await rowState(f.name).innerText()).trim();
      expect(st === 'done', `${f.name}: "${st}", expected done`);
    }
    expect(tus.includes('POST') && tus.includes('PATCH'), `the ${(hero.buffer.length / 1e6).toFixed(1)} MB hero did not go through tus (requests: ${tus.join(', ') || 'none'})`);
    const heroLine = await slotLine(SLOTS.hero);
    expect(heroLine.includes('1 of 2 delivered'), `after the upload the hero slot reads "${heroLine}"`);
    expect((await slotLine(SLOTS.logo)).includes('1 of 1 delivered'), `after the upload the logo slot reads "${await slotLine(SLOTS.logo)}"`);
    await J.checkPage(page, '07-delivered');
    J.log(`     ${hero.name}: ${hero.buffer.length} bytes via tus (${tus.join(' ')})`);
  }, page);

  await J.step('after a reload (on a phone) the page lists what this sender delivered', async () => {
    await page.setViewportSize(PHONE);
    await page.reload({ waitUntil: 'load' });
    const heroLine = await slotLine(SLOTS.hero);
    expect(heroLine.includes('1 of 2 delivered'), `after a reload the hero slot reads "${heroLine}"`);
    expect((await slotLine(SLOTS.logo)).includes('1 of 1 delivered'), `after a reload the logo slot reads "${await slotLine(SLOTS.logo)}"`);
    const mine = (await page.locator('ul.delivered li').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
    expect(mine.length === 2, `"You delivered" lists ${mine.length} files: ${mine.join(' | ')}`);
    for (const f of [hero, logo]) {
      expect(mine.some((t) => t.includes(f.name) && t.includes(titles[f.name])), `"You delivered" does not list ${f.name} with its title (${mine.join(' | ')})`);
    }
    // "1 of 2 delivered" beside a long rule on a phone: whole words, on at most two lines.
    const squeezed = await page.locator('ul.slots > li > :last-child').evaluateAll((els) => els
      .filter((el) => el.getBoundingClientRect().height > 2.5 * parseFloat(getComputedStyle(el).lineHeight))
      .map((el) => `"${el.textContent.trim()}" (${Math.round(el.getBoundingClientRect().width)} px wide)`));
    expect(squeezed.length === 0, `a slot's count is squeezed onto more than two lines: ${squeezed.join('; ')}`);
    const options = await page.locator('select[name="slot"]').locator('option').allTextContents();
    expect(JSON.stringify(options) === JSON.stringify([SLOTS.hero]), `the slot list offers [${options.join(', ')}]; the full logo slot should be gone`);
    await J.checkPage(page, '08-reloaded', { keyboard: { target: '#file-input', what: 'the "Choose files" button' } });
    await page.setViewportSize(DESKTOP);
    await J.checkPage(page, '08-reloaded');
  }, page);

  await J.step('the admin\'s API shows the two files, in review, with their titles and bytes', async () => {
    await open(apage, '/account');
    const tokenForm = apage.locator('form[action="/account/tokens"]');
    await tokenForm.getByLabel('Name of a new token').fill('sender journey check');
    await clickAndLoad(apage, tokenForm.getByRole('button'));
    const token = (await textOf(apage, 'code.token'));
    expect(token, 'the account page shows no new API token');
    const api = async (p) => {
      const r = await admin.request.get(`${BASE}/api/v1${p}`, { headers: { Authorization: `Bearer ${token}` } });
      expect(r.status() === 200, `GET /api/v1${p} answered ${r.status()}`);
      return r.json();
    };
    const links = (await api('/upload-links')).items.filter((l) => l.title === LINK_TITLE);
    expect(links.length === 1, `the API lists ${links.length} upload links titled "${LINK_TITLE}"`);
    const link = await api(`/upload-links/${links[0].id}`);
    const counts = link.slots.map((s) => `${s.name}: ${s.delivered}${s.filled ? ' filled' : ''}`);
    expect(JSON.stringify(counts) === JSON.stringify([`${SLOTS.hero}: 1 filled`, `${SLOTS.logo}: 1 filled`]), `the link's slots read [${counts.join('; ')}]`);
    const arrived = (await api('/review')).items.filter((a) => a.upload_link_id === link.id);
    const names = arrived.map((a) => a.filename).sort();
    expect(JSON.stringify(names) === JSON.stringify([hero.name, logo.name].sort()), `the review queue holds [${names.join(', ')}] from the link; the refused files must not be stored`);
    for (const f of [hero, logo]) {
      const a = arrived.find((x) => x.filename === f.name);
      expect(a.title === titles[f.name], `${f.name} arrived titled "${a.title}", expected "${titles[f.name]}"`);
      expect(a.uploader_name === SENDER.name && a.uploader_email === SENDER.email, `${f.name} arrived from ${a.uploader_name} <${a.uploader_email}>`);
      expect(a.status === 'in_review', `${f.name} is "${a.status}", expected in_review`);
      const sha = crypto.createHash('sha256').update(f.buffer).digest('hex');
      expect(a.sha256 === sha && a.size === f.buffer.length, `${f.name} arrived with ${a.size} bytes and another checksum than the file sent`);
    }
  }, apage);

  await sender.close();
  await admin.close();
  return J;
}

// =============================================================================================
// =============================================================================================
// Single sign-on (issue 20): the admin registers the provider through the page; a partner of
// the provider's domain signs in with its button on a phone (the account is made at the first
// sign-in) and signs out of the portal and of the provider.
async function ssoJourney() {
  const J = new Journey('sso', { shotsDir: SHOTS, base: BASE });
  running = J;
  journeys.push(J);
  const ISSUER = env('OIDC_ISSUER', '');
  if (!ISSUER) {
    J.log('skipped: no OIDC_ISSUER (tests/e2e.rs starts the provider from tests/oidc)');
    return J;
  }
  const admin = await newContext(DESKTOP);
  const page = await admin.newPage();
  J.watch(page);
  await signIn(J, page, ADMIN, 'sso-01-sign-in');
  await J.step('add the provider on /admin/sso', async () => {
    await open(page, '/admin/sso');
    await J.checkPage(page, '02-sso-empty');
    const add = page.locator('form[action="/admin/sso/providers"]');
    if (!(await add.isVisible())) await page.getByText('Add a provider').click();
    await add.getByLabel(/^Id/).fill('partner');
    await add.getByLabel(/^Button name/).fill('Partner ID');
    await add.getByLabel('Issuer URL').fill(ISSUER);
    await add.getByLabel('Client id').fill('assetport');
    await add.getByLabel('Client secret').fill('assetport-test-secret');
    await add.getByLabel('Scopes').fill('openid email profile groups');
    await add.getByLabel(/^Allowed domains/).fill('partner.e2e.example');
    await clickAndLoad(page, add.getByRole('button', { name: 'Add provider' }));
    const flash = await textOf(page, '[role=status], .flash');
    expect(/Saved the provider Partner ID/.test(flash), `after saving the page says "${flash}"`);
    expect((await page.content()).includes(`${BASE}/sso/partner/callback`), 'the redirect address to register is not shown');
    await J.checkPage(page, '03-sso-provider');
  }, page);
  await admin.close();

  const phone = await newContext(PHONE);
  const p = await phone.newPage();
  J.watch(p);
  await J.step('a partner signs in with the provider', async () => {
    await open(p, '/login');
    const button = p.getByRole('link', { name: 'Sign in with Partner ID' });
    expect(await button.count() === 1, 'no "Sign in with Partner ID" on the sign-in page');
    await J.checkPage(p, '04-login-with-sso');
    await clickAndLoad(p, button);
    expect(p.url().startsWith(ISSUER), `the button led to ${p.url()}, not the provider`);
    await p.locator('input[name=login]').fill('sso-partner');
    await p.locator('input[name=password]').fill('any password');
    await clickAndLoad(p, p.locator('button[type=submit]').first());
    // The provider's consent, then back to the portal.
    const nav = p.waitForURL((u) => u.toString().startsWith(BASE), { timeout: 15000 });
    await p.locator('button[type=submit]').first().click();
    await nav;
    await p.waitForLoadState('load');
    await noErrorBox(p);
    expect(new URL(p.url()).pathname === '/', `after the provider the partner is at ${rel(p.url(), BASE)}`);
    expect(await p.getByRole('button', { name: 'Sign out' }).count() === 1, 'not signed in after the provider');
    await J.checkPage(p, '05-signed-in');
  }, p);
  await J.step('signing out ends the provider\'s session too', async () => {
    // The portal's answer is a page that goes on to the provider by itself (a redirect after
    // the form would be blocked by the CSP's form-action 'self').
    const away = p.waitForURL((u) => u.toString().startsWith(ISSUER), { timeout: 15000 });
    away.catch(() => {});
    await p.getByRole('button', { name: 'Sign out' }).click();
    await away.catch(() => { throw new Error(`sign-out stopped at ${rel(p.url(), BASE)}, not the provider's logout`); });
    await p.waitForLoadState('load');
    const nav = p.waitForURL((u) => u.toString().startsWith(BASE), { timeout: 15000 });
    await p.getByRole('button', { name: /Yes, sign me out/ }).click();
    await nav;
    await p.waitForLoadState('load');
    expect(new URL(p.url()).pathname === '/login', `after the provider's logout the browser is at ${rel(p.url(), BASE)}`);
    await J.checkPage(p, '06-signed-out');
  }, p);
  await J.step('an unknown provider is a page in plain words', async () => {
    await open(p, '/sso/nobody/start', 404);
    const h1 = await textOf(p, 'h1');
    expect(h1 === 'Sign-in did not complete', `h1 "${h1}"`);
    expect(await p.getByRole('link', { name: /Back to sign-in/ }).count() === 1, 'no way back to sign-in');
    await J.checkPage(p, '07-unknown-provider');
  }, p);
  await phone.close();
  return J;
}

async function main() {
  console.log(`assetport browser journeys against ${BASE}; screenshots in ${SHOTS}`);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  console.log(`chromium ${browser.version()} (${CHROMIUM})`);
  // The sender's journey builds its own folder and link, so it runs whatever the others did.
  const order = [['admin', adminJourney], ['partner', partnerJourney], ['agency', agencyJourney], ['visitor', visitorJourney],
    ['sender', senderJourney, { independent: true }], ['sso', ssoJourney, { independent: true }]];
  // JOURNEYS=sender (comma-separated names) runs only those; partner, agency and visitor need admin.
  const only = env('JOURNEYS', '').split(',').map((n) => n.trim()).filter(Boolean);
  const unknown = only.filter((n) => !order.some(([name]) => name === n));
  if (unknown.length) {
    console.error(`journeys.mjs: unknown journey(s) in JOURNEYS: ${unknown.join(', ')} (known: ${order.map(([n]) => n).join(', ')})`);
    process.exit(2);
  }
  let stoppedBy = null;
  for (const [name, run, { independent = false } = {}] of order) {
    if (only.length && !only.includes(name)) continue;
    if (stoppedBy && !independent) {
      console.log(`[${name}] skipped: it needs what "${stoppedBy}" did not finish`);
      journeys.push({ name, skipped: true, failures: [] });
      continue;
    }
    const t0 = Date.now();
    try {
      await run();
    } catch (e) {
      if (!(e instanceof StepFailed)) {
        console.log(`[${name}] FAIL: ${e && e.stack ? e.stack : e}`);
      }
      const j = journeys.find((x) => x.name === name);
      if (j) j.broken = e.message;
      else journeys.push({ name, broken: e.message, failures: [] });
      if (!independent) stoppedBy = name;
    }
    console.log(`[${name}] finished in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  await browser.close();

  // The report: everything that failed, journey by journey.
  console.log('\n==== summary ====');
  let passed = 0;
  let failed = 0;
  for (const j of journeys) {
    if (j.skipped) { failed += 1; console.log(`${j.name}: SKIPPED`); continue; }
    if (!j.broken && j.failures.length === 0) { passed += 1; console.log(`${j.name}: passed (${j.steps} steps)`); continue; }
    failed += 1;
    console.log(`${j.name}: FAILED`);
    if (j.broken) console.log(`  - ${j.broken}`);
    for (const f of j.failures) console.log(`  - step "${f.step}", ${f.where}: ${f.what}`);
  }
  console.log(`journeys took ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${SHOTS}`);
  console.log(`journeys: ${passed} passed, ${failed} failed`);
  fs.rmSync(WORK, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}

main().catch(async (e) => {
  console.error(`FAIL: ${e && e.stack ? e.stack : e}`);
  if (browser) await browser.close().catch(() => {});
  process.exit(1);
});
