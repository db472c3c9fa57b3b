// The session's terminal: xterm.js over the runtime's WebSocket (binary frames carry the PTY's
// bytes both ways; text frames carry `{"type":"resize"}`), fitted to the window as it resizes.
// The socket authenticates with a short-lived runtime token, since browsers cannot set headers.
import { html } from "lit-html";
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { api, path } from "../api.js";

export function terminalPage(app, id) {
  let status = "Connecting…";
  let term = null;
  let socket = null;
  let observer = null;
  const fit = new FitAddon();
  const setStatus = (s) => {
    status = s;
    app.update();
  };
  const sendSize = () => {
    if (socket?.readyState === WebSocket.OPEN && term) {
      socket.send(JSON.stringify({ type: "resize", cols: term.cols, rows: term.rows }));
    }
  };
  const onResize = () => {
    try {
      fit.fit();
    } catch {
      // Not laid out yet.
    }
  };
  async function connect(host) {
    term = new Terminal({ cursorBlink: true, convertEol: false, fontSize: 14, scrollback: 5000 });
    term.loadAddon(fit);
    term.open(host);
    onResize();
    term.focus();
    const { token } = await api("POST", path("/api/sessions/{id}/runtime-token", id));
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url = `${scheme}//${location.host}${path("/runtime/sessions/{id}/terminal", id)}?token=${encodeURIComponent(token)}`;
    socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    const encoder = new TextEncoder();
    socket.addEventListener("open", () => {
      setStatus("Connected");
      sendSize();
    });
    socket.addEventListener("message", (e) => {
      term.write(typeof e.data === "string" ? e.data : new Uint8Array(e.data));
    });
    socket.addEventListener("close", () => setStatus("Disconnected"));
    socket.addEventListener("error", () => setStatus("Could not connect (is the session running?)"));
    term.onData((data) => socket.readyState === WebSocket.OPEN && socket.send(encoder.encode(data)));
    term.onResize(sendSize);
    observer = new ResizeObserver(onResize);
    observer.observe(host);
    window.addEventListener("resize", onResize);
  }
  let started = false;
  const mount = (host) => {
    if (started || !host) return;
    started = true;
    connect(host).catch((error) => setStatus(error.message));
  };
  return {
    title: "Terminal",
    dispose: () => {
      window.removeEventListener("resize", onResize);
      observer?.disconnect();
      socket?.close();
      term?.dispose();
    },
    view: () => {
      queueMicrotask(() => mount(document.getElementById("terminal")));
      return html`<div class="terminal-head">
          <h1 tabindex="-1">Terminal</h1>
          <a href=${`/sessions/${encodeURIComponent(id)}`}>Back to the session</a>
          <span role="status" id="terminal-status">${status}</span>
        </div>
        <div id="terminal" class="terminal" aria-label="Terminal"></div>`;
    },
  };
}
