/** The server-rendered page: the credentials of this page view go in, and nowhere else. */
export function renderPage(options: { user: string; clientId: string; token: string }): string {
  // JSON of base64url strings and an escaped name: nothing here can close the <script> element
  const credentials = JSON.stringify({ clientId: options.clientId, token: options.token });
  const user = options.user.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Shop</title></head>
<body>
<h1>Hello ${user}</h1>
<p>Connection: <b id="state">connecting</b> <span id="detail"></span></p>
<p id="gone" hidden><span id="gone-message"></span> <button type="button" id="reload">Reload the page</button></p>
<p>Cart: <span id="cart">empty</span> <button type="button" id="add">add an item</button></p>
<script>window.__SUPERVISOR__ = ${credentials};</script>
<script type="module" src="/static/app.js"></script>
</body>
</html>`;
}
