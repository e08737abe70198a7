#!/usr/bin/env node
/**
 * Draws Orchard's app icon and tray images as PNG files (RGBA, antialiased shapes) with nothing
 * but zlib, so the icons are reproducible and need no design tool. The PNGs are committed; run
 * `node resources/icons/generate-icons.mjs` again only when the drawing changes.
 *
 * Outputs (next to this script):
 *   icon.png                 1024×1024 app icon (electron-builder derives .icns/.ico from it)
 *   linux/NxN.png            the Linux icon set
 *   tray/tray-{serving,stopped,error}.png and @2x  16×16 / 32×32 tray images
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

// --- PNG encoding -------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** rgba: Uint8ClampedArray of size*size*4, straight (not premultiplied) alpha. */
export function encodePng(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type RGBA
  // compression, filter, interlace = 0
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    Buffer.from(rgba.buffer, y * size * 4, size * 4).copy(raw, y * (size * 4 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// --- drawing: shapes as signed distance functions in a unit square (0..1) ----------------

const circle = (cx, cy, r) => (x, y) => Math.hypot(x - cx, y - cy) - r;
const ring = (cx, cy, r, w) => (x, y) => Math.abs(Math.hypot(x - cx, y - cy) - r) - w / 2;
const roundRect = (x0, y0, x1, y1, r) => (x, y) => {
  const dx = Math.max(x0 + r - x, 0, x - (x1 - r));
  const dy = Math.max(y0 + r - y, 0, y - (y1 - r));
  const inside = Math.min(Math.max(x0 + r - x, x - (x1 - r)), Math.max(y0 + r - y, y - (y1 - r)));
  return dx > 0 || dy > 0 ? Math.hypot(dx, dy) - r : Math.max(inside, -r) - r;
};
/** An ellipse rotated by `angle`, approximated well enough for a leaf. */
const ellipse = (cx, cy, rx, ry, angle) => (x, y) => {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const u = ((x - cx) * c + (y - cy) * s) / rx;
  const v = (-(x - cx) * s + (y - cy) * c) / ry;
  return (Math.hypot(u, v) - 1) * Math.min(rx, ry);
};

/** Paints layers back to front; each layer is [sdf, [r, g, b, a]]. 4×4 supersampling. */
function render(size, layers) {
  const out = new Uint8ClampedArray(size * size * 4);
  const ss = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const x = (px + (sx + 0.5) / ss) / size;
          const y = (py + (sy + 0.5) / ss) / size;
          // "over" compositing of the layers for this sample (premultiplied while mixing)
          let sr = 0;
          let sg = 0;
          let sb = 0;
          let sa = 0;
          for (const [sdf, [lr, lg, lb, la]] of layers) {
            if (sdf(x, y) > 0) continue;
            const al = la / 255;
            sr = lr * al + sr * (1 - al);
            sg = lg * al + sg * (1 - al);
            sb = lb * al + sb * (1 - al);
            sa = al + sa * (1 - al);
          }
          r += sr;
          g += sg;
          b += sb;
          a += sa;
        }
      }
      const n = ss * ss;
      const i = (py * size + px) * 4;
      const alpha = a / n;
      out[i] = alpha > 0 ? r / n / alpha : 0;
      out[i + 1] = alpha > 0 ? g / n / alpha : 0;
      out[i + 2] = alpha > 0 ? b / n / alpha : 0;
      out[i + 3] = Math.round(alpha * 255);
    }
  }
  return out;
}

const GREEN = [46, 125, 50, 255];
const LEAF = [102, 187, 106, 255];
const RED = [198, 40, 40, 255];
const FRUIT = [229, 57, 53, 255];
const STEM = [93, 64, 55, 255];
const GREY = [120, 120, 120, 255];
const WHITE = [255, 255, 255, 255];
const CREAM = [250, 246, 233, 255];

/** The app icon: a red fruit with a leaf on a rounded cream tile with a green border. */
function appIcon(size) {
  return render(size, [
    [roundRect(0.06, 0.06, 0.94, 0.94, 0.2), GREEN],
    [roundRect(0.1, 0.1, 0.9, 0.9, 0.17), CREAM],
    [circle(0.42, 0.58, 0.2), FRUIT],
    [circle(0.58, 0.58, 0.2), FRUIT],
    [roundRect(0.485, 0.26, 0.515, 0.42, 0.012), STEM],
    [ellipse(0.62, 0.3, 0.11, 0.05, -0.5), LEAF],
  ]);
}

/** Tray images: one glyph per service state, legible at 16 px. */
const TRAY = {
  serving: () => [
    [circle(0.5, 0.56, 0.38), GREEN],
    [ellipse(0.66, 0.2, 0.2, 0.09, -0.5), LEAF],
  ],
  stopped: () => [[ring(0.5, 0.56, 0.32, 0.14), GREY]],
  error: () => [
    [circle(0.5, 0.5, 0.46), RED],
    [roundRect(0.43, 0.2, 0.57, 0.6, 0.05), WHITE],
    [circle(0.5, 0.77, 0.08), WHITE],
  ],
};

function write(rel, size, rgba) {
  const file = path.join(here, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, encodePng(size, rgba));
  return file;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const written = [];
  written.push(write('icon.png', 1024, appIcon(1024)));
  for (const s of [16, 32, 48, 64, 128, 256, 512]) {
    written.push(write(path.join('linux', `${s}x${s}.png`), s, appIcon(s)));
  }
  for (const [kind, layers] of Object.entries(TRAY)) {
    written.push(write(path.join('tray', `tray-${kind}.png`), 16, render(16, layers())));
    written.push(write(path.join('tray', `tray-${kind}@2x.png`), 32, render(32, layers())));
  }
  for (const f of written) console.log(path.relative(process.cwd(), f));
}
