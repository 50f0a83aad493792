// Helpers for the browser journeys: step logging, the checks run on every page (overflow,
// accessible names, keyboard focus, broken images, script errors), screenshots, and the file
// formats the journeys verify (ZIP archives, .eml mails, a JPEG's pixel size, PNG screenshots'
// pixels, QR codes). Besides Node: pngjs (PNG decoding) and jsqr (QR decoding), pinned in
// package.json.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';

export class StepFailed extends Error {}

/** Throws with `message` unless `condition` holds. */
export function expect(condition, message) {
  if (!condition) throw new Error(message);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value or `ms` pass; returns the value or null. */
export async function poll(fn, { ms = 20000, every = 250 } = {}) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) return null;
    await sleep(every);
  }
}

// ---------------------------------------------------------------------------------------------
// In-page helpers, installed into every page of every context before the page's own scripts.
// They only read the DOM (plus a focus-navigation starting point, see resetFocus).
export const IN_PAGE = `(() => {
  if (window.__e2e) return;
  const describe = (el) => {
    if (!el || el === document.body) return 'body';
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    const name = el.getAttribute('name');
    if (name) s += '[name=' + name + ']';
    if (el.type && el.tagName === 'INPUT') s += '[type=' + el.type + ']';
    const cls = (el.getAttribute('class') || '').trim();
    if (cls) s += '.' + cls.split(/\\s+/).join('.');
    const text = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().replace(/\\s+/g, ' ');
    if (text) s += ' "' + text.slice(0, 40) + '"';
    return s;
  };
  // The text of a label without the control it wraps (a select's options are not its name).
  const textWithout = (node, skip) => {
    let out = '';
    for (const c of node.childNodes) {
      if (c === skip) continue;
      if (c.nodeType === 3) out += c.textContent;
      else if (c.nodeType === 1) {
        if (c.getAttribute('aria-hidden') === 'true') continue;
        if (c.matches('input, select, textarea')) continue;
        out += ' ' + textWithout(c, skip) + ' ';
      }
    }
    return out.replace(/\\s+/g, ' ').trim();
  };
  const accessibleName = (el) => {
    const ids = (el.getAttribute('aria-labelledby') || '').trim();
    if (ids) {
      const t = ids.split(/\\s+/).map((id) => document.getElementById(id)).filter(Boolean)
        .map((n) => n.textContent).join(' ').trim();
      if (t) return t;
    }
    const aria = (el.getAttribute('aria-label') || '').trim();
    if (aria) return aria;
    if (el.labels) {
      const t = Array.from(el.labels).map((l) => textWithout(l, el)).join(' ').trim();
      if (t) return t;
    }
    if (el.tagName === 'INPUT' && ['submit', 'button', 'reset'].includes(el.type) && el.value.trim()) return el.value.trim();
    if (el.tagName === 'INPUT' && el.type === 'image' && (el.alt || '').trim()) return el.alt.trim();
    const title = (el.getAttribute('title') || '').trim();
    if (title) return title;
    return '';
  };
  // Controls a person can reach: rendered (visually hidden ones too: screen readers see them).
  const unnamedControls = () => {
    const out = [];
    for (const el of document.querySelectorAll('input, select, textarea')) {
      if (el.type === 'hidden') continue;
      if (!el.getClientRects().length) continue;
      if (getComputedStyle(el).visibility === 'hidden') continue;
      if (el.closest('[aria-hidden="true"], [inert]')) continue;
      if (!accessibleName(el)) out.push(describe(el));
    }
    return out;
  };
  const overflow = () => {
    const d = document.documentElement;
    const cw = d.clientWidth;
    const res = { scrollWidth: d.scrollWidth, clientWidth: cw, culprits: [] };
    if (d.scrollWidth > cw + 1) {
      const wide = [];
      for (const el of document.body.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.width && r.right > cw + 1) wide.push(el);
      }
      // The innermost offenders say most: skip elements that contain another offender.
      const inner = wide.filter((el) => !wide.some((o) => o !== el && el.contains(o)));
      res.culprits = inner.slice(0, 6).map((el) => describe(el) + ' (right edge ' + Math.round(el.getBoundingClientRect().right) + 'px)');
    }
    return res;
  };
  const brokenImages = () => Array.from(document.images)
    .filter((i) => i.complete && i.getClientRects().length && i.naturalWidth === 0 && i.getAttribute('src'))
    .map((i) => i.getAttribute('src'));
  const imagesSettled = () => Array.from(document.images).every((i) => {
    const r = i.getBoundingClientRect();
    if (!r.width || r.top > innerHeight * 1.5) return true;
    return i.complete;
  });
  // Focus styles: the element's own outline counts when the element is big enough to show it;
  // otherwise (visually hidden inputs, a checkbox styled through its label) a change of the
  // element's or its label/parent's ring, shadow, border or background between focused and not.
  const boxShows = (el) => {
    const r = el.getBoundingClientRect();
    const cs = getComputedStyle(el);
    const clipped = (cs.clip && cs.clip !== 'auto' && /rect\\(0(px)?,? 0(px)?,? 0(px)?,? 0(px)?\\)/.test(cs.clip)) || (cs.clipPath && cs.clipPath !== 'none');
    return r.width >= 4 && r.height >= 4 && !clipped && cs.visibility !== 'hidden' && Number(cs.opacity) > 0;
  };
  const look = (el) => {
    const cs = getComputedStyle(el);
    const parent = el.closest('label') || el.parentElement || el;
    const ps = getComputedStyle(parent);
    const ring = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0 && !/rgba\\(\\d+, \\d+, \\d+, 0\\)|transparent/.test(cs.outlineColor);
    return {
      ownRing: ring && boxShows(el),
      key: [cs.outlineStyle + ' ' + cs.outlineWidth + ' ' + cs.outlineColor, cs.boxShadow, cs.borderColor, cs.backgroundColor,
        ps.outlineStyle + ' ' + ps.outlineWidth + ' ' + ps.outlineColor, ps.boxShadow, ps.borderColor, ps.backgroundColor].join(' | '),
      ownKey: [cs.boxShadow, cs.borderColor, cs.backgroundColor].join(' | '),
      parentKey: [ps.outlineStyle + ' ' + ps.outlineWidth + ' ' + ps.outlineColor, ps.boxShadow, ps.borderColor, ps.backgroundColor].join(' | '),
      shows: boxShows(el),
    };
  };
  const tab = { visited: [] };
  window.__e2e = {
    describe, accessibleName, unnamedControls, overflow, brokenImages, imagesSettled,
    // Puts the sequential focus navigation starting point at the top of the document.
    resetFocus() {
      window.scrollTo(0, 0);
      if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
      const b = document.body;
      const had = b.getAttribute('tabindex');
      b.setAttribute('tabindex', '-1');
      b.focus({ preventScroll: true });
      if (had === null) b.removeAttribute('tabindex'); else b.setAttribute('tabindex', had);
      tab.visited = [];
    },
    // Called after each Tab press: records the newly focused element and how it looks.
    afterTab(selector) {
      const el = document.activeElement;
      const prev = tab.visited[tab.visited.length - 1];
      if (prev && prev.el !== el && !prev.after) prev.after = look(prev.el);
      if (el && el !== document.body && (!prev || prev.el !== el)) tab.visited.push({ el, desc: describe(el), before: look(el) });
      return { desc: describe(el), atTarget: !!(el && el.matches && el.matches(selector)), body: !el || el === document.body };
    },
    // Ends a Tab walk: which visited elements showed no visible focus indicator.
    finishTab() {
      const last = tab.visited[tab.visited.length - 1];
      if (last && !last.after) { last.el.blur(); last.after = look(last.el); }
      const invisible = [];
      for (const v of tab.visited) {
        const a = v.before, b = v.after || v.before;
        const ownChange = a.shows && a.ownKey !== b.ownKey;
        const parentChange = a.parentKey !== b.parentKey;
        if (!(a.ownRing || ownChange || parentChange)) invisible.push(v.desc);
      }
      const path = tab.visited.map((v) => v.desc);
      tab.visited = [];
      return { invisible, path };
    },
  };
})();`;

