// A small history router: paths, not hashes, so the server's SPA fallback serves every page and
// links can be opened in a new tab. After an in-app navigation the new page's heading takes focus,
// so a screen reader announces where the user went.
import { useEffect, useRef, useState } from 'preact/hooks';

let movedByApp = false;

export function navigate(path: string, options: { replace?: boolean } = {}): void {
  if (path === location.pathname + location.search) return;
  movedByApp = true;
  if (options.replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    addEventListener('popstate', update);
    // A page's effects run before the shell's: one may have moved (a redirect) before this listened.
    update();
    return () => removeEventListener('popstate', update);
  }, []);
  return path;
}

/** `/channels/:channelId` against `/channels/chn_…` → `{ channelId: 'chn_…' }`, or null. */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const names: string[] = [];
  const source = pattern.replaceAll(/:(\w+)/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  const match = new RegExp(`^${source}/?$`).exec(path);
  if (!match) return null;
  return Object.fromEntries(names.map((name, index) => [name, decodeURIComponent(match[index + 1] ?? '')]));
}

/** A link that navigates in the app; modified clicks (new tab, new window) are the browser's. */
export function onLinkClick(event: MouseEvent): void {
  const anchor = event.currentTarget as HTMLAnchorElement;
  if (
    event.defaultPrevented ||
    event.button !== 0 ||
    event.metaKey ||
    event.ctrlKey ||
    event.shiftKey ||
    event.altKey
  )
    return;
  if (anchor.origin !== location.origin) return;
  event.preventDefault();
  navigate(anchor.pathname + anchor.search);
}

/** The page's heading: the document title follows it, and it takes focus after an in-app move. */
export function usePageHeading(title: string) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · clinic-wa`;
  }, [title]);
  useEffect(() => {
    if (movedByApp) {
      movedByApp = false;
      ref.current?.focus();
    }
  }, []);
  return ref;
}
