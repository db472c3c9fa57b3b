//! `GET /ssh`: a WebSocket carrying a raw SSH byte stream, handed as a [`WsStream`] to the SSH
//! handler the agent was started with.

use super::http::Body;
use super::websocket::{accept, not_a_websocket, open as open_socket};
use super::Agent;
use crate::ws_stream::WsStream;
use http::{Request, Response};
use hyper::body::Incoming;
use std::sync::Arc;

pub(crate) fn open(agent: Arc<Agent>, mut req: Request<Incoming>) -> Response<Body> {
    let Some((response, upgrade)) = accept(&mut req) else {
        return not_a_websocket();
    };
    let (handler, activity, stop) = (agent.ssh_handler.clone(), agent.activity.clone(), agent.stop.clone());
    agent.tasks.spawn(async move {
        let socket = match open_socket(upgrade).await {
            Ok(socket) => socket,
            Err(e) => return tracing::debug!(error = %e, "ssh upgrade failed"),
        };
        tokio::select! {
            result = handler(WsStream::new(socket, activity)) => {
                if let Err(e) = result {
                    tracing::info!(error = %e, "ssh connection ended with an error");
                }
            }
            _ = stop.cancelled() => {}
        }
    });
    response
}
