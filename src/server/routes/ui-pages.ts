/** Small server-rendered pages: sign-in, "UI not built". No script, inline style only. */

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;color:#1d2a1d;background:#f7f9f4}
h1{font-size:1.4rem}code{background:#e8eee2;padding:.1rem .3rem;border-radius:3px}
input{width:100%;padding:.5rem;font:inherit;box-sizing:border-box}button{margin-top:.6rem;padding:.45rem 1rem;font:inherit}
.err{color:#a12}
</style></head><body>${body}</body></html>`;
}

export function signInPage(message: string | null = null): string {
  return page(
    'Orchard — sign in',
    `<h1>Orchard</h1>
<p>Open the sign-in link that <code>orchard serve</code> printed, or paste the API key
(<code>orchard key</code> prints it).</p>
${message ? `<p class="err">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/auth">
<label for="key">API key</label>
<input id="key" name="key" type="password" autocomplete="off" required>
<button type="submit">Sign in</button>
</form>`,
  );
}

export function notBuiltPage(): string {
  return page(
    'Orchard',
    `<h1>Orchard is running</h1>
<p>The web UI is not built. Run <code>npm run build</code> in the Orchard folder, then reload.</p>
<p>The OpenAI-compatible API is at <code>/v1</code>.</p>`,
  );
}