// ---------------------------------------------------------------------------------------------
// A journey: named steps printed as they run, check failures collected for one report.
export class Journey {
  constructor(name, { shotsDir, base }) {
    this.name = name;
    this.shotsDir = shotsDir;
    this.base = base;
    this.failures = [];
    this.steps = 0;
    this.current = '';
  }

  log(line) {
    console.log(`[${this.name}] ${line}`);
  }

  /** Runs one step; a thrown error stops the journey (and those that depend on it). */
  async step(title, fn, page) {
    this.steps += 1;
    this.current = title;
    const t0 = Date.now();
    try {
      const r = await fn();
      this.log(`ok   ${title} (${Date.now() - t0} ms)`);
      return r;
    } catch (e) {
      const url = page && !page.isClosed() ? page.url() : '';
      const msg = (e && e.message ? e.message : String(e)).split('\n').slice(0, 6).join('\n      ');
      this.log(`FAIL ${title}\n      ${msg}${url ? `\n      at ${url}` : ''}`);
      if (page && !page.isClosed()) {
        const file = path.join(this.shotsDir, `${this.name}-FAILED-${slug(title)}-${page.viewportSize().width}.png`);
        await page.screenshot({ path: file, fullPage: true }).catch(() => {});
        this.log(`     screenshot of the failure: ${file}`);
      }
      throw new StepFailed(`${this.name}: step "${title}" failed: ${msg}${url ? ` (at ${url})` : ''}`);
    }
  }

