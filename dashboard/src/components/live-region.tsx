// One polite live region for the whole app: status changes seen by polling (a channel opening, a
// message read) are announced to screen readers without moving focus.
import { useEffect, useState } from 'preact/hooks';

let post: ((text: string) => void) | null = null;
/** Said before the region was there (a page's first effects run before the shell's): said once it is. */
let pending: string | null = null;

export function announce(text: string): void {
  if (post) post(text);
  else pending = text;
}

export function LiveRegion() {
  const [text, setText] = useState('');
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    post = (next) => {
      // Emptied first, so the same words said twice are announced twice.
      setText('');
      clearTimeout(timer);
      timer = setTimeout(() => setText(next), 50);
    };
    if (pending !== null) post(pending);
    pending = null;
    return () => {
      post = null;
      clearTimeout(timer);
    };
  }, []);
  return (
    <div class="visually-hidden" role="status" aria-live="polite" data-testid="announcer">
      {text}
    </div>
  );
}
