// A QR drawn as SVG from the `qrcode` package's module matrix: one path of dark squares, no
// innerHTML, no data: URL, so it renders under a strict content security policy.

import { useMemo } from 'preact/hooks';
import QRCode from 'qrcode';

/** The light border around the code, in modules: scanners want four. */
const QUIET_ZONE = 4;

export function qrPath(text: string): { size: number; path: string } {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const parts: string[] = [];
  for (let row = 0; row < modules.size; row++) {
    for (let column = 0; column < modules.size; column++) {
      if (modules.get(row, column)) parts.push(`M${column + QUIET_ZONE} ${row + QUIET_ZONE}h1v1h-1z`);
    }
  }
  return { size: modules.size, path: parts.join('') };
}

export function QrCode({ text, label }: { text: string; label: string }) {
  const { size, path } = useMemo(() => qrPath(text), [text]);
  const extent = size + QUIET_ZONE * 2;
  return (
    <svg
      class="qr"
      role="img"
      aria-label={label}
      viewBox={`0 0 ${extent} ${extent}`}
      shape-rendering="crispEdges"
      data-modules={size}
      data-quiet-zone={QUIET_ZONE}
    >
      <rect width={extent} height={extent} fill="#ffffff" />
      <path d={path} fill="#000000" />
    </svg>
  );
}