  fail(where, what) {
    this.failures.push({ step: this.current, where, what });
    this.log(`CHECK FAILED ${where}: ${what}`);
  }

  /**
   * Follows a page's script errors and failed subresources for the rest of the journey.
   * `expected(res)` names the answers of 400 and over the journey provokes on purpose (a refused
   * upload); they are not failures.
   */
  watch(page, { expected = () => false } = {}) {
    page.on('pageerror', (err) => this.fail(`${rel(page.url(), this.base)} @${width(page)}`, `script error: ${err.message}`));
    page.on('response', (res) => {
      const type = res.request().resourceType();
      if (res.status() >= 400 && type !== 'document' && !expected(res)) {
        this.fail(`${rel(page.url(), this.base)} @${width(page)}`, `${type} ${rel(res.url(), this.base)} answered ${res.status()}`);
      }
    });
  }

  /**
   * The checks of every visited page, then a full-page screenshot <journey>-<shot>-<width>.png.
   * keyboard: { target: CSS selector, what: words, max?: Tab presses } — Tab from the top of the
   * page must reach the target, and every element on the way must show where the focus is.
   */
  async checkPage(page, shot, { keyboard = null } = {}) {
    const w = width(page);
    const where = `${rel(page.url(), this.base)} @${w}px`;
    await page.waitForFunction(() => window.__e2e && window.__e2e.imagesSettled(), null, { timeout: 5000 }).catch(() => {});
    const ov = await page.evaluate(() => window.__e2e.overflow());
    if (ov.scrollWidth > ov.clientWidth + 1) {
      this.fail(where, `page scrolls sideways: scrollWidth ${ov.scrollWidth} > clientWidth ${ov.clientWidth}; widest: ${ov.culprits.join('; ')}`);
    }
    // From 961 px the top bar (brand, menu, search, account) is one row: an admin's entries that
    // do not fit fold into "More".
    if (w > 960) {
      const bar = await page.evaluate(() => { const t = document.querySelector('.topbar'); return t ? Math.round(t.getBoundingClientRect().height) : 0; });
      if (bar > 70) this.fail(where, `the top bar wraps onto a second row (${bar} px tall)`);
    }
    // Tables marked .cards turn into one card per row on phones: nothing may start off-screen.
    const scrolling = await page.evaluate(() => Array.from(document.querySelectorAll('table.cards'))
      .filter((t) => t.scrollWidth > t.clientWidth + 1)
      .map((t) => `${window.__e2e.describe(t).slice(0, 60)} (${t.scrollWidth} > ${t.clientWidth})`));
    for (const t of scrolling) this.fail(where, `table scrolls sideways: ${t}`);
    const unnamed = await page.evaluate(() => window.__e2e.unnamedControls());
    for (const u of unnamed) this.fail(where, `form control without an accessible name: ${u}`);
    const broken = await page.evaluate(() => window.__e2e.brokenImages());
    for (const b of broken) this.fail(where, `broken image ${b}`);
    if (keyboard) await this.checkKeyboard(page, where, keyboard);
    const file = path.join(this.shotsDir, `${this.name}-${shot}-${w}.png`);
    await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
  }

