import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseHTML } from 'linkedom';
import { placeSvg, plotFigure, withCaption, wrapSvg, type Figure } from '../src/viz/figure';
import { encodePng, saveFigure, toBundle, toPNG, DEFAULT_PNG_SCALE } from '../src/viz/png';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { PNG } = require('pngjs') as {
  PNG: { sync: { read(b: Buffer): { width: number; height: number; data: Buffer } } };
};

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Parse an SVG string; returns the root element (linkedom's XML parser). */
function parseSvg(svg: string) {
  const { document } = parseHTML(`<!DOCTYPE html><html><body>${svg}</body></html>`);
  return document.body.firstElementChild!;
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

const small = (): Figure =>
  plotFigure(
    (Plot) => ({
      width: 200,
      height: 120,
      marks: [
        Plot.dot(
          [
            { a: 1, b: 2 },
            { a: 2, b: 3 },
          ],
          { x: 'a', y: 'b' },
        ),
      ],
    }),
    {
      title: 'A & B <test>',
      alt: 'two dots',
    },
  );

test('plotFigure: standalone SVG with namespace, white background, escaped title and the marks', () => {
  const fig = small();
  assert.match(fig.svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  const root = parseSvg(fig.svg);
  assert.equal(root.tagName.toLowerCase(), 'svg');
  assert.equal(root.getAttribute('width'), '200');
  assert.equal(Number(root.getAttribute('height')), fig.height);
  assert.ok(fig.height > 120, 'title band adds height');
  assert.equal(root.querySelectorAll('circle').length, 2);
  assert.ok(fig.svg.includes('A &amp; B &lt;test&gt;'));
  assert.equal(fig.title, 'A & B <test>');
  assert.equal(fig.alt, 'two dots');
  // No nested <svg>: resvg mis-clips inside them (see placeSvg).
  assert.equal(root.querySelectorAll('svg').length, 0);
});

test('plotFigure: Plot title option becomes the figure title, output stays SVG (not an HTML <figure>)', () => {
  const fig = plotFigure((Plot) => ({ title: 'from spec', width: 150, height: 100, marks: [Plot.ruleY([0])] }));
  assert.equal(fig.title, 'from spec');
  assert.ok(!fig.svg.includes('<figure'));
  assert.ok(!fig.svg.includes('<h2'));
});

test('toPNG: PNG signature, width = figure width x scale, and the same bytes twice', () => {
  const fig = small();
  const a = toPNG(fig);
  const b = toPNG(fig);
  assert.deepEqual(a.subarray(0, 8), PNG_SIGNATURE);
  assert.equal(pngSize(a).width, Math.round(200 * DEFAULT_PNG_SCALE));
  assert.equal(pngSize(a).height, Math.round(fig.height * DEFAULT_PNG_SCALE));
  assert.ok(a.equals(b), 'deterministic');
  assert.equal(pngSize(toPNG(fig, { scale: 1 })).width, 200);
  assert.throws(() => toPNG(fig, { scale: 0 }), RangeError);
});

test('toBundle: png (base64), svg and text keys; svg can be left out', () => {
  const fig = small();
  const b = toBundle(fig);
  assert.deepEqual(Object.keys(b).sort(), ['image/png', 'image/svg+xml', 'text/plain']);
  assert.deepEqual(Buffer.from(b['image/png']!, 'base64').subarray(0, 8), PNG_SIGNATURE);
  assert.equal(b['image/svg+xml'], fig.svg);
  assert.equal(b['text/plain'], 'two dots');
  assert.deepEqual(Object.keys(toBundle(fig, { svg: false })).sort(), ['image/png', 'text/plain']);
});

test('saveFigure: writes .svg and .png by extension, creates folders, rejects others', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nf-fig-'));
  try {
    const fig = small();
    const svgPath = saveFigure(fig, path.join(dir, 'a', 'b', 'fig.svg'));
    assert.equal(fs.readFileSync(svgPath, 'utf8'), fig.svg);
    const pngPath = saveFigure(fig, path.join(dir, 'fig.png'), { scale: 1 });
    assert.deepEqual(fs.readFileSync(pngPath).subarray(0, 8), PNG_SIGNATURE);
    assert.throws(() => saveFigure(fig, path.join(dir, 'fig.jpg')), RangeError);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('placeSvg: an <svg> becomes a translated <g> keeping inherited attributes; viewBox scaling kept', () => {
  const g = placeSvg(
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" viewBox="0 0 20 20" font-size="9"><rect width="20" height="20"/></svg>',
    5,
    7,
  );
  assert.equal(g, '<g transform="translate(5,7) scale(0.5,0.5)" font-size="9"><rect width="20" height="20"/></g>');
  assert.throws(() => placeSvg('<g/>', 0, 0));
});

test('wrapSvg / withCaption: caption adds a text line and height, keeps title and alt', () => {
  const fig = wrapSvg('<svg width="50" height="40" viewBox="0 0 50 40"><circle r="3"/></svg>', 50, 40, { title: 'T' });
  const c = withCaption(fig, 'step 10/100');
  assert.ok(c.height > fig.height);
  assert.equal(c.title, 'T');
  assert.ok(c.svg.includes('step 10/100'));
  assert.ok(c.alt.includes('step 10/100'));
  assert.deepEqual(toPNG(c).subarray(0, 8), PNG_SIGNATURE);
});

test('encodePng: RGB when opaque, RGBA otherwise, and the pixels decode back exactly', () => {
  const W = 7;
  const H = 5;
  const rgba = new Uint8Array(W * H * 4); // [H, W, 4]: a gradient, so every filter has work
  for (let i = 0; i < W * H; i++) rgba.set([(i * 37) & 255, (i * 11) & 255, 255 - i, 255], 4 * i);
  const png = encodePng(rgba, W, H);
  assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
  assert.equal(png[25], 2, 'IHDR colour type 2 = RGB');
  const back = PNG.sync.read(png);
  assert.deepEqual([back.width, back.height], [W, H]);
  assert.deepEqual(Array.from(back.data), Array.from(rgba));
  rgba[3] = 128; // one translucent pixel: keep the alpha channel
  const withAlpha = encodePng(rgba, W, H);
  assert.equal(withAlpha[25], 6, 'IHDR colour type 6 = RGBA');
  assert.deepEqual(Array.from(PNG.sync.read(withAlpha).data), Array.from(rgba));
  assert.throws(() => encodePng(rgba, W + 1, H), /rgba must hold width \* height \* 4 = 160 bytes, got 140/);
});

test('toPNG: a figure becomes an RGB PNG (no alpha channel: the background is white)', () => {
  const png = toPNG(small(), { scale: 1 });
  assert.equal(png[25], 2);
  const img = PNG.sync.read(png);
  assert.deepEqual(Array.from(img.data.subarray(0, 4)), [255, 255, 255, 255], 'top-left pixel is the white background');
  const fast = toPNG(small(), { scale: 1, compression: 'fast' });
  assert.ok(!fast.equals(png), 'a different deflate level');
  assert.deepEqual(Array.from(PNG.sync.read(fast).data), Array.from(img.data), 'the same pixels');
  assert.throws(() => encodePng(new Uint8Array(4), 1, 1, 10), /deflateLevel must be an integer in 0\.\.9, got 10/);
});
