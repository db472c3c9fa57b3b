//! The session side of BurstFlare: the container image and the session agent that runs inside it
//! (HTTP preview, PTY terminal over WebSocket, SSH reachable only through the edge's tunnel,
//! snapshot save and restore of persisted paths). Sessions are not part of this release; the
//! control plane reports `runtime.available: false` in `GET /api/health` until they are.