  async checkKeyboard(page, where, { target, what, max = 60 }) {
    await page.evaluate(() => window.__e2e.resetFocus());
    let reached = false;
    let last = '';
    for (let i = 0; i < max; i++) {
      await page.keyboard.press('Tab');
      const r = await page.evaluate((sel) => window.__e2e.afterTab(sel), target);
      last = r.desc;
      if (r.atTarget) { reached = true; break; }
    }
    const { invisible, path: walked } = await page.evaluate(() => window.__e2e.finishTab());
    if (process.env.E2E_DEBUG) this.log(`     Tab path on ${where}: ${walked.join(' → ')}`);
    if (!reached) {
      this.fail(where, `Tab from the top did not reach ${what} (${target}) in ${max} presses; last focused: ${last}; path: ${walked.join(' → ')}`);
    }
    for (const el of invisible) this.fail(where, `keyboard focus is not visible on ${el}`);
    await page.evaluate(() => window.scrollTo(0, 0));
  }
}

export function width(page) {
  return page.viewportSize() ? page.viewportSize().width : 0;
}

export function rel(url, base) {
  return url.startsWith(base) ? url.slice(base.length) || '/' : url;
}

export function slug(s) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 50);
}

// ---------------------------------------------------------------------------------------------
// ZIP: reads the central directory (ZIP64 too), then checks every entry's local header, inflates
// it and compares its CRC-32 and size, so a truncated or corrupt archive fails here.
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf) {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Returns [{ name, data }] of a valid ZIP archive; throws describing what is wrong. */
export function readZip(buf) {
  expect(buf.length >= 22, `not a ZIP: only ${buf.length} bytes`);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  expect(eocd >= 0, 'not a ZIP: no end-of-central-directory record');
  let count = buf.readUInt16LE(eocd + 10);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    expect(loc >= 0 && buf.readUInt32LE(loc) === 0x07064b50, 'ZIP64 archive without its locator');
    const z = Number(buf.readBigUInt64LE(loc + 8));
    expect(buf.readUInt32LE(z) === 0x06064b50, 'ZIP64 end record missing');
    count = Number(buf.readBigUInt64LE(z + 32));
    cdOffset = Number(buf.readBigUInt64LE(z + 48));
  }
  const entries = [];
  let p = cdOffset;
  for (let k = 0; k < count; k++) {
    expect(buf.readUInt32LE(p) === 0x02014b50, `ZIP central directory entry ${k} is damaged`);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    let csize = buf.readUInt32LE(p + 20);
    let usize = buf.readUInt32LE(p + 24);
    const nlen = buf.readUInt16LE(p + 28);
    const xlen = buf.readUInt16LE(p + 30);
    const clen = buf.readUInt16LE(p + 32);
    let local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nlen);
    // ZIP64 extra field: the 64-bit values, in this order, for those that are 0xffffffff.
    let x = p + 46 + nlen;
    const xend = x + xlen;
    while (x + 4 <= xend) {
      const id = buf.readUInt16LE(x);
      const size = buf.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        if (usize === 0xffffffff) { usize = Number(buf.readBigUInt64LE(q)); q += 8; }
        if (csize === 0xffffffff) { csize = Number(buf.readBigUInt64LE(q)); q += 8; }
        if (local === 0xffffffff) { local = Number(buf.readBigUInt64LE(q)); q += 8; }
      }
      x += 4 + size;
    }
    expect(buf.readUInt32LE(local) === 0x04034b50, `ZIP entry ${name}: local header missing`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(start, start + csize);
    let data;
    if (method === 0) data = raw;
    else if (method === 8) data = zlib.inflateRawSync(raw);
    else throw new Error(`ZIP entry ${name}: unknown compression method ${method}`);
    expect(data.length === usize, `ZIP entry ${name}: ${data.length} bytes, the directory says ${usize}`);
    expect(crc32(data) === crc, `ZIP entry ${name}: CRC-32 mismatch`);
    entries.push({ name, data });
    p += 46 + nlen + xlen + clen;
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------
// Mail: the outbox holds RFC 5322 messages; bodies may be 7bit, quoted-printable or base64.
export function readEml(text) {
  const split = text.search(/\r?\n\r?\n/);
  const head = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? '' : text.slice(split).replace(/^\r?\n\r?\n/, '');
  const headers = head.replace(/\r?\n[ \t]+/g, ' ');
  const cte = (/^content-transfer-encoding:\s*(\S+)/im.exec(headers) || [])[1] || '7bit';
  let decoded = body;
  if (/^base64$/i.test(cte)) decoded = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  else if (/^quoted-printable$/i.test(cte)) {
    const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)));
    decoded = Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return { headers, body: decoded };
}

