import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The dashboard's colour pairs hold WCAG's 4.5:1 for text: read from its stylesheet, so changing a
// colour there is checked here.
const css = readFileSync(new URL('../../../dashboard/src/styles.css', import.meta.url), 'utf8');
const variables = new Map(
  [...css.matchAll(/--([\w-]+):\s*(#[0-9a-f]{6})/gi)].map((match) => [match[1], match[2]?.toLowerCase()]),
);

function colour(name: string): string {
  if (name.startsWith('#')) return name;
  const value = variables.get(name);
  if (!value) throw new Error(`no --${name} in styles.css`);
  return value;
}

function luminance(hex: string): number {
  const channels = [1, 3, 5].map((start) => Number.parseInt(hex.slice(start, start + 2), 16) / 255);
  const [r, g, b] = channels.map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)) as [
    number,
    number,
    number,
  ];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(foreground: string, background: string): number {
  const [light, dark] = [luminance(colour(foreground)), luminance(colour(background))].sort(
    (a, b) => b - a,
  ) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

/** Text colour on background, as the stylesheet pairs them. */
const PAIRS: readonly [string, string][] = [
  ['text', 'background'],
  ['text', 'surface'],
  ['muted', 'surface'],
  ['muted', 'background'],
  ['muted', 'outbound'],
  ['primary', 'surface'],
  ['primary', 'ok-bg'],
  ['#ffffff', 'primary'],
  ['#ffffff', 'primary-hover'],
  ['danger', 'surface'],
  ['danger', 'bad-bg'],
  ['ok-text', 'ok-bg'],
  ['wait-text', 'wait-bg'],
  ['off-text', 'off-bg'],
  ['bad-text', 'bad-bg'],
  ['bad-text', 'outbound'],
  ['read', 'outbound'],
  ['text', 'outbound'],
  ['focus', 'surface'],
];

describe("the dashboard's colours", () => {
  it.each(PAIRS)('%s on %s reaches 4.5:1', (foreground, background) => {
    expect(contrast(foreground, background)).toBeGreaterThanOrEqual(4.5);
  });
});