export function listEml(dir) {
  try {
    return fs.readdirSync(dir).filter((f) => f.endsWith('.eml')).map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Images: real JPEG and PNG files drawn on a canvas in the browser (gradient, shapes, a label,
// optional noise so a file has some weight).
export async function makeImages(page, specs) {
  const encoded = await page.evaluate(async (specs) => {
    const out = [];
    for (const s of specs) {
      const c = document.createElement('canvas');
      c.width = s.w;
      c.height = s.h;
      const g = c.getContext('2d');
      const grad = g.createLinearGradient(0, 0, s.w, s.h);
      grad.addColorStop(0, `hsl(${s.hue}, 70%, 58%)`);
      grad.addColorStop(1, `hsl(${(s.hue + 70) % 360}, 65%, 32%)`);
      g.fillStyle = grad;
      g.fillRect(0, 0, s.w, s.h);
      g.fillStyle = 'rgba(255, 255, 255, .8)';
      g.beginPath();
      g.arc(s.w * 0.72, s.h * 0.38, Math.min(s.w, s.h) * 0.22, 0, Math.PI * 2);
      g.fill();
      g.fillStyle = 'rgba(0, 0, 0, .25)';
      g.fillRect(s.w * 0.08, s.h * 0.15, s.w * 0.3, s.h * 0.45);
      g.fillStyle = '#fff';
      g.font = `bold ${Math.round(s.h / 10)}px sans-serif`;
      g.fillText(s.label, s.w * 0.06, s.h * 0.86);
      if (s.noise) {
        const d = g.getImageData(0, 0, s.w, s.h);
        let seed = s.hue * 7919 + 1;
        for (let i = 0; i < d.data.length; i += 4) {
          seed = (seed * 1103515245 + 12345) & 0x7fffffff;
          const n = (seed >> 16) % 48 - 24;
          d.data[i] += n; d.data[i + 1] += n; d.data[i + 2] += n;
        }
        g.putImageData(d, 0, 0);
      }
      const blob = await new Promise((r) => c.toBlob(r, s.type, 0.9));
      const bytes = new Uint8Array(await blob.arrayBuffer());
      let bin = '';
      for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
      out.push(btoa(bin));
    }
    return out;
  }, specs);
  return specs.map((s, i) => {
    const buffer = Buffer.from(encoded[i], 'base64');
    const png = buffer.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const jpeg = buffer[0] === 0xff && buffer[1] === 0xd8 && buffer[2] === 0xff;
    expect(s.type === 'image/png' ? png : jpeg, `the canvas did not make a ${s.type} for ${s.name}`);
    return { name: s.name, mimeType: s.type, buffer };
  });
}

// ---------------------------------------------------------------------------------------------
// JPEG: the pixel size from the first start-of-frame marker (baseline SOF0, progressive SOF2 and
// the other SOFn), walking the marker segments from the start of the file.
export function jpegSize(buf) {
  expect(buf.length > 4 && buf[0] === 0xff && buf[1] === 0xd8, `not a JPEG: starts with ${buf.subarray(0, 4).toString('hex')}`);
  let p = 2;
  while (p + 4 <= buf.length) {
    expect(buf[p] === 0xff, `JPEG: no marker at byte ${p}`);
    while (buf[p] === 0xff && p < buf.length) p += 1; // fill bytes
    const marker = buf[p];
    p += 1;
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // no length
    expect(marker !== 0xd9 && marker !== 0xda, `JPEG: no start-of-frame before ${marker === 0xda ? 'the scan' : 'the end'}`);
    const len = buf.readUInt16BE(p);
    const sof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (sof) {
      return { height: buf.readUInt16BE(p + 3), width: buf.readUInt16BE(p + 5), progressive: marker === 0xc2, marker: `SOF${marker - 0xc0}` };
    }
    p += len;
  }
  throw new Error('JPEG: no start-of-frame marker');
}

// ---------------------------------------------------------------------------------------------
// Colours: WCAG relative luminance and contrast ratio, for pixels and CSS rgb()/rgba() values.
export function parseCssColour(s) {
  const m = /rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:[,\s/]+([\d.]+))?\s*\)/.exec(s || '');
  expect(m, `not an rgb() colour: "${s}"`);
  return { r: Number(m[1]), g: Number(m[2]), b: Number(m[3]), a: m[4] === undefined ? 1 : Number(m[4]) };
}

export function luminance(r, g, b) {
  const lin = (c) => { const v = c / 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

export function contrast(l1, l2) {
  const [hi, lo] = l1 > l2 ? [l1, l2] : [l2, l1];
  return (hi + 0.05) / (lo + 0.05);
}

/** A PNG (a screenshot) as { width, height, data: RGBA bytes }. */
export function readPng(buf) {
  const png = PNG.sync.read(buf);
  return { width: png.width, height: png.height, data: png.data };
}

/**
 * How many pixels of the RGBA image `img` inside `box` ({ x, y, width, height }, in its pixels)
 * contrast with `bg` ({ r, g, b }) at least `ratio`: { strong, total, best }.
 */
export function contrastingPixels(img, box, bg, ratio) {
  const lbg = luminance(bg.r, bg.g, bg.b);
  const x0 = Math.max(0, Math.floor(box.x));
  const y0 = Math.max(0, Math.floor(box.y));
  const x1 = Math.min(img.width, Math.ceil(box.x + box.width));
  const y1 = Math.min(img.height, Math.ceil(box.y + box.height));
  let strong = 0;
  let total = 0;
  let best = 1;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * img.width + x) * 4;
      const c = contrast(luminance(img.data[i], img.data[i + 1], img.data[i + 2]), lbg);
      total += 1;
      if (c >= ratio) strong += 1;
      if (c > best) best = c;
    }
  }
  return { strong, total, best };
}

/** The text of the QR code in an RGBA image (width × height), or null when none is found. */
export function decodeQr(rgba, width, height) {
  const data = rgba instanceof Uint8ClampedArray ? rgba : new Uint8ClampedArray(rgba.buffer, rgba.byteOffset, rgba.length);
  const code = jsQR(data, width, height, { inversionAttempts: 'dontInvert' });
  return code ? code.data : null;
}
